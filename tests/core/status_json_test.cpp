// realtime/status_json.h: the error and ack shapes that socket acks and
// chatd's REST answers share.
#include "realtime/status_json.h"

#include <gtest/gtest.h>

namespace realtime {
namespace {

TEST(StatusJson, ErrorJsonHasCodeAndMessage) {
  EXPECT_EQ(error_json(Status::rate_limited("slow down")).dump(), R"({"code":"rate_limited","message":"slow down"})");
}

TEST(StatusJson, OkAckPutsOkFirstThenTheFields) {
  EXPECT_EQ(ok_ack(Json::object({{"room", "r1"}, {"seq", 3}})).dump(), R"({"ok":true,"room":"r1","seq":3})");
  EXPECT_EQ(ok_ack(Json()).dump(), R"({"ok":true})");
  EXPECT_EQ(ok_ack(Json::array({1})).dump(), R"({"ok":true})");
}

TEST(StatusJson, FailedAckWrapsTheError) {
  EXPECT_EQ(failed_ack(Status::forbidden("not a member")).dump(),
            R"({"ok":false,"error":{"code":"forbidden","message":"not a member"}})");
}

TEST(StatusJson, EveryCodeHasItsHttpStatus) {
  EXPECT_EQ(http_status(StatusCode::ok), 200);
  EXPECT_EQ(http_status(StatusCode::bad_request), 400);
  EXPECT_EQ(http_status(StatusCode::unauthorized), 401);
  EXPECT_EQ(http_status(StatusCode::forbidden), 403);
  EXPECT_EQ(http_status(StatusCode::not_found), 404);
  EXPECT_EQ(http_status(StatusCode::peer_not_found), 404);
  EXPECT_EQ(http_status(StatusCode::conflict), 409);
  EXPECT_EQ(http_status(StatusCode::room_ended), 409);
  EXPECT_EQ(http_status(StatusCode::payload_too_large), 413);
  EXPECT_EQ(http_status(StatusCode::rate_limited), 429);
  EXPECT_EQ(http_status(StatusCode::internal), 500);
  EXPECT_EQ(http_status(StatusCode::unavailable), 503);
}

}  // namespace
}  // namespace realtime
