// The PostgreSQL AttachmentStore against a throwaway server (pg_backend.h):
// bytes of every value round-trip; the quota holds across two store
// instances (two chatd nodes) putting at once; refs (another room, unknown
// file, the refs bound, settling, a retry's duplicate); a file goes with
// its last ref and its size leaves the owner's usage; the unclaimed sweep
// run by two instances at once removes each file once; add_ref racing the
// sweep never leaves a ref to a removed file; the pending-bytes bound.
// Test thread only (it is also the loop thread).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "pg_backend.h"
#include "realtime/postgres_attachment_store.h"
#include "store_test_util.h"

namespace realtime::testing {
namespace {

class PgAttachments : public ::testing::Test {
 protected:
  void SetUp() override { opts_.pg = pg_test_options(); }
  void TearDown() override {
    for (auto& s : stores_) s->close();
    loop_.run_until_idle();
  }
  AttachmentStore& open(PostgresAttachmentStoreOptions o) {
    auto s = open_postgres_attachment_store(o, loop_);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (!s.ok()) throw std::runtime_error(s.status().to_string());
    stores_.push_back(std::move(*s));
    return *stores_.back();
  }
  AttachmentStore& open() { return open(opts_); }

  static AttachmentRecord record(const std::string& id, const std::string& owner, std::uint64_t size,
                                 std::int64_t created = 1000, const std::string& room = "r1") {
    return AttachmentRecord{id, room, owner, "f.bin", "application/octet-stream", size, created};
  }
  Status put(AttachmentStore& s, AttachmentRecord rec, std::uint64_t quota, char fill = 'x') {
    std::string bytes(rec.size, fill);
    return await_status(loop_, [&](StatusCompletion d) { s.put(std::move(rec), std::move(bytes), quota, d); });
  }
  Result<AttachmentRecord> get(AttachmentStore& s, const std::string& id) {
    return await<AttachmentRecord>(loop_, [&](Completion<AttachmentRecord> d) { s.get(id, d); });
  }
  std::uint64_t usage(AttachmentStore& s, const std::string& owner) {
    auto u = await<std::uint64_t>(loop_, [&](Completion<std::uint64_t> d) { s.usage(owner, d); });
    EXPECT_TRUE(u.ok()) << u.status().to_string();
    return u.ok() ? *u : ~0ull;
  }
  Status add_ref(AttachmentStore& s, const std::string& id, const std::string& room, const std::string& sender,
                 std::int64_t at, std::size_t max = 1000) {
    return await_status(loop_, [&](StatusCompletion d) { s.add_ref(id, room, sender, at, max, d); });
  }
  Status settle(AttachmentStore& s, const std::string& id, const std::string& sender, std::int64_t at,
                const std::string& msg) {
    return await_status(loop_, [&](StatusCompletion d) { s.settle_ref(id, sender, at, msg, d); });
  }
  Status unref(AttachmentStore& s, const std::string& id, std::vector<std::string> msgs) {
    return await_status(loop_, [&](StatusCompletion d) { s.remove_refs(id, msgs, d); });
  }
  std::size_t unclaimed(AttachmentStore& s, std::int64_t before, std::size_t limit = 1000) {
    auto n = await<std::size_t>(loop_, [&](Completion<std::size_t> d) { s.remove_unclaimed(before, limit, d); });
    EXPECT_TRUE(n.ok()) << n.status().to_string();
    return n.ok() ? *n : 0;
  }

