// embed_chat: the chat service inside your own program, with no network.
//
// What an embedder writes to get librealtime's chat (rooms, members,
// messages, presence) into a C++ service, built from include/realtime/
// only: the in-process transport (the event loop is this thread), the
// memory store, an Authenticator of the application's own (its session
// table), one event the application adds to the protocol, a moderation
// filter, and ChatService::call() used from application code, including
// from another thread through the loop's post(). Two clients, a tutor and
// a student, speak Socket.IO text packets to it the way socket.io-client
// would over a socket.
//
// It prints what happens and checks each outcome; it exits 1 if any check
// fails, which is what its CTest test (example.embed_chat) looks at.
// docs/embedding.md walks through it. Single-threaded but for the one
// "scheduler" thread, which touches nothing but EventLoop::post().
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "realtime/authenticator.h"
#include "realtime/chat_service.h"
#include "realtime/clock.h"
#include "realtime/in_process_transport.h"
#include "realtime/json.h"
#include "realtime/memory_store.h"
#include "realtime/random.h"
#include "realtime/socketio_server.h"
#include "realtime/status.h"

namespace {

using realtime::Json;
using realtime::Result;
using realtime::Status;

// Every outcome the example relies on goes through here.
int g_failures = 0;
void expect(bool ok, const std::string& what) {
  std::printf("  %s %s\n", ok ? "ok    " : "FAILED", what.c_str());
  if (!ok) ++g_failures;
}

// Appends its parts: "literal" + std::string trips GCC 12's -Wrestrict at -O3.
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

std::string text_of(const Json& v) { return v.is_string() ? v.as_string() : v.dump(); }

// --- The application's side: its sessions, and an Authenticator over them.

// Sessions the application already has (its login made them). Loop thread
// only: the Authenticator reads it while a client connects.
using SessionTable = std::map<std::string, realtime::Identity, std::less<>>;

// Lets a socket in when it presents a session of the table: in the
// Socket.IO CONNECT payload ({"session": "..."}, what a mobile app sends)
// or in a "session" cookie (what a browser on the same site sends). Runs on
// the loop thread and looks at memory only: an Authenticator must not block.
class SessionAuthenticator final : public realtime::Authenticator {
 public:
  explicit SessionAuthenticator(const SessionTable& sessions) : sessions_(sessions) {}

  Result<realtime::Identity> authenticate(const realtime::Handshake& handshake, const Json& auth) const override {
    std::string token = handshake.cookie("session");
    if (const Json* s = auth.find("session"); s != nullptr && s->is_string()) token = s->as_string();
    auto it = sessions_.find(token);
    if (token.empty() || it == sessions_.end()) return Status::unauthorized("no valid session");
    return it->second;
  }

 private:
  const SessionTable& sessions_;
};

// --- A client. socket.io-client would do this over a WebSocket; here the
// Socket.IO packets travel through an InProcessClient. Text packets of the
// default namespace only: "0{auth}" to connect, "2<id>[event, payload]" for
// an event that wants an ack; the server answers "0{sid}" or "4{error}",
// "3<id>[answer]" and "2[event, payload]".
class Client {
 public:
  Client(std::string name, realtime::InProcessTransport& loop, realtime::Handshake handshake, Json auth)
      : name_(std::move(name)), loop_(loop), conn_(loop.connect(std::move(handshake))) {
    loop_.run_until_idle();
    std::string packet = "0";
    if (!auth.is_null()) packet += auth.dump();
    conn_->send(std::move(packet));
    loop_.run_until([&] { pump(); return !sid_.empty() || refusal_.has_value(); }, kWait);
  }

  bool connected() const { return !sid_.empty(); }
  const std::optional<Json>& refusal() const { return refusal_; }

  // Emits `event` with an ack and runs the loop until the answer is in
  // (null if none came within kWait).
  Json call(std::string_view event, Json payload) {
    const std::uint64_t id = next_ack_++;
    std::string packet = "2";
    packet += std::to_string(id);
    packet += Json::array({Json(event), std::move(payload)}).dump();
    conn_->send(std::move(packet));
    loop_.run_until([&] { pump(); return acks_.contains(id); }, kWait);
    auto it = acks_.find(id);
    return it == acks_.end() ? Json() : it->second;
  }

