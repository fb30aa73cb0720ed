// Store conformance, part 2: messages. Append (seq, ids, idempotency,
// replyTo), edit/delete rules, history pagination in every direction,
// search, and seq under many appends in flight. Every case runs against
// every backend. Test thread only.
#include <gtest/gtest.h>

#include <set>

#include "store_conformance.h"

namespace realtime::testing {
namespace {

class MessageConformance : public StoreConformance {
 protected:
  void SetUp() override {
    StoreConformance::SetUp();
    ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob"})).ok());
    ASSERT_TRUE(s().create_room(make_room("r2", {"ann", "bob"})).ok());
  }
  // Fills r1 with messages "m1".."mN" (seq i has text "mi").
  void fill(int n) {
    for (int i = 1; i <= n; ++i) add("r1", i % 2 ? "ann" : "bob", cat("m", i), i);
  }
  static std::vector<std::int64_t> seqs(const HistoryPage& p) {
    std::vector<std::int64_t> out;
    for (const auto& m : p.messages) out.push_back(m.seq);
    return out;
  }
  std::vector<std::int64_t> page(std::optional<std::int64_t> before, std::optional<std::int64_t> after, int limit,
                                 bool* has_more) {
    auto p = s().history("r1", HistoryQuery{before, after, limit});
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    if (!p.ok()) return {};
    *has_more = p->has_more;
    return seqs(*p);
  }
  std::vector<std::string> found(const std::string& q, int limit = 50, const std::string& room = "r1") {
    auto r = s().search(room, q, limit);
    EXPECT_TRUE(r.ok()) << "query [" << q << "]: " << r.status().to_string();
    std::vector<std::string> out;
    if (r.ok())
      for (const auto& m : *r) out.push_back(m.text);
    return out;
  }
};

using Seqs = std::vector<std::int64_t>;
using Texts = std::vector<std::string>;

TEST_P(MessageConformance, AppendAssignsSeqIdAndKeepsEveryField) {
  NewMessage n = make_msg("r1", "ann", "hello", 7);
  n.type = MessageType::file;
  n.attachment = Attachment{"https://x/f", "f.pdf", 1234, "application/pdf"};
  n.client_msg_id = "c1";
  auto a = s().append(n);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  EXPECT_FALSE(a->duplicate);
  const Message& m = a->message;
  EXPECT_FALSE(m.id.empty());
  EXPECT_EQ(m.seq, 1);
  EXPECT_EQ(m.room, "r1");
  EXPECT_EQ(m.sender_name, "Name of ann");
  EXPECT_EQ(m.sender_role, "member");
  EXPECT_EQ(m.type, MessageType::file);
  EXPECT_EQ(m.attachment, n.attachment);
  EXPECT_EQ(m.client_msg_id, "c1");
  EXPECT_EQ(m.created_at, at_ms(7));
  EXPECT_FALSE(m.edited_at.has_value());
  EXPECT_FALSE(m.deleted);
  auto got = s().get_message(m.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, m);
  const Message second = add("r1", "bob", "again");
  EXPECT_EQ(second.seq, 2);
  EXPECT_NE(second.id, m.id);
  EXPECT_EQ(add("r2", "bob", "other room").seq, 1);
}

TEST_P(MessageConformance, AppendToUnknownRoomAndGetUnknownIdAreNotFound) {
  EXPECT_EQ(s().append(make_msg("nope", "ann", "x")).status().code(), StatusCode::not_found);
  for (const char* id : {"", "x", "m0", "m-1", "m99999", "m1x", "999999999999999999999999"}) {
    EXPECT_EQ(s().get_message(id).status().code(), StatusCode::not_found) << id;
  }
}

TEST_P(MessageConformance, ClientMsgIdIsIdempotentPerSender) {
  NewMessage n = make_msg("r1", "ann", "once");
  n.client_msg_id = "k";
  auto first = s().append(n);
  ASSERT_TRUE(first.ok());
  n.text = "retry with other text";
  auto again = s().append(n);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->message, first->message);
  // Another sender may use the same clientMsgId.
  NewMessage other = make_msg("r1", "bob", "mine");
  other.client_msg_id = "k";
  auto b = s().append(other);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->duplicate);
  EXPECT_EQ(b->message.seq, 2);
  // The same sender in another room: conflict, and nothing stored.
  NewMessage elsewhere = make_msg("r2", "ann", "x");
  elsewhere.client_msg_id = "k";
  EXPECT_EQ(s().append(elsewhere).status().code(), StatusCode::conflict);
  EXPECT_EQ(s().read_state("r2", "bob")->last_seq, 0);
  EXPECT_EQ(add("r1", "ann", "next").seq, 3);  // no gap after the duplicate
}