  InProcessTransport loop_;
  PostgresAttachmentStoreOptions opts_;
  std::vector<std::unique_ptr<AttachmentStore>> stores_;
};

TEST_F(PgAttachments, BytesOfEveryValueAndTheMetadataRoundTrip) {
  AttachmentStore& s = open();
  std::string bytes;
  for (int i = 0; i < 3 * 256; ++i) bytes.push_back(static_cast<char>(i % 256));
  AttachmentRecord rec{"id1", "room-1", "ann", "naïve.bin", "image/png", bytes.size(), 1234};
  ASSERT_TRUE(await_status(loop_, [&](StatusCompletion d) { s.put(rec, bytes, 0, d); }).ok());
  auto got = get(s, "id1");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->room, "room-1");
  EXPECT_EQ(got->owner, "ann");
  EXPECT_EQ(got->name, "naïve.bin");
  EXPECT_EQ(got->mime, "image/png");
  EXPECT_EQ(got->size, bytes.size());
  EXPECT_EQ(got->created, 1234);
  auto read = await<std::string>(loop_, [&](Completion<std::string> d) { s.read("id1", d); });
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(*read, bytes);
  EXPECT_EQ(get(s, "nope").status().code(), StatusCode::not_found);
  EXPECT_EQ(await<std::string>(loop_, [&](Completion<std::string> d) { s.read("nope", d); }).status().code(),
            StatusCode::not_found);
  // The same id again: refused, and the owner's usage is not counted twice.
  EXPECT_EQ(put(s, record("id1", "ann", 10), 0).code(), StatusCode::conflict);
  EXPECT_EQ(usage(s, "ann"), bytes.size());
  // A name PostgreSQL cannot hold.
  AttachmentRecord bad = record("id2", "ann", 1);
  bad.name = std::string("a\0b", 3);
  EXPECT_EQ(put(s, bad, 0).code(), StatusCode::bad_request);
}

TEST_F(PgAttachments, QuotaHoldsAcrossTwoInstancesPuttingAtOnce) {
  AttachmentStore& a = open();
  AttachmentStore& b = open();
  ASSERT_TRUE(put(a, record("a1", "ann", 600), 1000).ok());
  EXPECT_EQ(put(b, record("b1", "ann", 600), 1000).code(), StatusCode::payload_too_large) << "counted on the other node";
  EXPECT_TRUE(put(b, record("b2", "ann", 400), 1000).ok()) << "exactly at the quota";
  EXPECT_EQ(usage(a, "ann"), 1000u);
  EXPECT_TRUE(put(b, record("b3", "bob", 600), 1000).ok()) << "quotas are per owner";
  EXPECT_TRUE(put(b, record("s1", "", 5000), 1000).ok()) << "the service has no quota";
  EXPECT_TRUE(put(b, record("c1", "cy", 5000), 0).ok()) << "0: no quota";

  // 40 puts of 100 bytes at once through both instances against 1000:
  // exactly 10 are stored.
  int done = 0, stored = 0, refused = 0;
  for (int i = 0; i < 40; ++i) {
    AttachmentStore& s = i % 2 == 0 ? a : b;
    s.put(record(cat("d", i), "dee", 100), std::string(100, 'd'), 1000, [&](Status st) {
      ++done;
      if (st.ok()) ++stored;
      else if (st.code() == StatusCode::payload_too_large) ++refused;
      else ADD_FAILURE() << st.to_string();
    });
  }
  ASSERT_TRUE(loop_.run_until([&] { return done == 40; }, kWaitLimit));
  EXPECT_EQ(stored, 10);
  EXPECT_EQ(refused, 30);
  EXPECT_EQ(usage(a, "dee"), 1000u);
}

TEST_F(PgAttachments, RefsCheckRoomAndBoundAndAFileGoesWithItsLastRef) {
  AttachmentStore& a = open();
  AttachmentStore& b = open();
  ASSERT_TRUE(put(a, record("f1", "ann", 100), 0).ok());
  EXPECT_EQ(add_ref(b, "f1", "other-room", "ann", 1).code(), StatusCode::bad_request);
  EXPECT_EQ(add_ref(b, "missing", "r1", "ann", 1).code(), StatusCode::not_found);
  // The refs bound: max 2 refs, the third is refused.
  ASSERT_TRUE(add_ref(b, "f1", "r1", "ann", 1, 2).ok());
  ASSERT_TRUE(add_ref(a, "f1", "r1", "bob", 2, 2).ok());
  EXPECT_EQ(add_ref(a, "f1", "r1", "cy", 3, 2).code(), StatusCode::bad_request);
  // Settled on the other instance: one names m1, one was a retry of m1.
  ASSERT_TRUE(settle(a, "f1", "ann", 1, "m1").ok());
  ASSERT_TRUE(settle(b, "f1", "bob", 2, "m1").ok());
  auto refs = await<std::vector<AttachmentMessageRef>>(
      loop_, [&](Completion<std::vector<AttachmentMessageRef>> d) { b.message_refs(0, 10, d); });
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].msg, "m1");
  // The freed slot takes a new ref; settling it as not stored drops it.
  ASSERT_TRUE(add_ref(a, "f1", "r1", "cy", 3, 2).ok());
  ASSERT_TRUE(settle(a, "f1", "cy", 3, "").ok());
  // Another message's removal keeps the file; its last ref's takes it.
  ASSERT_TRUE(unref(b, "f1", {"m9"}).ok());
  EXPECT_TRUE(get(a, "f1").ok());
  EXPECT_EQ(unclaimed(a, 1'000'000'000'000), 0u) << "a file with a ref is claimed";
  ASSERT_TRUE(unref(b, "f1", {"m1"}).ok());
  EXPECT_EQ(get(a, "f1").status().code(), StatusCode::not_found);
  EXPECT_EQ(usage(a, "ann"), 0u);
  EXPECT_EQ(add_ref(a, "f1", "r1", "ann", 4).code(), StatusCode::not_found);
}

