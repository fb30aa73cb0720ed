// Tests of chatd's checked file writes: a write that fails part way (here
// past RLIMIT_FSIZE, as a full disk would) reports the error, leaves the
// previous file as it was, and leaves no partial file behind.
#include "file_util.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

namespace chatd {
namespace {

namespace fs = std::filesystem;

class FileUtil : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chatd_file_util_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Runs f with files limited to `bytes` (writes past it fail with EFBIG).
  template <class F>
  void with_file_size_limit(rlim_t bytes, F f) {
    rlimit old{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the process is killed
    rlimit small = old;
    small.rlim_cur = bytes;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    f();
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }
  fs::path dir_;
};

TEST_F(FileUtil, ReplaceFileWritesAndReplacesWhole) {
  const fs::path p = dir_ / "meta.json";
  ASSERT_TRUE(replace_file(p, "first", true).ok());
  ASSERT_TRUE(replace_file(p, "second", false).ok());
  EXPECT_EQ(read_small_file(p, 100), "second");
  EXPECT_EQ(entries(), 1u);
  EXPECT_FALSE(read_small_file(p, 3)) << "longer than allowed";
}

TEST_F(FileUtil, AFailedWriteKeepsTheOldFileAndLeavesNoPartialOne) {
  const fs::path p = dir_ / "meta.json";
  ASSERT_TRUE(replace_file(p, "old", true).ok());
  realtime::Status s;
  with_file_size_limit(100, [&] { s = replace_file(p, std::string(1000, 'x'), true); });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(read_small_file(p, 100), "old");
  EXPECT_EQ(entries(), 1u) << "the temporary file is gone";
}

TEST_F(FileUtil, AFailedCopyLeavesNoPartialFile) {
  const fs::path from = dir_ / "body";
  ASSERT_TRUE(replace_file(from, std::string(5000, 'b'), false).ok());
  realtime::Status s;
  with_file_size_limit(1000, [&] { s = copy_range(from, 100, 4000, dir_ / "copy"); });
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(fs::exists(dir_ / "copy"));
  ASSERT_TRUE(copy_range(from, 100, 4000, dir_ / "copy").ok());
  EXPECT_EQ(read_small_file(dir_ / "copy", 10000), std::string(4000, 'b'));
  EXPECT_FALSE(copy_range(from, 4000, 2000, dir_ / "short").ok()) << "the source ends early";
  EXPECT_FALSE(fs::exists(dir_ / "short"));
}

}  // namespace
}  // namespace chatd
