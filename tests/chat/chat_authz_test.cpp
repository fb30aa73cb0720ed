// Who may change what, through real sockets and service calls: editing and
// deleting need current membership and do not reveal messages to
// non-members; the stored senderRole is the sender's room role; attachment
// urls name this server's attachments or the web, nothing else.
#include <vector>

#include "chat_test_util.h"

namespace realtime::testing {
namespace {

class AuthzTest : public RoomOfTwoTest {
 protected:
  Json send(ChatClient& c, const std::string& text, Json extra = Json::object()) {
    Json p = Json::object({{"room", room}, {"text", text}});
    for (auto& [k, v] : extra.as_object()) p.set(k, v);
    return c.call("message:send", p);
  }
  // A service (API key) call acting for `user`, run to completion.
  Result<Json> service_call(const std::string& user, std::string_view event, Json payload) {
    Actor service;
    service.service = true;
    service.identity = Identity{user, user, ""};
    std::optional<Result<Json>> got;
    chat_.call(service, event, payload, [&](Result<Json> r) { got = std::move(r); });
    transport_.run_until([&] { return got.has_value(); });
    return got ? std::move(*got) : Result<Json>(Status::internal("no answer"));
  }
  static std::string code_of(const Result<Json>& r) {
    return r.ok() ? "ok" : std::string(code_name(r.status().code()));
  }
};

TEST_F(AuthzTest, ServicePublishStoresTheRoomRoleNotTheOneItNames) {
  Actor service;
  service.service = true;
  service.identity = Identity{"bob", "Bob", "teacher"};  // what a REST body's senderRole would say
  std::optional<Result<Json>> got;
  chat_.call(service, "message:send", Json::object({{"room", room}, {"text", "automated"}}),
             [&](Result<Json> r) { got = std::move(r); });
  transport_.run_until([&] { return got.has_value(); });
  ASSERT_TRUE(got && got->ok());
  EXPECT_EQ((**got)["message"]["senderRole"], Json("member")) << "bob's role in the room";
  EXPECT_EQ((**got)["message"]["senderName"], Json("Bob"));
}

TEST_F(AuthzTest, AttachmentUrlIsThisServersAttachmentOrAnAbsoluteWebUrl) {
  auto with_url = [&](const std::string& url) {
    return send(*ann, "", Json::object({{"type", "file"}, {"attachment", Json::object({{"url", url}})}}));
  };
  const std::string id(22, 'A');
  const std::vector<std::string> good = {"/api/attachments/" + id, "/api/attachments/Jx9c0vQ2-_abcdefghijkl",
                                         "https://cdn.example.com/a/b.png?x=1#y", "http://example.com"};
  for (const auto& url : good) {
    Json ack = with_url(url);
    EXPECT_EQ(ack["ok"], Json(true)) << url << " " << ack.dump();
  }
  const std::vector<std::string> bad = {
      "/api/attachments/../../x", "/api/attachments/" + id + "/..", "/api/attachments/" + id.substr(1),
      "/api/attachments/" + id + "A", "/api/attachments/" + id.substr(3) + "%2F", "/api/attachments/" + id + "?x",
      "/api/attachments/", "/api/other/" + id, "https://", "https:///path", "https://exa mple.com/x",
      "https://example.com/\nx", "javascript:alert(1)", "HTTPS//example.com", "//example.com/x"};
  for (const auto& url : bad) EXPECT_EQ(code(with_url(url)), "bad_request") << url;
  EXPECT_TRUE(ann->is_open());
}

}  // namespace
}  // namespace realtime::testing