TEST_F(PgAttachments, PendingRefsAreListedOldestFirstUntilSettled) {
  AttachmentStore& s = open();
  ASSERT_TRUE(put(s, record("f1", "ann", 10), 0).ok());
  ASSERT_TRUE(add_ref(s, "f1", "r1", "ann", 500).ok());
  ASSERT_TRUE(add_ref(s, "f1", "r1", "bob", 100).ok());
  ASSERT_TRUE(add_ref(s, "f1", "r1", "cy", 900).ok());
  auto pending = await<std::vector<PendingAttachmentRef>>(
      loop_, [&](Completion<std::vector<PendingAttachmentRef>> d) { s.pending_refs(600, 10, d); });
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u) << "only those before the time given";
  EXPECT_EQ((*pending)[0].sender, "bob");
  EXPECT_EQ((*pending)[0].room, "r1");
  EXPECT_EQ((*pending)[1].sender, "ann");
  pending = await<std::vector<PendingAttachmentRef>>(
      loop_, [&](Completion<std::vector<PendingAttachmentRef>> d) { s.pending_refs(600, 1, d); });
  ASSERT_EQ(pending->size(), 1u) << "the limit";
  EXPECT_EQ((*pending)[0].sender, "bob");
  ASSERT_TRUE(settle(s, "f1", "bob", 100, "m2").ok());
  pending = await<std::vector<PendingAttachmentRef>>(
      loop_, [&](Completion<std::vector<PendingAttachmentRef>> d) { s.pending_refs(600, 10, d); });
  ASSERT_EQ(pending->size(), 1u);
  // Refs to stored messages, a page at a time from a cursor.
  ASSERT_TRUE(settle(s, "f1", "ann", 500, "m1").ok());
  ASSERT_TRUE(settle(s, "f1", "cy", 900, "m3").ok());
  std::vector<std::string> seen;
  std::int64_t cursor = 0;
  for (int page = 0; page < 5; ++page) {
    auto refs = await<std::vector<AttachmentMessageRef>>(
        loop_, [&](Completion<std::vector<AttachmentMessageRef>> d) { s.message_refs(cursor, 2, d); });
    ASSERT_TRUE(refs.ok());
    ASSERT_LE(refs->size(), 2u);
    if (refs->empty()) break;
    for (const auto& r : *refs) seen.push_back(r.msg);
    cursor = refs->back().cursor;
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"m1", "m2", "m3"}));
}

