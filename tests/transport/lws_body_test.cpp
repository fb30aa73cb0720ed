// Tests of how the lws transport takes request bodies, over real loopback
// sockets: routing and admission on the headers (answered before the body
// is sent), the route's limit, one deadline for the whole body, the memory
// budget in total and per client address (route bodies and Engine.IO
// polling POSTs alike), chunked and unframed bodies, bodies spooled to a
// file, file responses streamed from disk, and headers that could inject.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include "http_test_client.h"
#include "lws_test_server.h"

namespace realtime {
namespace {

using namespace std::chrono_literals;
using testing::http;
using testing::RawConnection;

// A refused request's connection closes once the rest of its body has been
// read and dropped, or after 2 s of waiting for it.
constexpr int kDrained = 4000;

std::string post_head(std::string_view path, std::size_t length, std::string_view extra = {}) {
  std::string h = "POST " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  h.append(extra);
  return h + "Content-Length: " + std::to_string(length) + "\r\n\r\n";
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class LwsBody : public ::testing::Test {
 protected:
  // Small caps so that a test reaches them with a few connections.
  virtual LwsOptions options() {
    LwsOptions opt;
    opt.max_http_body = 1024;
    opt.body_timeout = 400ms;
    opt.max_buffered_bytes = 3500;
    opt.max_buffered_bytes_per_address = 2500;
    return opt;
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("lws_body_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "spool");
    server_ = std::make_unique<testing::LwsTestServer>(options());
    ASSERT_TRUE(server_->ok());
    auto& t = server_->transport();
    t.add_route("POST", "/echo", [this](const HttpRequest& req, HttpResponder respond) {
      ++handled_;
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = req.body;
      respond(std::move(r));
    });
    RouteOptions guarded;
    guarded.admit = [](const HttpRequest& head, HttpDecision decide) {
      if (head.headers.count("authorization") != 0) return decide(std::nullopt);
      HttpResponse r;
      r.status = 401;
      r.body = R"({"error":{"code":"unauthorized","message":"no"}})";
      decide(std::move(r));
    };
    t.add_route("POST", "/guarded", [this](const HttpRequest& req, HttpResponder respond) {
      ++handled_;
      HttpResponse r;
      r.body = req.body;
      respond(std::move(r));
    }, guarded);
    RouteOptions later;  // decides on a timer, as a store lookup would
    later.admit = [this](const HttpRequest&, HttpDecision decide) {
      server_->transport().set_timer(50ms, [decide] { decide(std::nullopt); });
    };
    t.add_route("POST", "/later", [](const HttpRequest& req, HttpResponder respond) {
      HttpResponse r;
      r.body = req.body;
      respond(std::move(r));
    }, later);
    RouteOptions late_no;  // refuses on a timer, as after a store lookup
    late_no.admit = [this](const HttpRequest&, HttpDecision decide) {
      server_->transport().set_timer(50ms, [decide] {
        HttpResponse r;
        r.status = 403;
        decide(std::move(r));
      });
    };
    late_no.max_body = 8 << 20;
    t.add_route("POST", "/late-no", [this](const HttpRequest&, HttpResponder respond) {
      ++handled_;
      respond(HttpResponse{});
    }, late_no);
    RouteOptions spooled;
    spooled.spool_dir = (dir_ / "spool").string();
    spooled.max_body = 4 << 20;
    spooled.body_timeout = 5s;
    t.add_route("POST", "/upload", [this](const HttpRequest& req, HttpResponder respond) {
      // The test reads the spooled file here, on the loop; a real route
      // would hand it to a worker thread.
      HttpResponse r;
      r.status = 201;
      r.content_type = "text/plain";
      r.body = std::to_string(req.body_size) + " " + std::to_string(req.body.size()) + " " +
               (read_file(req.body_file) == expected_upload_ ? "same" : "different");
      spooled_path_ = req.body_file;
      respond(std::move(r));
    }, spooled);
    t.add_route("GET", "/file", [this](const HttpRequest&, HttpResponder respond) {
      HttpResponse r;
      r.content_type = "application/x-test";
      r.file = (dir_ / "big.bin").string();
      respond(std::move(r));
    });
    t.add_route("GET", "/missing-file", [this](const HttpRequest&, HttpResponder respond) {
      HttpResponse r;
      r.file = (dir_ / "nope.bin").string();
      respond(std::move(r));
    });
    t.add_route("GET", "/inject", [](const HttpRequest&, HttpResponder respond) {
      HttpResponse r;
      r.content_type = "text/plain\nx-evil: 1";
      r.headers["x-split"] = "a\r\nx-evil-too: 1";
      r.headers["x-fine"] = "ok";
      r.body = "hi";
      respond(std::move(r));
    });
    big_.resize(300 * 1024 + 17);
    for (std::size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<char>((i * 131) % 251);
    std::ofstream(dir_ / "big.bin", std::ios::binary) << big_;
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    std::filesystem::remove_all(dir_);
  }
  int port() const { return server_->port(); }
  std::size_t spool_files() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_ / "spool"),
                                                  std::filesystem::directory_iterator()));
  }

