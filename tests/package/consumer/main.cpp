// Uses the installed headers and libraries the way an embedder would.
#include <cstdio>

#include <realtime/hub.h>
#include <realtime/in_process_transport.h>
#include <realtime/json.h>
#include <realtime/memory_store.h>

namespace {

class Relay final : public realtime::TransportHandler {
 public:
  void on_open(const std::shared_ptr<realtime::Connection>& conn, const realtime::Handshake& hs) override {
    hub.add(conn, hs.query.at("user"));
    hub.join(conn->id(), "room");
  }
  void on_message(realtime::Connection& conn, std::string_view data, bool) override {
    auto payload = realtime::Json::parse(data);
    if (!payload.ok()) return;
    hub.broadcast("room", realtime::Frame::text((*payload)["text"].as_string()), conn.id());
  }
  void on_close(realtime::Connection& conn, realtime::CloseReason) override { hub.remove(conn.id()); }
  realtime::Hub hub;
};

}  // namespace

int main() {
  realtime::InProcessTransport transport;
  Relay relay;
  transport.set_handler(relay);
  auto store = realtime::make_memory_store(transport);
  realtime::Handshake a, b;
  a.query["user"] = "ann";
  b.query["user"] = "bob";
  auto ann = transport.connect(a);
  auto bob = transport.connect(b);
  transport.run_until_idle();
  bob->send(realtime::Json::object({{"text", "hello from bob"}}).dump());
  transport.run_until_idle();
  for (const auto& f : ann->take())
    std::printf("consumer: ann received [%.*s]\n", static_cast<int>(f.view().size()), f.view().data());
  return 0;
}
