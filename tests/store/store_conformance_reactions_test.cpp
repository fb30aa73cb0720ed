// Store conformance, part 3: reactions (realtime/reaction_store.h). One
// per (message, user, emoji), the distinct-emoji limit, deleted and
// unknown messages, and the summary of a page read at once. Every case
// runs against every backend. Test thread only.
#include <gtest/gtest.h>

#include "store_conformance.h"

namespace realtime::testing {
namespace {

class ReactionConformance : public StoreConformance {
 protected:
  void SetUp() override {
    StoreConformance::SetUp();
    ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob"})).ok());
  }
  Result<bool> react(const std::string& id, const std::string& user, const std::string& emoji, std::size_t max = 50) {
    return await<bool>(loop_, [&](auto done) { store_->add_reaction(id, user, emoji, max, done); });
  }
  Result<bool> unreact(const std::string& id, const std::string& user, const std::string& emoji) {
    return await<bool>(loop_, [&](auto done) { store_->remove_reaction(id, user, emoji, done); });
  }
  std::vector<MessageReactions> summary(std::vector<std::string> ids, const std::string& viewer, std::size_t list = 0) {
    auto r = await<std::vector<MessageReactions>>(loop_, [&](auto done) { store_->reactions(ids, viewer, list, done); });
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : std::vector<MessageReactions>{};
  }
};

TEST_P(ReactionConformance, OnePerUserAndEmoji) {
  const Message m = add("r1", "ann", "hi");
  EXPECT_EQ(react(m.id, "ann", "👍").value(), true);
  EXPECT_EQ(react(m.id, "ann", "👍").value(), false);  // again: no change
  EXPECT_EQ(react(m.id, "bob", "👍").value(), true);
  EXPECT_EQ(react(m.id, "bob", ":tada:").value(), true);
  auto all = summary({m.id}, "bob", 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].message_id, m.id);
  ASSERT_EQ(all[0].reactions.size(), 2u);  // in the order first added
  EXPECT_EQ(all[0].reactions[0], (ReactionCount{"👍", 2, true, {"ann", "bob"}}));
  EXPECT_EQ(all[0].reactions[1], (ReactionCount{":tada:", 1, true, {"bob"}}));
  EXPECT_EQ(unreact(m.id, "bob", ":tada:").value(), true);
  EXPECT_EQ(unreact(m.id, "bob", ":tada:").value(), false);  // not there: fine
  auto left = summary({m.id}, "ann");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].reactions, (std::vector<ReactionCount>{{"👍", 2, true, {}}}));
  EXPECT_EQ(unreact(m.id, "ann", "👍").value(), true);
  EXPECT_EQ(unreact(m.id, "bob", "👍").value(), true);
  EXPECT_TRUE(summary({m.id}, "ann").empty());
}

TEST_P(ReactionConformance, ListsTheFirstReactorsAndMarksTheViewer) {
  const Message m = add("r1", "ann", "hi");
  for (const char* u : {"u1", "u2", "u3", "u4"}) ASSERT_TRUE(react(m.id, u, "x").ok());
  auto r = summary({m.id}, "u4", 2);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reactions, (std::vector<ReactionCount>{{"x", 4, true, {"u1", "u2"}}}));
  EXPECT_FALSE(summary({m.id}, "nobody", 0)[0].reactions[0].me);
  EXPECT_FALSE(summary({m.id}, "", 0)[0].reactions[0].me);
}

TEST_P(ReactionConformance, DistinctEmojisAreLimited) {
  const Message m = add("r1", "ann", "hi");
  ASSERT_TRUE(react(m.id, "ann", "a", 2).ok());
  ASSERT_TRUE(react(m.id, "ann", "b", 2).ok());
  auto third = react(m.id, "ann", "c", 2);
  EXPECT_EQ(third.status().code(), StatusCode::conflict) << third.status().to_string();
  EXPECT_EQ(react(m.id, "bob", "a", 2).value(), true);  // an emoji already there is fine
  ASSERT_TRUE(unreact(m.id, "ann", "b").ok());
  EXPECT_EQ(react(m.id, "bob", "c", 2).value(), true);  // room again once one went
}

TEST_P(ReactionConformance, UnknownAndDeletedMessages) {
  const Message m = add("r1", "ann", "hi");
  EXPECT_EQ(react("m999999", "ann", "x").status().code(), StatusCode::not_found);
  EXPECT_EQ(react("nonsense", "ann", "x").status().code(), StatusCode::not_found);
  EXPECT_EQ(unreact("m999999", "ann", "x").status().code(), StatusCode::not_found);
  ASSERT_TRUE(react(m.id, "ann", "x").ok());
  ASSERT_TRUE(s().delete_message(m.id).ok());
  EXPECT_EQ(react(m.id, "bob", "x").status().code(), StatusCode::not_found);
  EXPECT_EQ(unreact(m.id, "ann", "x").value(), true);  // taking one back still works
}

TEST_P(ReactionConformance, SummaryOfAPageInTheOrderAsked) {
  const Message a = add("r1", "ann", "a");
  const Message b = add("r1", "ann", "b");
  const Message c = add("r1", "ann", "c");
  ASSERT_TRUE(react(c.id, "bob", "1").ok());
  ASSERT_TRUE(react(a.id, "bob", "2").ok());
  auto r = summary({c.id, b.id, "m-not-an-id", a.id, "m999999"}, "bob");
  ASSERT_EQ(r.size(), 2u);  // b has none; unknown ids are left out
  EXPECT_EQ(r[0].message_id, c.id);
  EXPECT_EQ(r[1].message_id, a.id);
  EXPECT_EQ(r[1].reactions, (std::vector<ReactionCount>{{"2", 1, true, {}}}));
  EXPECT_TRUE(summary({}, "bob").empty());
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, ReactionConformance, ::testing::ValuesIn(all_backends()), backend_name);

}  // namespace realtime::testing
