// Tests of the lws transport's HTTP router and static files: route params,
// asynchronous responders, 404/405/413, content types and refused path
// traversal, over real loopback sockets. Also the pure Router matcher.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <vector>

#include "http_test_client.h"
#include "lws_test_server.h"
#include "realtime/json.h"
#include "transport/lws/router.h"

namespace realtime {
namespace {

using testing::http;
using testing::http_raw;

class LwsRouter : public ::testing::Test {
 protected:
  void SetUp() override {
    LwsOptions opt;
    opt.max_http_body = 1024;
    server_ = std::make_unique<testing::LwsTestServer>(opt);
    ASSERT_TRUE(server_->ok());
    auto& t = server_->transport();
    t.add_route("GET", "/api/rooms/{id}", [](const HttpRequest& req, HttpResponder respond) {
      auto q = req.query.find("x");
      HttpResponse r;
      r.body = Json::object(
                   {{"id", Json(req.params.at("id"))}, {"x", Json(q == req.query.end() ? "" : q->second)}})
                   .dump();
      respond(std::move(r));
    });
    t.add_route("POST", "/api/rooms/{id}", [](const HttpRequest& req, HttpResponder respond) {
      HttpResponse r;
      r.status = 201;
      r.content_type = "text/plain";
      r.body = req.body;
      respond(std::move(r));
    });
    t.add_route("GET", "/api/later", [this](const HttpRequest&, HttpResponder respond) {
      // Answer from another thread through post(), as a store completion would.
      workers_.emplace_back([this, respond = std::move(respond)]() mutable {
        server_->transport().post([respond = std::move(respond)] {
          HttpResponse r;
          r.body = R"({"later":true})";
          respond(std::move(r));
        });
      });
    });
    dir_ = std::filesystem::temp_directory_path() / ("lws_router_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "public" / "sub");
    std::ofstream(dir_ / "secret.txt") << "TOP-SECRET";
    std::ofstream(dir_ / "public" / "index.html") << "<h1>home</h1>";
    std::ofstream(dir_ / "public" / "app.js") << "console.log(1)";
    std::ofstream(dir_ / "public" / "sub" / "data.json") << "{}";
    std::filesystem::create_symlink(dir_ / "secret.txt", dir_ / "public" / "link.txt");
    ASSERT_TRUE(t.serve_static("/static", (dir_ / "public").string()).ok());
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    for (auto& w : workers_) w.join();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<testing::LwsTestServer> server_;
  std::vector<std::thread> workers_;
  std::filesystem::path dir_;
};

TEST_F(LwsRouter, RouteBindsParamsAndQuery) {
  auto r = http(server_->port(), "GET", "/api/rooms/r-1?x=42");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->body, R"({"id":"r-1","x":"42"})");
}

TEST_F(LwsRouter, PostBodyReachesHandler) {
  auto r = http(server_->port(), "POST", "/api/rooms/r1", "hello body");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "hello body");
}

TEST_F(LwsRouter, ResponderMayAnswerLaterFromThePostedTask) {
  auto r = http(server_->port(), "GET", "/api/later");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"later":true})");
}

TEST_F(LwsRouter, UnknownPathIs404) {
  auto r = http(server_->port(), "GET", "/api/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("not_found"), std::string::npos);
}

TEST_F(LwsRouter, WrongMethodIs405WithAllow) {
  auto r = http(server_->port(), "DELETE", "/api/rooms/r1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers["allow"], "GET, POST");
}

TEST_F(LwsRouter, BodyOverCapIs413) {
  auto r = http(server_->port(), "POST", "/api/rooms/r1", std::string(4096, 'z'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // The server keeps serving after refusing.
  auto again = http(server_->port(), "GET", "/api/rooms/r2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(LwsRouter, StaticFilesWithContentTypes) {
  auto js = http(server_->port(), "GET", "/static/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(js->body, "console.log(1)");
  auto index = http(server_->port(), "GET", "/static/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "<h1>home</h1>");
  auto json = http(server_->port(), "GET", "/static/sub/data.json");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->headers["content-type"], "application/json");
  auto missing = http(server_->port(), "GET", "/static/none.css");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(LwsRouter, StaticTraversalIsRefused) {
  for (const char* target : {"/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
                             "/static/sub/../../secret.txt", "/static/link.txt",
                             "/static/%2E%2E%2Fsecret.txt", "/static/..\\secret.txt"}) {
    auto r = http(server_->port(), "GET", target);
    // lws itself may refuse some of these outright; either way no secret.
    if (r) {
      EXPECT_NE(r->status, 200) << target;
      EXPECT_EQ(r->body.find("TOP-SECRET"), std::string::npos) << target;
    }
  }
}

TEST(LwsRouterMatch, PatternsParamsAndMethods) {
  lws_detail::Router router;
  router.add_route("GET", "/api/rooms/{id}/members/{user}", [](const HttpRequest&, HttpResponder) {});
  router.add_route("DELETE", "/api/rooms/{id}/members/{user}", [](const HttpRequest&, HttpResponder) {});
  auto m = router.match("GET", "/api/rooms/a/members/b");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params["id"], "a");
  EXPECT_EQ(m.params["user"], "b");
  auto wrong = router.match("PUT", "/api/rooms/a/members/b");
  EXPECT_EQ(wrong.handler, nullptr);
  EXPECT_TRUE(wrong.path_known);
  EXPECT_EQ(wrong.allow, "GET, DELETE");
  EXPECT_FALSE(router.match("GET", "/api/rooms/a/members").path_known);
}

TEST(LwsRouterMatch, ResolveBelowRefusesEscapes) {
  auto root = std::filesystem::temp_directory_path();
  EXPECT_FALSE(lws_detail::resolve_below(root, "../etc/passwd"));
  EXPECT_FALSE(lws_detail::resolve_below(root, "a/./b"));
  EXPECT_FALSE(lws_detail::resolve_below(root, std::string_view("a\0b", 3)));
  EXPECT_EQ(lws_detail::mime_type("x.html"), "text/html; charset=utf-8");
  EXPECT_EQ(lws_detail::mime_type("x.unknown"), "application/octet-stream");
}

}  // namespace
}  // namespace realtime