TEST_F(PgAttachments, UnclaimedSweepByTwoInstancesAtOnceRemovesEachFileOnce) {
  AttachmentStore& a = open();
  AttachmentStore& b = open();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(put(a, record(cat("old", i), "ann", 10, 1000), 0).ok());
  ASSERT_TRUE(put(a, record("young", "ann", 10, 5000), 0).ok());
  ASSERT_TRUE(put(a, record("used", "ann", 10, 1000), 0).ok());
  ASSERT_TRUE(add_ref(b, "used", "r1", "ann", 1).ok());
  std::size_t removed = 0;
  int done = 0;
  for (AttachmentStore* s : {&a, &b, &a, &b}) {
    s->remove_unclaimed(2000, 1000, [&](Result<std::size_t> n) {
      ASSERT_TRUE(n.ok()) << n.status().to_string();
      removed += *n;
      ++done;
    });
  }
  ASSERT_TRUE(loop_.run_until([&] { return done == 4; }, kWaitLimit));
  EXPECT_EQ(removed, 30u);
  EXPECT_EQ(usage(a, "ann"), 20u) << "each removal counted once";
  EXPECT_TRUE(get(b, "young").ok());
  EXPECT_TRUE(get(b, "used").ok());
  // The limit: at most that many a time.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(put(a, record(cat("more", i), "bob", 1, 1000), 0).ok());
  EXPECT_EQ(unclaimed(b, 2000, 2), 2u);
  EXPECT_EQ(unclaimed(b, 2000, 10), 3u);
  // A pending ref settled as not stored leaves the file unclaimed again.
  ASSERT_TRUE(settle(a, "used", "ann", 1, "").ok());
  EXPECT_EQ(unclaimed(b, 2000), 1u);
}

// Every node sweeping while every node sends: a ref that was taken always
// has its file; a file that went always refused the ref.
TEST_F(PgAttachments, AddRefRacingTheSweepNeverLeavesARefToARemovedFile) {
  AttachmentStore& a = open();
  AttachmentStore& b = open();
  constexpr int kFiles = 60;
  for (int i = 0; i < kFiles; ++i) ASSERT_TRUE(put(a, record(cat("f", i), "ann", 10, 1000), 0).ok());
  std::vector<std::optional<Status>> refs(kFiles);
  int sweeps = 0;
  for (int i = 0; i < kFiles; ++i) {
    b.add_ref(cat("f", i), "r1", "ann", i, 1000, [&refs, i](Status s) { refs[static_cast<std::size_t>(i)] = s; });
    if (i % 10 == 0) a.remove_unclaimed(2000, 5, [&](Result<std::size_t>) { ++sweeps; });
  }
  ASSERT_TRUE(loop_.run_until([&] {
    return sweeps == kFiles / 10 && std::all_of(refs.begin(), refs.end(), [](auto& r) { return r.has_value(); });
  }, kWaitLimit));
  (void)unclaimed(a, 2000);  // whatever is left unclaimed goes now
  int kept = 0, gone = 0;
  for (int i = 0; i < kFiles; ++i) {
    const Status& r = *refs[static_cast<std::size_t>(i)];
    const bool exists = get(a, cat("f", i)).ok();
    if (r.ok()) {
      EXPECT_TRUE(exists) << "f" << i << ": the ref was taken, the file must stay";
      ++kept;
    } else {
      EXPECT_EQ(r.code(), StatusCode::not_found) << r.to_string();
      EXPECT_FALSE(exists);
      ++gone;
    }
  }
  EXPECT_EQ(kept + gone, kFiles);
  EXPECT_EQ(usage(a, "ann"), static_cast<std::uint64_t>(kept) * 10);
}

TEST_F(PgAttachments, PutsBeyondThePendingBytesBoundFailAtOnce) {
  PostgresAttachmentStoreOptions o = opts_;
  o.max_pending_bytes = 150;
  AttachmentStore& s = open(o);
  std::optional<Status> first, second;
  s.put(record("p1", "ann", 100), std::string(100, 'a'), 0, [&](Status st) { first = st; });
  s.put(record("p2", "ann", 100), std::string(100, 'b'), 0, [&](Status st) { second = st; });
  ASSERT_TRUE(loop_.run_until([&] { return first && second; }, kWaitLimit));
  EXPECT_TRUE(first->ok()) << first->to_string();
  EXPECT_EQ(second->code(), StatusCode::unavailable);
  // Once the first completed, its bytes no longer count.
  EXPECT_TRUE(put(s, record("p3", "ann", 100), 0).ok());
}

TEST_F(PgAttachments, CallsAfterCloseCompleteWithUnavailable) {
  AttachmentStore& s = open();
  s.close();
  EXPECT_EQ(get(s, "x").status().code(), StatusCode::unavailable);
  EXPECT_EQ(put(s, record("x", "ann", 1), 0).code(), StatusCode::unavailable);
}

}  // namespace
}  // namespace realtime::testing
