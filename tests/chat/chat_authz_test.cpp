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

TEST_F(AuthzTest, RemovedMemberCanNeitherEditNorDeleteTheirOldMessages) {
  Json mine = send(*bob, "said while a member")["message"];
  ASSERT_TRUE(mine["id"].is_string());
  ASSERT_EQ(ann->call("member:remove", Json::object({{"room", room}, {"userId", "bob"}}))["ok"], Json(true));
  ann->clear();
  EXPECT_EQ(code(bob->call("message:edit", Json::object({{"id", mine["id"]}, {"text", "rewritten later"}}))),
            "not_found");
  EXPECT_EQ(code(bob->call("message:delete", Json::object({{"id", mine["id"]}}))), "not_found");
  EXPECT_TRUE(ann->take("message:edited").empty()) << "nothing was broadcast";
  EXPECT_TRUE(ann->take("message:deleted").empty());
  Json page = ann->call("message:history", Json::object({{"room", room}}));
  const Json& kept = page["messages"].as_array()[0];
  EXPECT_EQ(kept["text"], Json("said while a member"));
  EXPECT_EQ(kept["deleted"], Json(false));
  EXPECT_TRUE(kept["editedAt"].is_null());
  // A service acting for the removed user is refused the same way.
  EXPECT_EQ(code_of(service_call("bob", "message:edit", Json::object({{"id", mine["id"]}, {"text", "x"}}))),
            "not_found");
  EXPECT_EQ(code_of(service_call("bob", "message:delete", Json::object({{"id", mine["id"]}}))), "not_found");
}

TEST_F(AuthzTest, NonMembersCannotTellAMessageIdExists) {
  Json m = send(*ann, "private")["message"];
  auto eve = connect("eve");
  // The same answer as for an id that does not exist: ids are sequential.
  EXPECT_EQ(code(eve->call("message:edit", Json::object({{"id", m["id"]}, {"text", "x"}}))), "not_found");
  EXPECT_EQ(code(eve->call("message:delete", Json::object({{"id", m["id"]}}))), "not_found");
  EXPECT_EQ(code(eve->call("message:edit", Json::object({{"id", "m999999"}, {"text", "x"}}))), "not_found");
  // A member who may read the message but not change it still hears why.
  EXPECT_EQ(code(bob->call("message:edit", Json::object({{"id", m["id"]}, {"text", "x"}}))), "forbidden");
  EXPECT_EQ(code(bob->call("message:delete", Json::object({{"id", m["id"]}}))), "forbidden");
}

TEST_F(AuthzTest, AdminsEditAndDeleteWithoutBeingMembers) {
  Json m = send(*bob, "needs moderation")["message"];
  auto root = connect("root", "admin");
  Json edited = root->call("message:edit", Json::object({{"id", m["id"]}, {"text", "[moderated]"}}));
  ASSERT_EQ(edited["ok"], Json(true)) << edited.dump();
  EXPECT_EQ(root->call("message:delete", Json::object({{"id", m["id"]}}))["ok"], Json(true));
}

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
