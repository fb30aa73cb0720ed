// CallQualityBook and the rtc:stats payload: min/avg/max per participant
// and pair, figures nobody reported stay null, the room, participant and
// pair bounds hold; parse_call_sample checks type, range and presence.
#include "chat/call_quality_book.h"

#include <gtest/gtest.h>

#include "chat/payloads.h"

namespace realtime::chat {
namespace {

const Timestamp kAt{std::chrono::milliseconds(1'700'000'000'000)};

CallSample rtt(double ms) {
  CallSample s;
  s.rtt_ms = ms;
  return s;
}

TEST(CallQualityBookTest, KeepsMinAvgMaxPerParticipantAndPair) {
  CallQualityBook book(10, 4);
  EXPECT_TRUE(book.add("r", "ann", "bob", rtt(40), kAt));
  CallSample s = rtt(60);
  s.fps = 30;
  EXPECT_TRUE(book.add("r", "ann", "bob", s, kAt));
  EXPECT_TRUE(book.add("r", "ann", "", rtt(20), kAt));
  const Json q = book.summary("r");
  ASSERT_EQ(q["participants"].size(), 1u);
  const Json& ann = q["participants"].as_array()[0];
  EXPECT_EQ(ann["userId"].as_string(), "ann");
  EXPECT_EQ(ann["reports"].as_int(), 3);
  EXPECT_EQ(ann["rttMs"]["min"].as_double(), 20);
  EXPECT_EQ(ann["rttMs"]["avg"].as_double(), 40);
  EXPECT_EQ(ann["rttMs"]["max"].as_double(), 60);
  EXPECT_EQ(ann["fps"]["avg"].as_double(), 30);
  EXPECT_TRUE(ann["lossPct"].is_null());
  ASSERT_EQ(q["pairs"].size(), 1u);
  const Json& pair = q["pairs"].as_array()[0];
  EXPECT_EQ(pair["from"].as_string(), "ann");
  EXPECT_EQ(pair["to"].as_string(), "bob");
  EXPECT_EQ(pair["reports"].as_int(), 2);
  EXPECT_EQ(book.summary("unknown")["participants"].size(), 0u);
}

TEST(CallQualityBookTest, ParticipantsAndPairsPerRoomAreBounded) {
  CallQualityBook book(10, 2);  // two users, two pairs
  EXPECT_TRUE(book.add("r", "ann", "bob", rtt(1), kAt));
  EXPECT_TRUE(book.add("r", "bob", "ann", rtt(1), kAt));
  EXPECT_FALSE(book.add("r", "cy", "", rtt(1), kAt)) << "a third user";
  EXPECT_FALSE(book.add("r", "ann", "cy", rtt(1), kAt)) << "a third pair";
  const Json q = book.summary("r");
  EXPECT_EQ(q["participants"].size(), 2u);
  EXPECT_EQ(q["pairs"].size(), 2u);
  EXPECT_EQ(q["participants"].as_array()[0]["reports"].as_int(), 2) << "ann's own figures still count";
}

TEST(CallQualityBookTest, TheLeastRecentlyReportedRoomIsForgotten) {
  CallQualityBook book(2, 4);
  book.add("a", "ann", "", rtt(1), kAt);
  book.add("b", "ann", "", rtt(1), kAt);
  book.add("a", "ann", "", rtt(1), kAt);  // a is now newer than b
  book.add("c", "ann", "", rtt(1), kAt);
  EXPECT_EQ(book.rooms(), 2u);
  EXPECT_EQ(book.summary("b")["participants"].size(), 0u);
  EXPECT_EQ(book.summary("a")["participants"].size(), 1u);
}

TEST(CallQualityBookTest, SamplesAreCheckedFieldByField) {
  EXPECT_TRUE(parse_call_sample(Json::object({{"rttMs", 0}, {"lossPct", 100}, {"fps", 240.0}})).ok());
  EXPECT_TRUE(parse_call_sample(Json::object({{"kbpsIn", nullptr}, {"kbpsOut", 1000000}})).ok());
  for (const Json& bad : {Json::object(), Json::object({{"rttMs", nullptr}}), Json::object({{"rttMs", "1"}}),
                          Json::object({{"rttMs", -0.5}}), Json::object({{"lossPct", 100.1}}),
                          Json::object({{"fps", 241}}), Json::object({{"kbpsIn", 1000000.5}})}) {
    auto r = parse_call_sample(bad);
    EXPECT_FALSE(r.ok()) << bad.dump();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::bad_request);
    }
  }
  auto ok = parse_rtc_stats(Json::object({{"room", "r1"}, {"peer", "sid1"}, {"rttMs", 12.5}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->peer, std::optional<std::string>("sid1"));
  EXPECT_EQ(ok->sample.rtt_ms, std::optional<double>(12.5));
  EXPECT_EQ(call_sample_json(ok->sample).dump(), R"({"rttMs":12.5})");
  EXPECT_FALSE(parse_rtc_stats(Json::object({{"room", "r1"}, {"peer", 3}, {"rttMs", 1}})).ok());
  EXPECT_FALSE(parse_rtc_stats(Json::object({{"rttMs", 1}})).ok());
}

}  // namespace
}  // namespace realtime::chat