TEST_P(MessageConformance, ClientMsgIdDuplicatesInFlightTogether) {
  // Both appends are queued before either completes: one message.
  std::vector<Result<Appended>> out;
  for (int i = 0; i < 2; ++i) {
    NewMessage n = make_msg("r1", "ann", "x");
    n.client_msg_id = "same";
    store_->append(n, [&](Result<Appended> r) { out.push_back(std::move(r)); });
  }
  ASSERT_TRUE(loop_.run_until([&] { return out.size() == 2; }, kWaitLimit));
  ASSERT_TRUE(out[0].ok() && out[1].ok());
  EXPECT_FALSE(out[0]->duplicate);
  EXPECT_TRUE(out[1]->duplicate);
  EXPECT_EQ(out[0]->message.id, out[1]->message.id);
}

TEST_P(MessageConformance, ReplyToMustNameAMessageOfTheRoom) {
  const Message target = add("r1", "ann", "question");
  const Message elsewhere = add("r2", "ann", "other");
  NewMessage reply = make_msg("r1", "bob", "answer");
  reply.reply_to = target.id;
  auto ok = s().append(reply);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->message.reply_to, target.id);
  EXPECT_EQ(s().get_message(ok->message.id)->reply_to, target.id);
  reply.reply_to = elsewhere.id;
  EXPECT_EQ(s().append(reply).status().code(), StatusCode::bad_request);
  reply.reply_to = "m424242";
  EXPECT_EQ(s().append(reply).status().code(), StatusCode::bad_request);
  reply.reply_to = "garbage";
  EXPECT_EQ(s().append(reply).status().code(), StatusCode::bad_request);
  EXPECT_EQ(add("r1", "ann", "after").seq, 3);
}

TEST_P(MessageConformance, EditRules) {
  const Message m = add("r1", "ann", "draft");
  auto e = s().edit_message(m.id, "final", at_ms(50));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->text, "final");
  EXPECT_EQ(e->edited_at, at_ms(50));
  EXPECT_EQ(e->seq, m.seq);
  EXPECT_EQ(*s().get_message(m.id), *e);
  EXPECT_EQ(s().edit_message("m777777", "x", at_ms(1)).status().code(), StatusCode::not_found);
  ASSERT_TRUE(s().delete_message(m.id).ok());
  EXPECT_EQ(s().edit_message(m.id, "zombie", at_ms(60)).status().code(), StatusCode::not_found);
}

TEST_P(MessageConformance, DeleteIsSoftAndRepeatable) {
  NewMessage n = make_msg("r1", "ann", "secret");
  n.type = MessageType::image;
  n.attachment = Attachment{"https://x/i.png", "i.png", 10, "image/png"};
  auto a = s().append(n);
  ASSERT_TRUE(a.ok());
  auto d = s().delete_message(a->message.id);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->deleted);
  EXPECT_EQ(d->text, "");
  EXPECT_FALSE(d->attachment.has_value());
  EXPECT_EQ(d->seq, 1);
  auto again = s().delete_message(a->message.id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *d);
  EXPECT_EQ(s().delete_message("m888888").status().code(), StatusCode::not_found);
  auto h = s().history("r1", {});
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->messages.size(), 1u);
  EXPECT_TRUE(h->messages[0].deleted);
}

TEST_P(MessageConformance, HistoryWithoutCursorIsTheNewestPage) {
  bool more = false;
  EXPECT_EQ(page({}, {}, 50, &more), Seqs{});
  EXPECT_FALSE(more);
  fill(10);
  EXPECT_EQ(page({}, {}, 3, &more), (Seqs{8, 9, 10}));
  EXPECT_TRUE(more);
  EXPECT_EQ(page({}, {}, 10, &more).size(), 10u);
  EXPECT_FALSE(more);
  EXPECT_EQ(page({}, {}, 200, &more).size(), 10u);
  EXPECT_FALSE(more);
  EXPECT_EQ(page({}, {}, 1, &more), (Seqs{10}));
  EXPECT_TRUE(more);
  auto full = s().history("r1", {});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->messages.front().text, "m1");
  EXPECT_EQ(s().history("nope", {}).status().code(), StatusCode::not_found);
}

