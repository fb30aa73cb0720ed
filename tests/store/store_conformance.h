// The fixture of the store conformance suite: one fresh store per test,
// for each backend in all_backends(). Test thread only; the test thread is
// also the loop thread (it drives the InProcessTransport).
#pragma once

#include <gtest/gtest.h>

#include "store_test_util.h"
#include "test_util.h"

namespace realtime::testing {

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ = GetParam().make(loop_, dir_.path());
    ASSERT_NE(store_, nullptr);
    sync_.emplace(loop_, *store_);
  }
  void TearDown() override {
    if (store_) store_->close();
    loop_.run_until_idle();
  }
  SyncStore& s() { return *sync_; }

  // Appends and expects success; the stored message.
  Message add(const std::string& room, const std::string& sender, const std::string& text,
              std::int64_t created = 0) {
    auto r = s().append(make_msg(room, sender, text, created));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->message : Message{};
  }

  TempDir dir_;
  InProcessTransport loop_;
  std::unique_ptr<Store> store_;
  std::optional<SyncStore> sync_;
};

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

}  // namespace realtime::testing
