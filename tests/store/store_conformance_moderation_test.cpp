// Store conformance, part 3: moderation (moderation_store.h). Member
// roles, mutes and slow mode per room, the audit log's pages, bans. Every
// case runs against every backend. Test thread only.
#include <gtest/gtest.h>

#include "store_conformance.h"

namespace realtime::testing {
namespace {

class ModerationConformance : public StoreConformance {
 protected:
  void SetUp() override {
    StoreConformance::SetUp();
    ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob", "cy"})).ok());
    ASSERT_TRUE(s().create_room(make_room("r2", {"ann"})).ok());
  }
  Store& st() { return *store_; }
  Result<Room> role(const std::string& room, const std::string& user, const std::string& r) {
    return await<Room>(loop_, [&](auto done) { st().set_member_role(room, user, r, done); });
  }
  Status mute(const std::string& room, const std::string& user, std::optional<Timestamp> until) {
    return await_status(loop_, [&](StatusCompletion done) { st().set_mute(room, user, until, done); });
  }
  Status slow(const std::string& room, int seconds) {
    return await_status(loop_, [&](StatusCompletion done) { st().set_slow_mode(room, seconds, done); });
  }
  RoomModeration settings(const std::string& room) {
    auto r = await<RoomModeration>(loop_, [&](auto done) { st().room_moderation(room, done); });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : RoomModeration{};
  }
  AuditEntry log(const std::string& room, const std::string& action, std::int64_t at) {
    auto r = await<AuditEntry>(loop_, [&](auto done) {
      st().append_audit(AuditEntry{0, room, at_ms(at), "ann", action, "bob", "{\"n\":1}"}, done);
    });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : AuditEntry{};
  }
  AuditPage page(const std::string& room, std::optional<std::int64_t> before, int limit) {
    auto r = await<AuditPage>(loop_, [&](auto done) { st().audit_log(room, before, limit, done); });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : AuditPage{};
  }
  Status ban(const std::string& user, std::optional<Timestamp> until, std::int64_t at = 0) {
    return await_status(loop_, [&](StatusCompletion done) { st().set_ban(Ban{user, "why", "system", at_ms(at), until}, done); });
  }
  Status unban(const std::string& user) {
    return await_status(loop_, [&](StatusCompletion done) { st().remove_ban(user, done); });
  }
  std::vector<std::string> banned(std::int64_t now, std::size_t limit = 100) {
    auto r = await<std::vector<Ban>>(loop_, [&](auto done) { st().list_bans(at_ms(now), limit, done); });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    std::vector<std::string> out;
    if (r.ok())
      for (const auto& b : *r) out.push_back(b.user_id);
    return out;
  }
};

TEST_P(ModerationConformance, MemberRoleChangesOneMemberOnly) {
  auto r = role("r1", "bob", "moderator");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->members, (std::vector<Member>{{"ann", "owner"}, {"bob", "moderator"}, {"cy", "member"}}));
  EXPECT_EQ(s().get_room("r1")->members[1].role, "moderator");
  EXPECT_EQ(role("r1", "dan", "moderator").status().code(), StatusCode::not_found);
  EXPECT_EQ(role("nope", "bob", "moderator").status().code(), StatusCode::not_found);
  EXPECT_EQ(role("r1", "bob", "member")->members[1].role, "member");
}

TEST_P(ModerationConformance, MutesAndSlowModeArePerRoomAndReplaceable) {
  EXPECT_EQ(settings("r1"), RoomModeration{});
  EXPECT_EQ(settings("unknown"), RoomModeration{});
  ASSERT_TRUE(mute("r1", "cy", at_ms(5000)).ok());
  ASSERT_TRUE(mute("r1", "bob", at_ms(1000)).ok());
  ASSERT_TRUE(mute("r1", "bob", at_ms(2000)).ok());  // replaces
  ASSERT_TRUE(slow("r1", 30).ok());
  EXPECT_EQ(settings("r1"), (RoomModeration{30, {{"bob", at_ms(2000)}, {"cy", at_ms(5000)}}}));
  EXPECT_EQ(settings("r2"), RoomModeration{});
  ASSERT_TRUE(mute("r1", "bob", std::nullopt).ok());
  ASSERT_TRUE(mute("r1", "dan", std::nullopt).ok());  // lifting no mute is fine
  ASSERT_TRUE(slow("r1", 0).ok());
  EXPECT_EQ(settings("r1"), (RoomModeration{0, {{"cy", at_ms(5000)}}}));
  EXPECT_EQ(mute("nope", "bob", at_ms(1)).code(), StatusCode::not_found);
  EXPECT_EQ(slow("nope", 5).code(), StatusCode::not_found);
}

TEST_P(ModerationConformance, AuditLogPagesNewestFirstPerRoom) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(log("r1", "mute", i).id);
  log("r2", "role", 9);
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
  auto first = page("r1", std::nullopt, 2);
  ASSERT_EQ(first.entries.size(), 2u);
  EXPECT_EQ(first.entries[0].id, ids[4]);
  EXPECT_EQ(first.entries[1].id, ids[3]);
  EXPECT_TRUE(first.has_more);
  EXPECT_EQ(first.entries[0], (AuditEntry{ids[4], "r1", at_ms(4), "ann", "mute", "bob", "{\"n\":1}"}));
  auto rest = page("r1", ids[3], 10);
  ASSERT_EQ(rest.entries.size(), 3u);
  EXPECT_EQ(rest.entries.back().id, ids[0]);
  EXPECT_FALSE(rest.has_more);
  EXPECT_EQ(page("r2", std::nullopt, 10).entries.size(), 1u);
  EXPECT_TRUE(page("none", std::nullopt, 10).entries.empty());
}

TEST_P(ModerationConformance, BansListOnlyThoseInForceNewestFirst) {
  ASSERT_TRUE(ban("eve", std::nullopt, 1).ok());
  ASSERT_TRUE(ban("mal", at_ms(100), 2).ok());
  ASSERT_TRUE(ban("tom", at_ms(50), 3).ok());
  EXPECT_EQ(banned(10), (std::vector<std::string>{"tom", "mal", "eve"}));
  EXPECT_EQ(banned(60), (std::vector<std::string>{"mal", "eve"}));
  EXPECT_EQ(banned(10, 1), (std::vector<std::string>{"tom"}));
  ASSERT_TRUE(ban("eve", at_ms(20), 4).ok());  // replaces
  EXPECT_EQ(banned(30), (std::vector<std::string>{"tom", "mal"}));
  ASSERT_TRUE(unban("mal").ok());
  EXPECT_EQ(unban("mal").code(), StatusCode::not_found);
  EXPECT_EQ(banned(0), (std::vector<std::string>{"eve", "tom"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ModerationConformance, ::testing::ValuesIn(all_backends()), backend_name);

}  // namespace
}  // namespace realtime::testing