  std::unique_ptr<testing::LwsTestServer> server_;
  std::filesystem::path dir_;
  std::atomic<int> handled_{0};
  std::string big_;
  std::string expected_upload_;  // set before an upload; read on the loop
  std::string spooled_path_;
};

// Regression: a chunked body got no answer at all (lws does not decode it,
// and its bytes arrived where no body was expected).
TEST_F(LwsBody, ChunkedBodyIsAnswered411) {
  RawConnection c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  auto r = c.reply(2000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 411);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.closed_within(2000));
  EXPECT_EQ(handled_, 0);
}

TEST_F(LwsBody, PostWithoutALengthHasAnEmptyBodyAndClosesAfter) {
  RawConnection c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.reply(2000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_TRUE(c.closed_within(2000));
}

TEST_F(LwsBody, BadContentLengthIs400) {
  RawConnection c(port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"));
  auto r = c.reply(2000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// Regression: bodies up to the largest limit were read for any POST path
// before anything looked at the path.
TEST_F(LwsBody, UnknownRouteAndWrongMethodAreAnsweredBeforeTheBody) {
  for (const char* path : {"/nope", "/file"}) {
    RawConnection c(port());
    ASSERT_TRUE(c.send(post_head(path, 10 << 20)));  // the body is never sent
    auto r = c.reply(1500);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, std::string_view(path) == "/nope" ? 404 : 405);
    EXPECT_TRUE(c.closed_within(kDrained)) << path;
  }
}

TEST_F(LwsBody, BodyOverTheRoutesLimitIs413BeforeTheBody) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(post_head("/echo", 5000)));
  auto r = c.reply(1500);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("payload_too_large"), std::string::npos);
  EXPECT_EQ(handled_, 0);
}

TEST_F(LwsBody, AdmissionRefusesOnTheHeadersWithoutReadingTheBody) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(post_head("/guarded", 1000)));
  auto r = c.reply(1500);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(c.closed_within(kDrained));
  EXPECT_EQ(handled_, 0);
  // Admitted, the body is read as usual (here in the same packet as the headers).
  auto ok = testing::http_raw(port(), post_head("/guarded", 5, "Authorization: yes\r\n") + "hello");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "hello");
}

TEST_F(LwsBody, ALateAdmissionPausesAndThenReadsTheBody) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(post_head("/later", 600) + std::string(100, 'a')));
  ASSERT_TRUE(c.send(std::string(500, 'b')));
  auto r = c.reply(2000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string(100, 'a') + std::string(500, 'b'));
}

