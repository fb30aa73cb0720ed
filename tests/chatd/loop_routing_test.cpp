// pick_loop(): which of chatd's loops takes a connection, from the first
// line of its first request (loop_routing.h).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <atomic>
#include <set>

#include "loop_routing.h"

namespace chatd {
namespace {

sockaddr_storage v4(std::uint32_t host_order) {
  sockaddr_storage s{};
  auto* a = reinterpret_cast<sockaddr_in*>(&s);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(host_order);
  return s;
}

TEST(LoopRouting, ASidGoesToTheLoopThatMadeIt) {
  std::atomic<std::size_t> next{0};
  for (std::size_t loop = 0; loop < 4; ++loop) {
    std::string line = "GET /socket.io/?EIO=4&transport=polling&sid=";
    line += sid_prefix(loop);
    line += "rest-of-sid HTTP/1.1";
    for (int i = 0; i < 5; ++i) EXPECT_EQ(pick_loop(line, v4(1), 4, next), loop);
  }
}

TEST(LoopRouting, NewSessionsAndOtherRequestsTakeTurns) {
  std::atomic<std::size_t> next{0};
  std::set<std::size_t> seen;
  for (int i = 0; i < 6; ++i) seen.insert(pick_loop("GET /socket.io/?EIO=4&transport=polling HTTP/1.1", v4(1), 3, next));
  EXPECT_EQ(seen, (std::set<std::size_t>{0, 1, 2}));
  // A sid no loop made (too high a prefix) is answered by some loop as unknown.
  std::string line = "GET /socket.io/?sid=";
  line += sid_prefix(9);
  line += "x HTTP/1.1";
  EXPECT_LT(pick_loop(line, v4(1), 3, next), 3u);
}

TEST(LoopRouting, AttachmentsGoToLoopZero) {
  std::atomic<std::size_t> next{1};
  for (const char* line : {"POST /api/rooms/r1/attachments?name=a.txt HTTP/1.1",
                           "GET /api/attachments/AAAAAAAAAAAAAAAAAAAAAA HTTP/1.1",
                           "HEAD /api/attachments/x HTTP/1.1"})
    EXPECT_EQ(pick_loop(line, v4(1), 4, next), 0u) << line;
  // Not attachments: any loop.
  std::set<std::size_t> seen;
  for (int i = 0; i < 8; ++i) seen.insert(pick_loop("POST /api/rooms/r1/attachmentsX HTTP/1.1", v4(1), 4, next));
  EXPECT_GT(seen.size(), 1u);
}

TEST(LoopRouting, WithoutALineOnePeersConnectionsMeet) {
  std::atomic<std::size_t> next{0};
  const std::size_t first = pick_loop("", v4(0x7f000002), 4, next);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(pick_loop("", v4(0x7f000002), 4, next), first);
  std::set<std::size_t> seen;
  for (std::uint32_t a = 0; a < 64; ++a) seen.insert(pick_loop("", v4(0x0a000000 + a), 4, next));
  EXPECT_GT(seen.size(), 1u);
}

TEST(LoopRouting, ThreadsResolve) {
  EXPECT_EQ(resolve_threads(1), 1u);
  EXPECT_EQ(resolve_threads(3), 3u);
  EXPECT_GE(resolve_threads(0), 1u);
  EXPECT_EQ(resolve_threads(1000), kMaxLoops);
  std::set<std::string> prefixes;
  for (std::size_t i = 0; i < kMaxLoops; ++i) prefixes.insert(sid_prefix(i));
  EXPECT_EQ(prefixes.size(), kMaxLoops);
}

}  // namespace
}  // namespace chatd
