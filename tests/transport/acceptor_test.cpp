// Tests of the Acceptor (realtime/acceptor.h) on loopback: the router gets
// each connection with its first request line still unread on the socket,
// an LwsTransport that adopts it answers the request, and the bounds hold:
// connections waiting for a line are capped (accepting pauses), a silent
// or half-sent line is closed at the timeout, an over-long line is routed
// with what came.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_test_client.h"
#include "lws_test_server.h"
#include "realtime/acceptor.h"

namespace realtime {
namespace {

using namespace std::chrono_literals;

// What the router saw, for the test thread to wait on.
struct Routed {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;

  Acceptor::Router router(bool close_fd = true) {
    return [this, close_fd](int fd, std::string_view line, const sockaddr_storage&) {
      if (close_fd) ::close(fd);
      std::lock_guard<std::mutex> lock(mu);
      lines.emplace_back(line);
      cv.notify_all();
    };
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds ms) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, ms, [&] { return lines.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return lines.size();
  }
};

TEST(RequestLine, SidAndPath) {
  EXPECT_EQ(request_line_sid("GET /socket.io/?EIO=4&transport=polling&sid=Babc HTTP/1.1"), "Babc");
  EXPECT_EQ(request_line_sid("POST /socket.io/?sid=X1&EIO=4 HTTP/1.1"), "X1");
  EXPECT_EQ(request_line_sid("GET /socket.io/?EIO=4&transport=polling HTTP/1.1"), "");
  EXPECT_EQ(request_line_sid("GET /socket.io/?xsid=1 HTTP/1.1"), "");
  EXPECT_EQ(request_line_sid("garbage"), "");
  EXPECT_EQ(request_line_path("GET /api/rooms/r1/attachments?name=a HTTP/1.1"), "/api/rooms/r1/attachments");
  EXPECT_EQ(request_line_path("GET /healthz HTTP/1.1"), "/healthz");
  EXPECT_EQ(request_line_path(""), "");
}

TEST(Acceptor, RoutesWithTheFirstLineAndTheLoopAnswersIt) {
  LwsOptions o;
  o.listen = false;
  o.close_after_response = true;
  testing::LwsTestServer s(o);
  ASSERT_TRUE(s.ok());
  s.start();
  Routed routed;
  auto a = Acceptor::create(AcceptorOptions{}, [&](int fd, std::string_view line, const sockaddr_storage&) {
    {
      // Recorded before the loop can answer: the reply below must find it.
      std::lock_guard<std::mutex> lock(routed.mu);
      routed.lines.emplace_back(line);
    }
    s.transport().adopt(fd);
  });
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto reply = testing::http_raw((*a)->port(), "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->headers["connection"], "close");
  ASSERT_EQ(routed.count(), 1u);
  EXPECT_EQ(routed.lines[0], "GET /socket.io/?EIO=4&transport=polling HTTP/1.1");
}

TEST(Acceptor, WithoutPeekRoutesAtOnce) {
  Routed routed;
  AcceptorOptions o;
  o.peek = false;
  auto a = Acceptor::create(o, routed.router());
  ASSERT_TRUE(a.ok());
  testing::RawConnection c((*a)->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(routed.wait_for(1, 3s));
  EXPECT_EQ(routed.lines[0], "");
}

TEST(Acceptor, SilentAndHalfLinesAreClosedAtTheTimeout) {
  Routed routed;
  AcceptorOptions o;
  o.first_line_timeout = 300ms;
  auto a = Acceptor::create(o, routed.router());
  ASSERT_TRUE(a.ok());
  testing::RawConnection silent((*a)->port());
  testing::RawConnection half((*a)->port());
  ASSERT_TRUE(half.send("GET /socket.io/?EIO=4"));
  EXPECT_TRUE(silent.closed_within(3000));
  EXPECT_TRUE(half.closed_within(3000));
  EXPECT_EQ(routed.count(), 0u);
  EXPECT_EQ((*a)->timed_out(), 2u);
  EXPECT_EQ((*a)->waiting(), 0u);
}

TEST(Acceptor, ALineInPiecesIsRoutedWhenWhole) {
  Routed routed;
  auto a = Acceptor::create(AcceptorOptions{}, routed.router());
  ASSERT_TRUE(a.ok());
  testing::RawConnection c((*a)->port());
  ASSERT_TRUE(c.send("GET /socket.io/?EIO=4&sid=Bx"));
  std::this_thread::sleep_for(50ms);  // a second segment, not a synchronisation
  EXPECT_EQ(routed.count(), 0u);
  ASSERT_TRUE(c.send("yz HTTP/1.1\r\n"));
  ASSERT_TRUE(routed.wait_for(1, 3s));
  EXPECT_EQ(routed.lines[0], "GET /socket.io/?EIO=4&sid=Bxyz HTTP/1.1");
}

TEST(Acceptor, AnOverlongLineIsRoutedWithWhatCame) {
  Routed routed;
  AcceptorOptions o;
  o.max_line_bytes = 64;
  auto a = Acceptor::create(o, routed.router());
  ASSERT_TRUE(a.ok());
  testing::RawConnection c((*a)->port());
  ASSERT_TRUE(c.send("GET /" + std::string(200, 'a')));
  ASSERT_TRUE(routed.wait_for(1, 3s));
  EXPECT_EQ(routed.lines[0].size(), 64u);
}

TEST(Acceptor, WaitingConnectionsAreCappedAndAcceptingResumes) {
  Routed routed;
  AcceptorOptions o;
  o.max_waiting = 2;
  o.first_line_timeout = 500ms;
  auto a = Acceptor::create(o, routed.router());
  ASSERT_TRUE(a.ok());
  // Two silent connections fill the table; a third waits in the backlog,
  // unread, although its line is complete.
  testing::RawConnection s1((*a)->port()), s2((*a)->port());
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while ((*a)->waiting() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  ASSERT_EQ((*a)->waiting(), 2u);
  testing::RawConnection third((*a)->port());
  ASSERT_TRUE(third.send("GET /third HTTP/1.1\r\n"));
  EXPECT_FALSE(routed.wait_for(1, 200ms));
  EXPECT_LE((*a)->waiting(), 2u);
  // The silent two time out; the third is taken and routed.
  ASSERT_TRUE(routed.wait_for(1, 3s));
  EXPECT_EQ(routed.lines[0], "GET /third HTTP/1.1");
  EXPECT_TRUE(s1.closed_within(3000));
  EXPECT_TRUE(s2.closed_within(3000));
}

// A loopback server that echoes each connection's bytes back until the
// client stops sending, then closes: the other node of a relay.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr_;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ++accepted;
        char buf[65536];
        for (;;) {
          ssize_t n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(c, buf + off, static_cast<std::size_t>(n - off));
            if (w <= 0) break;
            off += w;
          }
        }
        ::close(c);
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  const sockaddr_storage& addr() const { return addr_; }
  std::atomic<int> accepted{0};

 private:
  int fd_ = -1;
  sockaddr_storage addr_{};
  std::thread thread_;
};

// A blocking client socket to the acceptor.
int dial(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(AcceptorForward, RelaysBothWaysFromTheFirstByteUntilBothSidesClose) {
  EchoServer echo;
  Acceptor* self = nullptr;
  auto a = Acceptor::create(AcceptorOptions{}, [&](int fd, std::string_view, const sockaddr_storage&) {
    self->forward(fd, echo.addr());
  });
  ASSERT_TRUE(a.ok());
  self = a->get();
  int c = dial((*a)->port());
  ASSERT_GE(c, 0);
  // The request line the acceptor peeked at is relayed too, then 2 MiB more:
  // more than the relay buffers, so both directions must wait for readers.
  std::string sent = "GET /socket.io/?sid=Zremote HTTP/1.1\r\n";
  sent += std::string(2 << 20, 'x');
  std::thread writer([&] {
    for (std::size_t off = 0; off < sent.size();) {
      ssize_t w = ::write(c, sent.data() + off, sent.size() - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    ::shutdown(c, SHUT_WR);
  });
  std::string got;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(c, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  writer.join();
  ::close(c);
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while ((*a)->forwarding() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ((*a)->forwarding(), 0u);
}

TEST(AcceptorForward, ANodeThatRefusesClosesTheClient) {
  sockaddr_storage closed{};
  {
    EchoServer gone;  // its port, then no one listens there
    closed = gone.addr();
  }
  Acceptor* self = nullptr;
  auto a = Acceptor::create(AcceptorOptions{}, [&](int fd, std::string_view, const sockaddr_storage&) {
    self->forward(fd, closed);
  });
  ASSERT_TRUE(a.ok());
  self = a->get();
  testing::RawConnection c((*a)->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_TRUE(c.closed_within(3000));
}

TEST(AcceptorForward, RelaysPastTheCapAreClosed) {
  EchoServer echo;
  Acceptor* self = nullptr;
  AcceptorOptions o;
  o.max_forwarded = 1;
  auto a = Acceptor::create(o, [&](int fd, std::string_view, const sockaddr_storage&) { self->forward(fd, echo.addr()); });
  ASSERT_TRUE(a.ok());
  self = a->get();
  int first = dial((*a)->port());
  ASSERT_GE(first, 0);
  ASSERT_EQ(::write(first, "GET /1 HTTP/1.1\r\n", 17), 17);
  char buf[64];
  ASSERT_EQ(::read(first, buf, sizeof buf), 17);  // relayed and echoed: the one relay is open
  testing::RawConnection second((*a)->port());
  ASSERT_TRUE(second.send("GET /2 HTTP/1.1\r\n"));
  EXPECT_TRUE(second.closed_within(3000));
  EXPECT_EQ((*a)->forwarding(), 1u);
  ::close(first);
}

TEST(Acceptor, AnAddressInUseFailsCreate) {
  Routed routed;
  auto first = Acceptor::create(AcceptorOptions{}, routed.router());
  ASSERT_TRUE(first.ok());
  AcceptorOptions o;
  o.port = (*first)->port();
  auto second = Acceptor::create(o, routed.router());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("cannot listen"), std::string::npos) << second.status().message();
}

}  // namespace
}  // namespace realtime
