// Shared test helpers: a recording Connection for layer tests that need no
// transport, and a way to wait on asynchronous completions.
#pragma once

#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/connection.h"

namespace realtime::testing {

// Records every frame sent to it; can be told to refuse sends or to
// report backpressure.
class RecordingConnection final : public Connection {
 public:
  explicit RecordingConnection(std::string id) : id_(std::move(id)) {}
  const std::string& id() const override { return id_; }
  SendStatus send(const Frame& frame) override {
    if (!open_) return SendStatus::dropped;
    frames.push_back(frame);
    return SendStatus::sent;
  }
  void close(CloseReason reason) override {
    open_ = false;
    closed_with = reason;
  }
  bool is_open() const override { return open_; }
  std::size_t queued_bytes() const override { return 0; }
  bool backpressured() const override { return busy; }

  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& f : frames) out.emplace_back(f.view());
    return out;
  }

  std::vector<Frame> frames;
  CloseReason closed_with = CloseReason::server_close;
  bool busy = false;  // what backpressured() answers

 private:
  std::string id_;
  bool open_ = true;
};

inline std::shared_ptr<RecordingConnection> recording(std::string id) {
  return std::make_shared<RecordingConnection>(std::move(id));
}

// Strings and integers joined: cat("m", 7) is "m7". Tests use it rather
// than `"m" + std::to_string(7)`, which GCC 12 at -O3 reports as a false
// -Wrestrict (the Release build treats warnings as errors).
inline void append_part(std::string& s, std::string_view part) { s.append(part); }
inline void append_part(std::string& s, std::integral auto part) { s.append(std::to_string(part)); }
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (append_part(s, parts), ...);
  return s;
}

}  // namespace realtime::testing