TEST_P(MessageConformance, HistoryBeforeTravelsBackward) {
  fill(10);
  bool more = false;
  EXPECT_EQ(page(5, {}, 2, &more), (Seqs{3, 4}));
  EXPECT_TRUE(more);
  EXPECT_EQ(page(3, {}, 2, &more), (Seqs{1, 2}));
  EXPECT_FALSE(more);
  EXPECT_EQ(page(3, {}, 5, &more), (Seqs{1, 2}));
  EXPECT_FALSE(more);
  EXPECT_EQ(page(1, {}, 5, &more), Seqs{});
  EXPECT_FALSE(more);
  EXPECT_EQ(page(0, {}, 5, &more), Seqs{});
  EXPECT_EQ(page(100, {}, 2, &more), (Seqs{9, 10}));
  EXPECT_TRUE(more);
}

TEST_P(MessageConformance, HistoryAfterTravelsForward) {
  fill(10);
  bool more = false;
  EXPECT_EQ(page({}, 0, 3, &more), (Seqs{1, 2, 3}));
  EXPECT_TRUE(more);
  EXPECT_EQ(page({}, 7, 2, &more), (Seqs{8, 9}));
  EXPECT_TRUE(more);
  EXPECT_EQ(page({}, 8, 2, &more), (Seqs{9, 10}));
  EXPECT_FALSE(more);
  EXPECT_EQ(page({}, 8, 50, &more), (Seqs{9, 10}));
  EXPECT_FALSE(more);
  EXPECT_EQ(page({}, 10, 5, &more), Seqs{});
  EXPECT_FALSE(more);
  EXPECT_EQ(page({}, 99, 5, &more), Seqs{});
}

TEST_P(MessageConformance, HistoryWithBothCursorsIsAWindowFromItsOldestEnd) {
  fill(10);
  bool more = false;
  EXPECT_EQ(page(9, 2, 3, &more), (Seqs{3, 4, 5}));
  EXPECT_TRUE(more);
  EXPECT_EQ(page(9, 2, 6, &more), (Seqs{3, 4, 5, 6, 7, 8}));
  EXPECT_FALSE(more);
  EXPECT_EQ(page(9, 2, 50, &more), (Seqs{3, 4, 5, 6, 7, 8}));
  EXPECT_FALSE(more);
  EXPECT_EQ(page(4, 3, 5, &more), Seqs{});
  EXPECT_FALSE(more);
  EXPECT_EQ(page(3, 5, 5, &more), Seqs{});
  EXPECT_EQ(page(100, 8, 1, &more), (Seqs{9}));
  EXPECT_TRUE(more);
}

