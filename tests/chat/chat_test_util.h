// Test harness for the chat service: a real socketio::Server and
// ChatService on the in-process transport, the memory store (behind a
// HoldingStore that passes everything through until told to hold), a manual
// clock, and clients that speak Socket.IO packets. The test thread is the
// loop thread; time moves only through advance().
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "holding_store.h"
#include "test_util.h"
#include "protocol/socketio_packet.h"
#include "realtime/chat_service.h"
#include "realtime/in_process_transport.h"
#include "realtime/jwt_authenticator.h"
#include "realtime/memory_store.h"
#include "realtime/socketio_server.h"

namespace realtime::testing {

class ChatClient {
 public:
  ChatClient(InProcessTransport& t, const std::string& token) : t_(t), conn_(t.connect()) {
    t_.run_until_idle();
    conn_->send(cat("0", Json::object({{"token", token}}).dump()));
    t_.run_until([&] { pump(); return !sid.empty() || refused.has_value(); }, std::chrono::seconds(5));
  }

  // Sends an event with an ack and runs the loop until the ack arrives.
  // Returns the ack's first argument (null if it never came).
  Json call(const std::string& event, Json payload) { return wait_ack(send_call(event, std::move(payload))); }
  // Sends an event with an ack and returns at once with the ack's id.
  std::uint64_t send_call(const std::string& event, Json payload) {
    const std::uint64_t id = next_id_++;
    send_event(event, std::move(payload), id);
    return id;
  }
  // Runs the loop until ack `id` arrives; its first argument, or null.
  Json wait_ack(std::uint64_t id) {
    t_.run_until([&] { pump(); return acks_.contains(id); }, std::chrono::seconds(5));
    auto it = acks_.find(id);
    if (it == acks_.end()) return Json();
    Json out = std::move(it->second);
    acks_.erase(it);
    return out;
  }
  // Sends an event without an ack.
  void emit(const std::string& event, Json payload) { send_event(event, std::move(payload), std::nullopt); }
  void send_raw(std::string text) { conn_->send(std::move(text)); }
  // Sends a hand-written EVENT packet that asks for ack `id` and waits for it.
  Json raw_call(const std::string& packet, std::uint64_t id) {
    conn_->send(packet);
    t_.run_until([&] { pump(); return acks_.contains(id); }, std::chrono::seconds(5));
    auto it = acks_.find(id);
    return it == acks_.end() ? Json() : it->second;
  }

  // Runs the loop and returns (and forgets) the received events named `name`.
  std::vector<Json> take(const std::string& name) {
    t_.run_until_idle();
    pump();
    std::vector<Json> out;
    for (auto it = events.begin(); it != events.end();) {
      if (it->first == name) {
        out.push_back(std::move(it->second));
        it = events.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  // Names of all events received so far, in order (keeps them).
  std::vector<std::string> names() {
    t_.run_until_idle();
    pump();
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.first);
    return out;
  }
  void clear() {
    t_.run_until_idle();
    pump();
    events.clear();
  }
  bool is_open() const { return conn_->is_open(); }
  void close() {
    conn_->close();
    t_.run_until_idle();
  }

  std::string sid;
  std::optional<Json> refused;  // CONNECT_ERROR payload
  std::deque<std::pair<std::string, Json>> events;

 private:
  void send_event(const std::string& event, Json payload, std::optional<std::uint64_t> id) {
    protocol::socketio::Packet p;
    p.type = protocol::socketio::PacketType::event;
    p.id = id;
    p.data = Json::array({Json(event), std::move(payload)});
    for (auto& f : protocol::socketio::encode(p)) conn_->send(std::string(f.view()), f.binary);
  }
  void pump() {
    for (const auto& f : conn_->take()) {
      auto r = decoder_.feed(f.view(), f.binary);
      ASSERT_TRUE(r.ok()) << "server sent a bad packet: " << f.view();
      if (!r->has_value()) continue;
      protocol::socketio::Packet& p = **r;
      switch (p.type) {
        case protocol::socketio::PacketType::connect: sid = p.data["sid"].as_string(); break;
        case protocol::socketio::PacketType::connect_error: refused = p.data; break;
        case protocol::socketio::PacketType::ack:
        case protocol::socketio::PacketType::binary_ack:
          acks_[*p.id] = p.data.size() ? p.data.as_array()[0] : Json();
          break;
        case protocol::socketio::PacketType::event:
        case protocol::socketio::PacketType::binary_event: {
          auto& a = p.data.as_array();
          events.emplace_back(a[0].as_string(), a.size() > 1 ? a[1] : Json());
          break;
        }
        default: break;
      }
    }
  }

  InProcessTransport& t_;
  std::shared_ptr<InProcessClient> conn_;
  protocol::socketio::Decoder decoder_{protocol::socketio::DecoderLimits{}};
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Json> acks_;
};

class ChatTest : public ::testing::Test {
 protected:
  explicit ChatTest(ChatOptions options = {}, InProcessTransport::Options transport = {})
      : transport_(transport),
        store_(std::make_unique<HoldingStore>(make_memory_store(transport_))),
        io_(transport_, {}),
        auth_(JwtOptions{"test-secret"}, clock_),
        chat_(io_.of("/"), *store_, transport_, clock_, std::move(options)) {
    io_.set_authenticator(&auth_);
  }

  std::unique_ptr<ChatClient> connect(const std::string& user, const std::string& role = "user") {
    std::string name = user;
    name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    auto c = std::make_unique<ChatClient>(transport_, auth_.sign({user, name, role}, std::chrono::hours(1)));
    EXPECT_FALSE(c->sid.empty()) << "connect as " << user << " was refused";
    return c;
  }
  // room:create through a client; returns the room id.
  std::string create_room(ChatClient& c, const std::string& kind, Json members, Json extra = Json::object()) {
    Json p = Json::object({{"kind", kind}, {"members", std::move(members)}});
    for (auto& [k, v] : extra.as_object()) p.set(k, v);
    Json ack = c.call("room:create", p);
    EXPECT_EQ(ack["ok"], Json(true)) << ack.dump();
    return ack["room"]["id"].is_string() ? ack["room"]["id"].as_string() : "";
  }
  static std::string code(const Json& ack) {
    return ack["error"]["code"].is_string() ? ack["error"]["code"].as_string() : "<none>";
  }

  InProcessTransport transport_;
  ManualClock clock_;
  std::unique_ptr<HoldingStore> store_;
  socketio::Server io_;
  JwtAuthenticator auth_;
  ChatService chat_;
};

// Ann (owner) and Bob in one group room, both joined, inboxes empty.
class RoomOfTwoTest : public ChatTest {
 protected:
  void SetUp() override {
    ann = connect("ann");
    bob = connect("bob");
    room = create_room(*ann, "group", Json::array({"bob"}));
    ann->call("room:join", Json::object({{"room", room}}));
    bob->call("room:join", Json::object({{"room", room}}));
    ann->clear();
    bob->clear();
  }
  std::unique_ptr<ChatClient> ann, bob;
  std::string room;
};

}  // namespace realtime::testing
