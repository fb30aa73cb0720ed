// PushSubscriptionStore (realtime/push_subscription_store.h) on every
// backend: memory, SQLite on a real file (and read again by a second
// connection, as after a restart), and with PUSH_SUBSCRIPTIONS_PG a
// throwaway PostgreSQL, where two stores (two cluster nodes) share the
// rows. Put, replace, the per-user bound, remove (only one's own), and
// the order newest first.
#include <gtest/gtest.h>

#include <functional>

#include "realtime/push_subscription_store.h"
#include "store_test_util.h"
#ifdef PUSH_SUBSCRIPTIONS_PG
#include "pg_backend.h"
#endif

namespace realtime::testing {
namespace {

struct PushBackend {
  std::string name;
  // Opens a store; called twice, both see the same rows (except memory).
  std::function<std::unique_ptr<PushSubscriptionStore>()> open;
  bool shared = true;
};

std::vector<PushBackend> push_backends() {
#ifdef PUSH_SUBSCRIPTIONS_PG
  return {{"postgres", [] {
             static std::string conninfo;
             static int opened = 0;
             if (opened++ % 2 == 0) {
               std::string schema;
               conninfo = pg_test_options(&schema).conninfo;
             }
             auto s = open_postgres_push_subscriptions(conninfo);
             EXPECT_TRUE(s.ok()) << s.status().to_string();
             return s.ok() ? std::move(*s) : nullptr;
           }}};
#else
  return {{"memory", [] { return make_memory_push_subscriptions(); }, false},
          {"sqlite", [] {
             static std::unique_ptr<TempDir> dir;
             static int opened = 0;
             if (opened++ % 2 == 0) dir = std::make_unique<TempDir>();
             auto s = open_sqlite_push_subscriptions(dir->path() + "/chatd.db");
             EXPECT_TRUE(s.ok()) << s.status().to_string();
             return s.ok() ? std::move(*s) : nullptr;
           }}};
#endif
}

PushSubscription sub(const std::string& user, const std::string& endpoint) {
  return {user, endpoint, "p-" + endpoint, "a-" + endpoint, 0};
}

std::vector<std::string> endpoints(PushSubscriptionStore& s, const std::string& user) {
  auto got = s.of_user(user);
  EXPECT_TRUE(got.ok());
  std::vector<std::string> out;
  if (got.ok())
    for (const auto& x : *got) out.push_back(x.endpoint);
  return out;
}

inline void PrintTo(const PushBackend& b, std::ostream* os) { *os << b.name; }

class PushSubscriptions : public ::testing::TestWithParam<PushBackend> {};

TEST_P(PushSubscriptions, PutReplaceBoundRemove) {
  auto one = GetParam().open();
  auto two = GetParam().shared ? GetParam().open() : nullptr;
  PushSubscriptionStore& a = *one;
  PushSubscriptionStore& b = two ? *two : *one;  // another node, on a shared backend

  ASSERT_TRUE(a.put(sub("cat", "https://p/1"), 3).ok());
  ASSERT_TRUE(a.put(sub("cat", "https://p/2"), 3).ok());
  ASSERT_TRUE(b.put(sub("dan", "https://p/9"), 3).ok());
  EXPECT_EQ(endpoints(b, "cat"), (std::vector<std::string>{"https://p/2", "https://p/1"})) << "newest first";
  auto got = b.of_user("cat");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0].p256dh, "p-https://p/2");
  EXPECT_EQ((*got)[0].auth, "a-https://p/2");
  EXPECT_GT((*got)[0].created, 0);

  // The same endpoint again (the browser now signed in as Dan) moves it.
  PushSubscription moved = sub("dan", "https://p/1");
  moved.auth = "new-auth";
  ASSERT_TRUE(b.put(moved, 3).ok());
  EXPECT_EQ(endpoints(a, "cat"), std::vector<std::string>{"https://p/2"});
  EXPECT_EQ(endpoints(a, "dan"), (std::vector<std::string>{"https://p/1", "https://p/9"}));
  EXPECT_EQ((*a.of_user("dan"))[0].auth, "new-auth");

  // At most 3 per user: the oldest go.
  for (const char* e : {"https://p/3", "https://p/4", "https://p/5"}) ASSERT_TRUE(a.put(sub("cat", e), 3).ok());
  EXPECT_EQ(endpoints(b, "cat"), (std::vector<std::string>{"https://p/5", "https://p/4", "https://p/3"}));

  // Only one's own, unless no user is named (a push service said 410).
  EXPECT_EQ(*b.remove("https://p/5", "dan"), false);
  EXPECT_EQ(*b.remove("https://p/5", "cat"), true);
  EXPECT_EQ(*a.remove("https://p/5", "cat"), false) << "already gone";
  EXPECT_EQ(*a.remove("https://p/4"), true);
  EXPECT_EQ(endpoints(b, "cat"), std::vector<std::string>{"https://p/3"});
  EXPECT_TRUE(endpoints(a, "nobody").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, PushSubscriptions, ::testing::ValuesIn(push_backends()),
                         [](const ::testing::TestParamInfo<PushBackend>& p) { return p.param.name; });

}  // namespace
}  // namespace realtime::testing