TEST_P(MessageConformance, ManyAppendsInFlightGetGaplessSeqInCallOrder) {
  // Every append is issued before the first completes; the writer sees
  // them as one stream. Completions must come back in call order with
  // seq 1..N, and rooms must not interfere.
  constexpr int kCount = 3000;
  std::vector<std::int64_t> r1_seqs, r2_seqs;
  int failures = 0;
  for (int i = 0; i < kCount; ++i) {
    const std::string room = i % 3 == 0 ? "r2" : "r1";
    auto* sink = room == "r1" ? &r1_seqs : &r2_seqs;
    store_->append(make_msg(room, i % 2 ? "ann" : "bob", cat("n", i)),
                   [sink, &failures](Result<Appended> r) {
                     if (r.ok()) sink->push_back(r->message.seq); else ++failures;
                   });
  }
  ASSERT_TRUE(loop_.run_until([&] { return r1_seqs.size() + r2_seqs.size() + failures == kCount; }, kWaitLimit));
  EXPECT_EQ(failures, 0);
  for (std::size_t i = 0; i < r1_seqs.size(); ++i) ASSERT_EQ(r1_seqs[i], static_cast<std::int64_t>(i + 1));
  for (std::size_t i = 0; i < r2_seqs.size(); ++i) ASSERT_EQ(r2_seqs[i], static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(s().read_state("r1", "x")->last_seq, static_cast<std::int64_t>(r1_seqs.size()));
  bool more = false;
  EXPECT_EQ(page({}, 1999, 200, &more).front(), 2000);
}

TEST_P(MessageConformance, SearchMatchesWordPrefixesCaseInsensitively) {
  add("r1", "ann", "Hello World");
  add("r1", "bob", "help is on the way");
  add("r1", "ann", "unhelpful remark");
  add("r2", "ann", "hello from the other room");
  EXPECT_EQ(found("hel"), (Texts{"help is on the way", "Hello World"}));
  EXPECT_EQ(found("HELLO"), (Texts{"Hello World"}));
  EXPECT_EQ(found("wor hel"), (Texts{"Hello World"}));
  EXPECT_EQ(found("  world   hello "), (Texts{"Hello World"}));
  EXPECT_EQ(found("hel", 1), (Texts{"help is on the way"}));
  EXPECT_EQ(found("lpful"), Texts{});
  EXPECT_EQ(found("hello missing"), Texts{});
  EXPECT_EQ(found(""), Texts{});
  EXPECT_EQ(found("hello", 50, "r2"), (Texts{"hello from the other room"}));
  EXPECT_EQ(s().search("nope", "x", 5).status().code(), StatusCode::not_found);
}

TEST_P(MessageConformance, SearchTreatsNonAsciiBytesAsWordCharacters) {
  add("r1", "ann", "Café crème");
  add("r1", "ann", "naïve 🙂smile");
  EXPECT_EQ(found("caf"), (Texts{"Café crème"}));
  EXPECT_EQ(found("crè café"), (Texts{"Café crème"}));
  EXPECT_EQ(found("NAï"), (Texts{"naïve 🙂smile"}));  // ASCII case folds
  EXPECT_EQ(found("🙂"), (Texts{"naïve 🙂smile"}));
  EXPECT_EQ(found("smile"), Texts{});  // the emoji is part of the word
}

TEST_P(MessageConformance, SearchNeverMatchesDeletedAndFollowsEdits) {
  const Message a = add("r1", "ann", "alpha beta");
  const Message b = add("r1", "ann", "alpha gamma");
  ASSERT_TRUE(s().delete_message(a.id).ok());
  EXPECT_EQ(found("alpha"), (Texts{"alpha gamma"}));
  EXPECT_EQ(found("beta"), Texts{});
  ASSERT_TRUE(s().edit_message(b.id, "delta", at_ms(9)).ok());
  EXPECT_EQ(found("alpha"), Texts{});
  EXPECT_EQ(found("delta"), (Texts{"delta"}));
  ASSERT_TRUE(s().delete_message(b.id).ok());
  EXPECT_EQ(found("delta"), Texts{});
}

TEST_P(MessageConformance, SearchStaysInItsRoomWhateverTheWordsLookLike) {
  // Rooms r3..r12 after r1 and r2: room ids and words made of digits run
  // into each other if a backend scopes its index by gluing them together.
  for (int i = 3; i <= 12; ++i) ASSERT_TRUE(s().create_room(make_room(cat("r", i), {"ann"})).ok());
  add("r1", "ann", "23 skidoo");
  add("r12", "ann", "3 little pigs");
  add("r2", "ann", "123 go");
  EXPECT_EQ(found("3", 50, "r12"), (Texts{"3 little pigs"}));
  EXPECT_EQ(found("23", 50, "r1"), (Texts{"23 skidoo"}));
  EXPECT_EQ(found("3", 50, "r1"), Texts{});
  EXPECT_EQ(found("123", 50, "r12"), Texts{});
  EXPECT_EQ(found("1", 50, "r2"), (Texts{"123 go"}));
  EXPECT_EQ(found("2", 50, "r2"), Texts{});
}

TEST_P(MessageConformance, SearchTreatsQuerySyntaxAsPlainText) {
  add("r1", "ann", "near the end: AND OR NOT text");
  add("r1", "ann", "quote \"me\" (maybe) col:value");
  for (const char* q : {"\"", "\"\"", "*", "NEAR(", "NEAR(a b)", "AND", "OR NOT", "text:",
                        "^near", "-near", "(", ")", "{a b}:x", "a\"b", "'", "\\", "%", "_", "near*",
                        "ne\"ar", "col:value", "\x01\x02", "\xff\xfe"}) {
    auto r = s().search("r1", q, 10);
    EXPECT_TRUE(r.ok()) << "[" << q << "] " << r.status().to_string();
  }
  EXPECT_EQ(found("\"near"), (Texts{"near the end: AND OR NOT text"}));
  EXPECT_EQ(found("AND"), (Texts{"near the end: AND OR NOT text"}));
  EXPECT_EQ(found("(maybe)"), (Texts{"quote \"me\" (maybe) col:value"}));
  EXPECT_EQ(found("col:value"), (Texts{"quote \"me\" (maybe) col:value"}));
  EXPECT_EQ(found("near*"), (Texts{"near the end: AND OR NOT text"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, MessageConformance, ::testing::ValuesIn(all_backends()), backend_name);

}  // namespace
}  // namespace realtime::testing