TEST_F(LwsBody, ALateRefusalIsAnsweredWhileTheClientIsStillSending) {
  RawConnection c(port());
  ASSERT_TRUE(c.send(post_head("/late-no", 4 << 20) + std::string(64 * 1024, 'a')));
  auto r = c.reply(2000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(handled_, 0);
  // The rest is read and dropped (no reset that could cost a client the
  // answer), and the connection closes once it is in.
  ASSERT_TRUE(c.send(std::string((4 << 20) - 64 * 1024, 'b')));
  EXPECT_TRUE(c.closed_within(1000));
}

// Regression: lws's timeout restarted with every chunk, so a body sent a
// byte at a time held its connection (and buffer) for as long as it liked.
TEST_F(LwsBody, ASlowDripIsCutAtTheBodyDeadline) {
  RawConnection c(port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send(post_head("/echo", 1000)));
  std::optional<testing::HttpReply> r;
  for (int i = 0; i < 60 && !r; ++i) {  // 60 x 50 ms: well past the 400 ms deadline
    if (!c.send("x")) break;
    r = c.reply(50);
  }
  if (!r) r = c.reply(1000);
  ASSERT_TRUE(r) << "no answer while the body dripped";
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r->status, 408);
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 2000ms);
  EXPECT_TRUE(c.closed_within(2000));
  EXPECT_EQ(handled_, 0);
}

TEST_F(LwsBody, BodiesInMemoryAreCappedPerAddressAndInTotal) {
  // Two 1000-byte bodies in progress from 127.0.0.1 hold 2000 of its 2500.
  RawConnection a(port()), b(port());
  ASSERT_TRUE(a.send(post_head("/echo", 1000) + "12345"));
  ASSERT_TRUE(b.send(post_head("/echo", 1000) + "12345"));
  ASSERT_FALSE(a.reply(100));  // both held, unanswered
  ASSERT_FALSE(b.reply(50));
  RawConnection c(port());
  ASSERT_TRUE(c.send(post_head("/echo", 1000)));
  auto third = c.reply(1500);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 429);
  EXPECT_NE(third->body.find("rate_limited"), std::string::npos);
  // Another address still has room, until the 3500 total is reached.
  RawConnection d(port(), "127.0.0.2");
  ASSERT_TRUE(d.connected());
  ASSERT_TRUE(d.send(post_head("/echo", 1000) + "x"));
  ASSERT_FALSE(d.reply(100));
  RawConnection e(port(), "127.0.0.3");
  ASSERT_TRUE(e.send(post_head("/echo", 1000)));
  auto fifth = e.reply(1500);
  ASSERT_TRUE(fifth);
  EXPECT_EQ(fifth->status, 503);
  // A finished body gives its bytes back.
  ASSERT_TRUE(a.send(std::string(995, 'a')));
  auto done = a.reply(1500);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200);
  auto again = testing::http_raw(port(), post_head("/echo", 900) + std::string(900, 'z'));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// Engine.IO's own polling POSTs are buffered too, and count the same way.
TEST_F(LwsBody, PollingBodiesCountAgainstTheBudget) {
  auto open = http(port(), "GET", "/socket.io/?EIO=4&transport=polling");
  ASSERT_TRUE(open);
  ASSERT_EQ(open->status, 200);
  const auto sid_at = open->body.find("\"sid\":\"") + 7;
  const std::string sid = open->body.substr(sid_at, open->body.find('"', sid_at) - sid_at);
  RawConnection a(port()), b(port());
  ASSERT_TRUE(a.send(post_head("/echo", 1000)));
  ASSERT_TRUE(b.send(post_head("/echo", 1000)));
  ASSERT_FALSE(b.reply(100));
  RawConnection poll(port());
  ASSERT_TRUE(poll.send(post_head("/socket.io/?EIO=4&transport=polling&sid=" + sid, 600)));
  auto r = poll.reply(1500);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
}

