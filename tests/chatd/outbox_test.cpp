// chatd's notification Outbox (notifications.h) with a recording delivery
// on its real threads: coalescing per (user, room), retries with the same
// id (and what the channel reached kept), giving up after the attempts,
// the queue bound dropping the oldest, and several senders at once that
// never take one (user, room) twice. Waits are for conditions, bounded;
// windows are short.
#include "notifications.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace chatd {
namespace {

using namespace std::chrono_literals;

realtime::AwayNotice notice(std::string user, std::string room, std::int64_t seq) {
  realtime::AwayNotice n;
  n.user_id = std::move(user);
  n.room = std::move(room);
  n.seq = seq;
  n.preview = "text " + std::to_string(seq);
  return n;
}

// Records every delivery; answers with `script` (then delivered); holds
// the delivery while `held`.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<NoticeBatch> got;
  std::vector<Outbox::Outcome> script;
  bool held = false;

  Outbox::Deliver deliver() {
    return [this](const NoticeBatch& b) {
      std::unique_lock lock(mu);
      got.push_back(b);
      cv.notify_all();
      cv.wait_for(lock, 10s, [&] { return !held; });
      if (script.empty()) return Outbox::Outcome::delivered;
      const auto o = script.front();
      script.erase(script.begin());
      return o;
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return got.size() >= n; });
  }
  void release() {
    std::lock_guard lock(mu);
    held = false;
    cv.notify_all();
  }
};

// Until the outbox's counters say so (they change after the delivery returns).
template <class F>
bool eventually(F f) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);  // polling, bounded by `end`
  }
  return f();
}

TEST(Outbox, CoalescesOneUserAndRoomWithinTheWindow) {
  Log log(Level::error);
  Recorder r;
  OutboxOptions o;
  o.window = 200ms;
  Outbox box("test", o, r.deliver(), log);
  box.add(notice("cat", "r1", 1));
  box.add(notice("cat", "r1", 2));
  box.add(notice("dan", "r1", 2));
  box.add(notice("cat", "r1", 3));
  ASSERT_TRUE(r.wait_for(2));
  std::lock_guard lock(r.mu);
  ASSERT_EQ(r.got.size(), 2u);
  const NoticeBatch& cat = r.got[0].latest.user_id == "cat" ? r.got[0] : r.got[1];
  EXPECT_EQ(cat.messages, 3u);
  EXPECT_EQ(cat.first_seq, 1);
  EXPECT_EQ(cat.latest.seq, 3);
  EXPECT_EQ(cat.latest.preview, "text 3");
  EXPECT_FALSE(cat.id.empty());
}

TEST(Outbox, RetriesWithTheSameIdThenGivesUp) {
  Log log(Level::error);
  Recorder r;
  r.script = {Outbox::Outcome::retry, Outbox::Outcome::delivered};
  OutboxOptions o;
  o.window = 0ms;
  o.retry_base = 20ms;
  o.attempts = 3;
  Outbox box("test", o, r.deliver(), log);
  box.add(notice("cat", "r1", 1));
  ASSERT_TRUE(r.wait_for(2));
  {
    std::lock_guard lock(r.mu);
    EXPECT_EQ(r.got[0].attempt, 1);
    EXPECT_EQ(r.got[1].attempt, 2);
    EXPECT_EQ(r.got[0].id, r.got[1].id);
  }
  ASSERT_TRUE(eventually([&] { return box.stats().delivered == 1; }));
  EXPECT_EQ(box.stats().retried, 1u);

  {
    std::lock_guard lock(r.mu);
    r.script = {Outbox::Outcome::retry, Outbox::Outcome::retry, Outbox::Outcome::retry, Outbox::Outcome::retry};
  }
  box.add(notice("dan", "r1", 2));
  ASSERT_TRUE(eventually([&] { return box.stats().failed == 1; }));
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.got.size(), 5u) << "three attempts, no fourth";
}

TEST(Outbox, ARetryThatTakesInANewMessageIsANewDelivery) {
  Log log(Level::error);
  Recorder r;
  r.script = {Outbox::Outcome::retry};
  r.held = true;
  OutboxOptions o;
  o.window = 0ms;
  o.retry_base = 20ms;
  o.attempts = 3;
  Outbox box("test", o, r.deliver(), log);
  box.add(notice("cat", "r1", 1));
  ASSERT_TRUE(r.wait_for(1));
  // While the first attempt is out, a second message for the same user and
  // room; the first attempt then fails and is merged with it.
  box.add(notice("cat", "r1", 2));
  r.release();
  ASSERT_TRUE(r.wait_for(2));
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.got[1].messages, 2u);
  EXPECT_EQ(r.got[1].latest.seq, 2);
  EXPECT_EQ(r.got[1].attempt, 1);
  EXPECT_NE(r.got[1].id, r.got[0].id) << "a receiver holding the first id would drop message 2";
}