  // The payloads of the events named `event` received so far (forgotten
  // once taken).
  std::vector<Json> take(std::string_view event) {
    loop_.run_until_idle();
    pump();
    std::vector<Json> out;
    std::vector<std::pair<std::string, Json>> rest;
    for (auto& [name, payload] : inbox_) {
      if (name == event) out.push_back(std::move(payload));
      else rest.emplace_back(std::move(name), std::move(payload));
    }
    inbox_ = std::move(rest);
    return out;
  }

  void close() { conn_->close(); }

 private:
  static constexpr std::chrono::seconds kWait{5};

  // Reads what the server sent: "<type>[<ack id>]<json>".
  void pump() {
    for (const realtime::Frame& frame : conn_->take()) {
      std::string_view p = frame.view();
      if (frame.binary || p.empty()) continue;
      const char type = p.front();
      p.remove_prefix(1);
      std::uint64_t id = 0;
      while (!p.empty() && p.front() >= '0' && p.front() <= '9') {
        id = id * 10 + static_cast<std::uint64_t>(p.front() - '0');
        p.remove_prefix(1);
      }
      auto data = Json::parse(p);
      if (!data.ok()) {
        std::printf("[%s] unreadable packet from the server: %s\n", name_.c_str(), data.status().to_string().c_str());
        continue;
      }
      const Json& d = *data;
      if (type == '0') sid_ = text_of(d["sid"]);
      if (type == '4') refusal_ = d;
      if (type == '3') acks_[id] = d.size() > 0 ? d.as_array()[0] : Json();
      if (type == '2' && d.size() > 0)
        inbox_.emplace_back(text_of(d.as_array()[0]), d.size() > 1 ? d.as_array()[1] : Json());
    }
  }

  std::string name_;
  realtime::InProcessTransport& loop_;
  std::shared_ptr<realtime::InProcessClient> conn_;
  std::string sid_;
  std::optional<Json> refusal_;
  std::uint64_t next_ack_ = 1;
  std::map<std::uint64_t, Json> acks_;
  std::vector<std::pair<std::string, Json>> inbox_;
};

// Runs one chat operation through call() and waits on the loop for its
// answer. The reply runs on the loop thread exactly once: inside call()
// when the payload is refused before any store work, otherwise later, from
// the store's completion. Code that calls call() must be ready for both.
Result<Json> call_and_wait(realtime::ChatService& chat, realtime::InProcessTransport& loop,
                           const realtime::Actor& actor, std::string_view event, Json payload) {
  std::optional<Result<Json>> answer;
  chat.call(actor, event, payload, [&answer](Result<Json> r) { answer = std::move(r); });
  loop.run_until([&] { return answer.has_value(); }, std::chrono::seconds(5));
  if (!answer) return Status::unavailable("no answer within 5 s");
  return std::move(*answer);
}

bool ok_ack(const Json& ack) { return ack["ok"] == Json(true); }
std::string error_code(const Json& ack) { return text_of(ack["error"]["code"]); }

}  // namespace