TEST_F(LwsBody, FileResponsesStreamFromDisk) {
  auto r = http(port(), "GET", "/file");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "application/x-test");
  EXPECT_EQ(r->headers["content-length"], std::to_string(big_.size()));
  EXPECT_TRUE(r->body == big_) << "got " << r->body.size() << " bytes";
  auto missing = http(port(), "GET", "/missing-file");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(LwsBody, HeadersWithLineBreaksAreNotSent) {
  auto r = http(port(), "GET", "/inject");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "application/octet-stream");
  EXPECT_EQ(r->headers.count("x-evil"), 0u);
  EXPECT_EQ(r->headers.count("x-evil-too"), 0u);
  EXPECT_EQ(r->headers.count("x-split"), 0u);
  EXPECT_EQ(r->headers["x-fine"], "ok");
}

// Spooling: the budget per address (300 KiB) is far below the upload, which
// only ever holds a window of it in memory.
class LwsSpool : public LwsBody {
 protected:
  LwsOptions options() override {
    LwsOptions opt;
    opt.max_buffered_bytes_per_address = 300 * 1024;
    return opt;
  }
};

TEST_F(LwsSpool, AnUploadIsWrittenToAFileAndRemovedWhenTheRequestEnds) {
  std::string body(3 * 1024 * 1024 + 5, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7) % 253);
  std::promise<void> set;
  server_->transport().post([&] {
    expected_upload_ = body;
    set.set_value();
  });
  ASSERT_EQ(set.get_future().wait_for(5s), std::future_status::ready);
  auto r = testing::http_raw(port(), post_head("/upload", body.size(), "Connection: close\r\n") + body, 10000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, std::to_string(body.size()) + " 0 same");
  // The spool file goes when the request ends (it was not renamed away).
  for (int i = 0; i < 100 && spool_files() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(spool_files(), 0u);
}

TEST_F(LwsSpool, AClientThatGoesAwayLeavesNoSpoolFile) {
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send(post_head("/upload", 1 << 20) + std::string(200 * 1024, 'p')));
    // Wait until the spool file exists, then hang up mid-body.
    for (int i = 0; i < 100 && spool_files() == 0; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(spool_files(), 1u);
  }
  for (int i = 0; i < 100 && spool_files() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(spool_files(), 0u);
}

// A full disk while spooling: 507, and the partial file is removed. Needs
// a small file system of its own (a tmpfs, so root).
TEST_F(LwsSpool, AFullDiskAnswers507AndLeavesNoPartialFile) {
  const std::string spool = (dir_ / "spool").string();
  if (::mount("tmpfs", spool.c_str(), "tmpfs", 0, "size=1m") != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount(path.c_str()); }
  } unmount{spool};
  const std::string body(3 << 20, 'f');
  auto r = testing::http_raw(port(), post_head("/upload", body.size(), "Connection: close\r\n") + body, 10000);
  EXPECT_TRUE(r);
  EXPECT_EQ(r ? r->status : 0, 507);
  for (int i = 0; i < 100 && spool_files() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(spool_files(), 0u);
}

TEST(LwsCors, ListedOriginsGetCredentialsAndStarNever) {
  LwsOptions opt;
  opt.cors_origins = {"http://app.test", "*"};
  testing::LwsTestServer s(opt);
  ASSERT_TRUE(s.ok());
  s.transport().add_route("GET", "/x", [](const HttpRequest&, HttpResponder respond) { respond(HttpResponse{}); });
  s.start();
  auto listed = http(s.port(), "GET", "/x", {}, "Origin: http://app.test\r\n");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->headers["access-control-allow-origin"], "http://app.test");
  EXPECT_EQ(listed->headers["access-control-allow-credentials"], "true");
  auto other = http(s.port(), "GET", "/x", {}, "Origin: http://evil.test\r\n");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->headers["access-control-allow-origin"], "*");
  EXPECT_EQ(other->headers.count("access-control-allow-credentials"), 0u);
}

}  // namespace
}  // namespace realtime
