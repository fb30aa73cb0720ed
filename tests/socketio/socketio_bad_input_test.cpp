// Bad input at the Socket.IO layer: each case closes the offending
// connection (or refuses it) and the server keeps serving everyone else.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "socketio/socketio_test_util.h"

namespace realtime::socketio {
namespace {

using namespace std::chrono_literals;
using testing::TestClient;

class SocketIoBadInputTest : public ::testing::Test {
 protected:
  explicit SocketIoBadInputTest(Options o = {}, InProcessTransport::Options t = {})
      : transport(t), io(transport, o) {
    io.of("/").on_connection([](Socket& s) {
      s.on("echo", [](const Json::Array& args, const Ack& ack) {
        if (ack) ack(args);
      });
    });
  }
  // A bystander still gets its ack answered.
  void expect_bystander_served(TestClient& c) {
    c.send(R"(29["echo","still here"])");
    EXPECT_EQ(c.texts(), std::vector<std::string>{R"(39["still here"])"});
  }

  InProcessTransport transport;
  Server io;
};

TEST_F(SocketIoBadInputTest, MalformedPacketsCloseOnlyTheirConnection) {
  const char* bad[] = {"abc", "2{}", R"(2abc["echo"])", "2[1]", "3[]", "0[1]", R"(4{"message":"x"})",
                       "5x-[\"e\"]", "\xff\xfe", "2[\"e\",]"};
  TestClient bystander(transport);
  bystander.connect();
  for (const char* b : bad) {
    TestClient c(transport);
    c.connect();
    c.send(b);
    c.texts();
    EXPECT_FALSE(c.is_open()) << "still open after: " << b;
    EXPECT_EQ(c.close_reason(), CloseReason::parse_error) << b;
  }
  expect_bystander_served(bystander);
  EXPECT_EQ(io.connection_count(), 1u);
}

TEST_F(SocketIoBadInputTest, MalformedBeforeConnectClosesToo) {
  TestClient c(transport);
  c.send("2{}");
  c.texts();
  EXPECT_FALSE(c.is_open());
}

TEST_F(SocketIoBadInputTest, ConnectTimeoutClosesSilentConnections) {
  TestClient silent(transport);
  TestClient prompt(transport);
  prompt.connect();
  transport.advance(44'999ms);
  EXPECT_TRUE(silent.is_open());
  transport.advance(2ms);
  transport.run_until_idle();
  EXPECT_FALSE(silent.is_open());
  EXPECT_TRUE(prompt.is_open());
  expect_bystander_served(prompt);
}

TEST_F(SocketIoBadInputTest, RefusedConnectStillTimesOut) {
  TestClient c(transport);
  c.send("0/nowhere");
  c.texts();
  transport.advance(46s);
  transport.run_until_idle();
  EXPECT_FALSE(c.is_open());
}

TEST_F(SocketIoBadInputTest, UnknownNamespaceTrafficIsIgnored) {
  TestClient c(transport);
  c.connect();
  c.send(R"(2/elsewhere,["echo"])");
  c.send(R"(3/elsewhere,1[])");
  EXPECT_TRUE(c.texts().empty());
  EXPECT_TRUE(c.is_open());
}

TEST_F(SocketIoBadInputTest, AttachmentsThatNeverArriveClose) {
  TestClient c(transport), bystander(transport);
  c.connect();
  bystander.connect();
  c.send(R"(52-["echo",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  c.send_binary("1");
  c.texts();
  transport.advance(29s);
  EXPECT_TRUE(c.is_open());
  bystander.texts();
  transport.advance(2s);
  transport.run_until_idle();
  EXPECT_FALSE(c.is_open());
  EXPECT_TRUE(bystander.is_open());
  expect_bystander_served(bystander);
}

// Regression: a connection that had not passed CONNECT (so was not
// authenticated) could make the server hold a packet's attachments.
TEST_F(SocketIoBadInputTest, BinaryPacketBeforeConnectCloses) {
  TestClient c(transport), bystander(transport);
  bystander.connect();
  c.send(R"(51-["echo",{"_placeholder":true,"num":0}])");
  c.texts();
  EXPECT_FALSE(c.is_open());
  EXPECT_EQ(c.close_reason(), CloseReason::parse_error);
  expect_bystander_served(bystander);
}

TEST_F(SocketIoBadInputTest, CompletedAttachmentsCancelTheTimer) {
  TestClient c(transport);
  c.connect();
  c.send(R"(51-1["echo",{"_placeholder":true,"num":0}])");
  c.send_binary("xyz");
  EXPECT_EQ(c.texts().size(), 2u);
  transport.advance(31s);  // connect timer also long gone: connected
  EXPECT_TRUE(c.is_open());
}

class SmallLimits : public SocketIoBadInputTest {
 protected:
  static Options opts() {
    Options o;
    o.max_attachments = 2;
    o.max_attachment_bytes = 1000;
    o.max_namespaces_per_connection = 2;
    return o;
  }
  static InProcessTransport::Options topts() {
    InProcessTransport::Options t;
    t.max_queued_bytes = 64 * 1024;
    return t;
  }
  SmallLimits() : SocketIoBadInputTest(opts(), topts()) {}
};

TEST_F(SmallLimits, TooManyAttachmentsClose) {
  TestClient c(transport);
  c.connect();
  c.send(R"(53-["echo",1])");
  c.texts();
  EXPECT_FALSE(c.is_open());
}

TEST_F(SmallLimits, OversizedAttachmentsClose) {
  TestClient c(transport), bystander(transport);
  c.connect();
  bystander.connect();
  c.send(R"(51-["echo",{"_placeholder":true,"num":0}])");
  c.send_binary(std::string(1001, 'x'));
  c.texts();
  EXPECT_FALSE(c.is_open());
  expect_bystander_served(bystander);
}

TEST_F(SmallLimits, NamespacesPerConnectionAreBounded) {
  io.of("/a");
  io.of("/b");
  TestClient c(transport);
  EXPECT_FALSE(c.connect("/").empty());
  EXPECT_FALSE(c.connect("/a").empty());
  c.send("0/b,");
  EXPECT_EQ(c.texts(), std::vector<std::string>{R"(4/b,{"message":"Too many namespaces"})"});
  EXPECT_TRUE(c.is_open());
}

TEST_F(SmallLimits, FloodOfTinyPacketsFromANonReaderCloses) {
  TestClient flooder(transport), bystander(transport);
  flooder.connect();
  bystander.connect();
  // Each asks for an ack and never reads: the answers pile up in its send
  // queue until the transport's cap closes it. Bounded: 20k packets.
  for (int i = 0; i < 20'000 && flooder.is_open(); ++i) {
    flooder.send(realtime::testing::cat("2", i, R"(["echo","x"])"));
    if (i % 1000 == 0) transport.run_until_idle();
  }
  transport.run_until_idle();
  EXPECT_FALSE(flooder.is_open());
  EXPECT_EQ(flooder.close_reason(), CloseReason::too_slow);
  expect_bystander_served(bystander);
}

TEST_F(SocketIoBadInputTest, OversizedJsonIsHandled) {
  // The transport bounds message size (maxPayload); here a large but valid
  // event passes, a deep one does not.
  TestClient c(transport);
  c.connect();
  c.send(R"(21["echo",")" + std::string(500'000, 'a') + R"("])");
  auto t = c.texts();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].size(), 500'000u + 6);
  std::string deep = R"(2["echo",)";
  for (int i = 0; i < 10'000; ++i) deep += "[";
  c.send(deep);
  c.texts();
  EXPECT_FALSE(c.is_open());
}

}  // namespace
}  // namespace realtime::socketio