int main() {
  // Objects are declared in the order they depend on each other, so they
  // are destroyed in the reverse order: the chat service before the
  // Socket.IO server before the store before the transport (the loop that
  // everyone posts to goes last).
  realtime::InProcessTransport transport;
  std::unique_ptr<realtime::Store> store = realtime::make_memory_store(transport);
  realtime::SystemClock clock;

  SessionTable sessions;
  const std::string ann_session = realtime::random_token(16);
  const std::string bob_session = realtime::random_token(16);
  sessions[ann_session] = realtime::Identity{"ann", "Ann", "tutor"};
  sessions[bob_session] = realtime::Identity{"bob", "Bob", "student"};
  SessionAuthenticator auth(sessions);

  realtime::socketio::Server io(transport);
  io.set_authenticator(&auth);
  realtime::ChatOptions options;
  options.max_text_chars = 500;
  realtime::ChatService chat(io.of("/"), *store, transport, clock, options);

  // Moderation: runs on the loop for every new message, from a socket or
  // from call(), before it is stored. Refuse with a Status (the sender
  // gets it as the error), or rewrite the message and let it through.
  chat.set_message_filter([](const realtime::Identity& sender, realtime::NewMessage& m) {
    if (m.text.find("cheap essays") != std::string::npos) {
      std::printf("[filter] refused a message from %s\n", sender.user_id.c_str());
      return Status::forbidden("advertising is not allowed here");
    }
    for (std::size_t at = m.text.find("darn"); at != std::string::npos; at = m.text.find("darn", at))
      m.text.replace(at + 1, 2, "**");
    return Status{};
  });

  // An event of the application's own: a student raises a hand. The
  // room's owners (the tutor) hear of it on every tab, joined or not
  // (to_user), and everyone who has the room open sees the hand go up
  // (emit_to_room). The chat service does the rate limiting and the
  // ack/error shapes; the application asks the service itself (room:get,
  // through call()) whether the caller may see the room, so its rules are
  // the chat's rules.
  chat.add_event("hand:raise", [&](const realtime::Actor& actor, const Json& payload,
                                   realtime::ChatService::Reply reply) {
    if (!payload["room"].is_string()) return reply(Status::bad_request("room must be a string"));
    chat.call(actor, "room:get", Json::object({{"room", payload["room"]}}), [&io, &chat, actor, reply](Result<Json> found) {
      if (!found.ok()) return reply(found.status());
      const Json& room = (*found)["room"];
      const Json hand = Json::object({{"room", room["id"]}, {"userId", actor.identity.user_id}, {"name", actor.identity.name}});
      std::size_t owners = 0;
      for (const Json& m : room["members"].as_array()) {
        if (m["role"] != Json("owner")) continue;
        io.of("/").to_user(m["userId"].as_string()).emit("hand:raised", hand);
        ++owners;
      }
      const std::size_t sockets = chat.emit_to_room(room["id"].as_string(), "hand:up", hand);
      reply(Json::object({{"owners", owners}, {"sockets", sockets}}));
    });
  });

  std::puts("1. A back-office job creates the class room through call(), no socket involved");
  realtime::Actor office;
  office.service = true;  // trusted code of the application: may act for anyone
  auto created = call_and_wait(chat, transport, office, "room:create",
                               Json::object({{"kind", "group"}, {"id", "physics-101"}, {"title", "Physics 101"},
                                             {"createdBy", "ann"}, {"members", Json::array({"bob"})}}));
  expect(created.ok(), cat("room:create through call(): ", created.ok() ? std::string("ok") : created.status().to_string()));
  const std::string room = created.ok() ? text_of((*created)["room"]["id"]) : "physics-101";

  std::puts("2. Clients connect with the application's sessions");
  realtime::Handshake stranger_hs;
  Client stranger("stranger", transport, stranger_hs, Json::object({{"session", "made-up"}}));
  expect(!stranger.connected() && stranger.refusal().has_value(),
         cat("a made-up session is refused at CONNECT: ", stranger.refusal() ? stranger.refusal()->dump() : "(no answer)"));
  Client ann("ann", transport, realtime::Handshake{}, Json::object({{"session", ann_session}}));
  realtime::Handshake bob_hs;
  bob_hs.headers["cookie"] = cat("theme=dark; session=", bob_session);
  Client bob("bob", transport, bob_hs, Json());
  expect(ann.connected(), "Ann connects with her session in the CONNECT payload");
  expect(bob.connected(), "Bob connects with his session cookie");

  std::puts("3. Both join the room; Ann greets the class");
  expect(ok_ack(ann.call("room:join", Json::object({{"room", room}}))), cat("Ann joins ", room));
  expect(ok_ack(bob.call("room:join", Json::object({{"room", room}}))), cat("Bob joins ", room));
  Json sent = ann.call("message:send", Json::object({{"room", room}, {"text", "Welcome to Physics 101!"}}));
  expect(ok_ack(sent), cat("Ann's message is stored (ack ok, seq ", text_of(sent["message"]["seq"]), ")"));
  auto bob_got = bob.take("message:new");
  expect(bob_got.size() == 1 && bob_got[0]["message"]["text"] == Json("Welcome to Physics 101!"),
         "Bob receives it as message:new");
  ann.take("message:new");  // the sender hears her own message too

  std::puts("4. The moderation filter refuses one message and rewrites another");
  Json spam = bob.call("message:send", Json::object({{"room", room}, {"text", "cheap essays at example.com"}}));
  expect(!ok_ack(spam) && error_code(spam) == "forbidden", cat("advertising is refused: ", spam["error"].dump()));
  expect(ann.take("message:new").empty(), "and Ann never sees it");
  Json mild = bob.call("message:send", Json::object({{"room", room}, {"text", "this darn homework"}}));
  auto ann_got = ann.take("message:new");
  expect(ok_ack(mild) && ann_got.size() == 1 && ann_got[0]["message"]["text"] == Json("this d**n homework"),
         cat("a mild word is masked before it is stored: \"", text_of(mild["message"]["text"]), "\""));
  bob.take("message:new");

  std::puts("5. The application's own event, hand:raise");
  Json hand = bob.call("hand:raise", Json::object({{"room", room}}));
  expect(ok_ack(hand) && hand["owners"] == Json(1), cat("Bob raises his hand: ", hand.dump()));
  auto raised = ann.take("hand:raised");
  expect(raised.size() == 1 && raised[0]["userId"] == Json("bob"), "Ann, the room's owner, hears of it");
  auto ann_saw = ann.take("hand:up");
  auto bob_saw = bob.take("hand:up");
  expect(hand["sockets"] == Json(2) && ann_saw.size() == 1 && bob_saw.size() == 1 && bob_saw[0]["room"] == Json(room),
         cat("everyone in the room sees the hand go up (emit_to_room): ", hand.dump()));
  Json wrong = bob.call("hand:raise", Json::object({{"room", "chemistry"}}));
  expect(error_code(wrong) == "not_found", cat("a room that does not exist: ", wrong["error"].dump()));
  Json malformed = bob.call("hand:raise", Json::object());
  expect(error_code(malformed) == "bad_request", cat("a payload without a room: ", malformed["error"].dump()));

  std::puts("6. Another thread of the application posts a reminder through the loop");
  // call() is loop-thread only. A thread of the application's own (a
  // scheduler, a queue consumer) hands the work to the loop with post(),
  // the one EventLoop method that is safe from any thread.
  bool reminder_done = false;
  std::thread scheduler([&] {
    transport.post([&] {
      realtime::Actor as_ann;
      as_ann.service = true;
      as_ann.identity = realtime::Identity{"ann", "Ann", "tutor"};
      chat.call(as_ann, "message:send", Json::object({{"room", room}, {"text", "Reminder: quiz on Friday"}}),
                [&](Result<Json> r) {
                  std::printf("[scheduler] reminder: %s\n", r.ok() ? "stored" : r.status().to_string().c_str());
                  reminder_done = r.ok();
                });
    });
  });
  scheduler.join();
  transport.run_until([&] { return reminder_done; }, std::chrono::seconds(5));
  auto reminders = bob.take("message:new");
  expect(reminder_done && reminders.size() == 1 && reminders[0]["message"]["senderId"] == Json("ann"),
         "the reminder reaches Bob as a message from Ann");

  std::puts("7. The history, read through call() as Bob");
  realtime::Actor as_bob;
  as_bob.identity = realtime::Identity{"bob", "Bob", "student"};
  auto history = call_and_wait(chat, transport, as_bob, "message:history", Json::object({{"room", room}}));
  std::vector<std::string> texts;
  if (history.ok())
    for (const Json& m : (*history)["messages"].as_array()) texts.push_back(text_of(m["text"]));
  for (const auto& t : texts) std::printf("  | %s\n", t.c_str());
  expect(texts == std::vector<std::string>{"Welcome to Physics 101!", "this d**n homework", "Reminder: quiz on Friday"},
         "three messages stored, the refused one not among them");
  auto outsider = call_and_wait(chat, transport, realtime::Actor{realtime::Identity{"eve", "Eve", "student"}, false},
                                "message:history", Json::object({{"room", room}}));
  expect(!outsider.ok() && outsider.status().code() == realtime::StatusCode::forbidden,
         cat("someone outside the room may not read it: ", outsider.status().to_string()));

  // Shutting down: clients leave, the loop runs until nothing is left to
  // do, and the objects above are destroyed in reverse order.
  ann.close();
  bob.close();
  transport.run_until_idle();
  store->close();

  if (g_failures > 0) {
    std::printf("embed_chat: %d check(s) FAILED\n", g_failures);
    return 1;
  }
  std::puts("embed_chat: every check passed");
  return 0;
}
