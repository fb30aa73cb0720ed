// embed_minimal: an embedder's first program.
//
// A Hub behind the in-process transport (no sockets, no threads): two
// clients, Ann and Bob, join the room "lobby" and talk. The handler below
// is the whole "server": it registers each connection with the Hub under
// the user named in its handshake, joins it to the lobby, and broadcasts
// every message it receives to the room, encoded once for all recipients.
#include <cstdio>
#include <string>

#include "realtime/hub.h"
#include "realtime/in_process_transport.h"

namespace {

class LobbyServer final : public realtime::TransportHandler {
 public:
  void on_open(const std::shared_ptr<realtime::Connection>& conn, const realtime::Handshake& hs) override {
    auto user = hs.query.find("user");
    hub_.add(conn, user == hs.query.end() ? conn->id() : user->second);
    const auto joined = hub_.join(conn->id(), "lobby");
    std::printf("[server] %s joined lobby (%zu online)\n", std::string(hub_.user_of(conn->id())).c_str(),
                joined.online_users);
  }
  void on_message(realtime::Connection& conn, std::string_view text, bool) override {
    std::string line = std::string(hub_.user_of(conn.id())) + ": " + std::string(text);
    hub_.broadcast("lobby", realtime::Frame::text(std::move(line)));
  }
  void on_close(realtime::Connection& conn, realtime::CloseReason) override { hub_.remove(conn.id()); }

 private:
  realtime::Hub hub_;
};

void print_inbox(const char* who, realtime::InProcessClient& client) {
  for (const auto& frame : client.take()) std::printf("[%s] received \"%.*s\"\n", who,
                                                      static_cast<int>(frame.view().size()), frame.view().data());
}

}  // namespace

int main() {
  realtime::InProcessTransport transport;
  LobbyServer server;
  transport.set_handler(server);

  realtime::Handshake ann_hs, bob_hs;
  ann_hs.query["user"] = "ann";
  bob_hs.query["user"] = "bob";
  auto ann = transport.connect(ann_hs);
  auto bob = transport.connect(bob_hs);
  transport.run_until_idle();

  ann->send("hi Bob, ready for the lesson?");
  transport.run_until_idle();
  bob->send("hi Ann, yes!");
  transport.run_until_idle();

  print_inbox("ann", *ann);
  print_inbox("bob", *bob);
  return 0;
}