TEST(Outbox, ARetryKeepsWhatTheChannelReachedAndAMergeClearsIt) {
  Log log(Level::error);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<NoticeBatch> seen;  // as each attempt found the batch
  OutboxOptions o;
  o.window = 0ms;
  o.retry_base = 20ms;
  o.attempts = 3;
  Outbox box("test", o, [&](NoticeBatch& b) {
    std::lock_guard lock(mu);
    seen.push_back(b);
    cv.notify_all();
    if (seen.size() > 1) return Outbox::Outcome::delivered;
    b.reached.push_back("phone");  // one browser took it, another did not answer
    return Outbox::Outcome::retry;
  }, log);
  box.add(notice("cat", "r1", 1));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return seen.size() == 2; }));
    EXPECT_TRUE(seen[0].reached.empty());
    EXPECT_EQ(seen[1].reached, std::vector<std::string>{"phone"});
    EXPECT_EQ(seen[1].id, seen[0].id);
  }
  ASSERT_TRUE(eventually([&] { return box.stats().delivered == 1; }));
}

TEST(Outbox, SendersDeliverOtherKeysAtOnceButNeverOneKeyTwice) {
  Log log(Level::error);
  Recorder r;
  r.held = true;
  OutboxOptions o;
  o.window = 0ms;
  o.senders = 2;
  Outbox box("test", o, r.deliver(), log);
  box.add(notice("cat", "r1", 1));
  ASSERT_TRUE(r.wait_for(1)) << "one sender holds cat's";
  // Due first: cat's second message; the free sender must pass it (cat's
  // first is out) and take dan's.
  box.add(notice("cat", "r1", 2));
  box.add(notice("dan", "r1", 3));
  ASSERT_TRUE(r.wait_for(2)) << "a second sender works while the first is held";
  {
    std::lock_guard lock(r.mu);
    EXPECT_EQ(r.got[1].latest.user_id, "dan");
  }
  r.release();
  ASSERT_TRUE(r.wait_for(3));
  ASSERT_TRUE(eventually([&] { return box.stats().delivered == 3; }));
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.got[2].latest.user_id, "cat");
  EXPECT_EQ(r.got[2].latest.seq, 2);
}

// Every sender waits for the same due entry; the first to wake takes it,
// and the others must not read what it took (ASan caught a wait on the
// entry's own time point).
TEST(Outbox, SendersWaitingForOneEntryTakeEachOnce) {
  Log log(Level::error);
  Recorder r;
  OutboxOptions o;
  o.window = 30ms;
  o.senders = 4;
  Outbox box("test", o, r.deliver(), log);
  for (int i = 0; i < 20; ++i) {
    std::string user = "u";
    user += std::to_string(i);
    box.add(notice(user, "r1", i));
  }
  ASSERT_TRUE(r.wait_for(20));
  ASSERT_TRUE(eventually([&] { return box.stats().delivered == 20; }));
  std::lock_guard lock(r.mu);
  std::set<std::string> users;
  for (const auto& b : r.got) users.insert(b.latest.user_id);
  EXPECT_EQ(r.got.size(), 20u);
  EXPECT_EQ(users.size(), 20u);
}

TEST(Outbox, PastTheBoundTheOldestIsDropped) {
  Log log(Level::error);
  Recorder r;
  r.held = true;
  OutboxOptions o;
  o.window = 0ms;
  o.max_queue = 2;
  Outbox box("test", o, r.deliver(), log);
  box.add(notice("busy", "r0", 1));
  ASSERT_TRUE(r.wait_for(1)) << "the sender is busy with it";
  for (const char* user : {"u1", "u2", "u3", "u4"}) box.add(notice(user, "r1", 1));
  EXPECT_EQ(box.stats().dropped, 2u);
  EXPECT_EQ(box.stats().queued, 2u);
  r.release();
  ASSERT_TRUE(r.wait_for(3));
  ASSERT_TRUE(eventually([&] { return box.stats().delivered == 3; }));
  std::lock_guard lock(r.mu);
  std::vector<std::string> users;
  for (const auto& b : r.got) users.push_back(b.latest.user_id);
  std::sort(users.begin() + 1, users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"busy", "u3", "u4"}));
}

}  // namespace
}  // namespace chatd
