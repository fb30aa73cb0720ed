// ClusterLink: see cluster_link.h. The messages are small JSON objects
// whose "t" says what they are:
//   e     an emit: rooms r, users u, except x, droppable v, args a
//   j, l  this node's socket entered (j) or left (l) a room; numbered s
//   h     heartbeat, with the last number s and the advertised address
//   s     snapshot: part k of this node's whole list (k = 0 replaces), up
//         to number s; `end` on the last part
//   hello a node (re)joined the bus: everyone sends a snapshot
//   bye   a node is leaving: drop its sockets now
//   r     room changed in the store
//   q     an rtc:stats report: room, user, peer (user), figures f
//   rtc   (node channel) a signal for one socket
//   sync  (node channel) send a snapshot: a numbered message was lost
// Every message carries its node n and the node's run (incarnation) i.
#include "chat/cluster_link.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "realtime/random.h"
#ifdef REALTIME_HAS_MSGPACK
#include "protocol/socketio_emitter.h"
#endif

namespace realtime::chat {
namespace {

constexpr std::size_t kSnapshotPart = 200;  // entries per snapshot message
constexpr int kMaxDepth = 128;              // client JSON (32 deep) inside our envelope

Json strings(const std::vector<std::string>& list) {
  Json out = Json::array();
  for (const auto& s : list) out.push(s);
  return out;
}

std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& s : j.as_array())
    if (s.is_string()) out.push_back(s.as_string());
  return out;
}

std::string str(const Json& j, std::string_view key) {
  const Json* v = j.find(key);
  return v && v->is_string() ? v->as_string() : std::string();
}

std::uint64_t num(const Json& j, std::string_view key) {
  const Json* v = j.find(key);
  return v && v->is_int() && v->as_int() > 0 ? static_cast<std::uint64_t>(v->as_int()) : 0;
}

}  // namespace

struct ClusterLink::Impl {
  Impl(Bus& b, EventLoop& l, socketio::Namespace& n, ClusterOptions o, Hooks h)
      : bus(b), loop(l), nsp(n), options(std::move(o)), hooks(std::move(h)),
        roster(options.max_remote_entries, options.max_nodes) {
    if (options.node_id.empty()) options.node_id = random_token(6);
    incarnation = random_token(9);
    all = options.channel_prefix + "#all";
  }

  Bus& bus;
  EventLoop& loop;
  socketio::Namespace& nsp;
  ClusterOptions options;
  Hooks hooks;
  Roster roster;
  std::string incarnation, all;
  std::uint64_t seq = 0;  // this node's last numbered message
  std::vector<Bus::SubscriptionId> subscriptions;
  // Emitter room channels subscribed, by hub room (rooms with local sockets).
  std::unordered_map<std::string, Bus::SubscriptionId> emitter_rooms;
  Bus::SubscriptionId state_watch = 0;
  EventLoop::TimerId tick_timer = 0, hello_timer = 0;
  bool up = false;
  bool been_up = false;  // the first up is the start, not a recovery
  bool heard_own_hello = false;
  int hellos_left = 0;
  // Snapshots asked of a node and not yet answered, by node, with when.
  std::unordered_map<std::string, EventLoop::TimePoint> asked;
  ClusterStats counters;
  std::shared_ptr<char> alive = std::make_shared<char>();

  std::string node_channel(std::string_view node) const {
    std::string c = options.channel_prefix;
    c += "#node#";
    c += node;
    return c;
  }

  Json envelope(std::string_view type) const {
    return Json::object({{"t", std::string(type)}, {"n", options.node_id}, {"i", incarnation}});
  }

  void send(const std::string& channel, const Json& message) { bus.publish(channel, message.dump()); }

  template <class F>
  auto guarded(F f) {
    return [a = std::weak_ptr<char>(alive), f = std::move(f)](auto&&... args) mutable {
      if (!a.expired()) f(std::forward<decltype(args)>(args)...);
    };
  }

  void start() {
    up = bus.state() == Bus::State::up;
    subscriptions.push_back(bus.subscribe(all, loop, guarded([this](std::string_view, std::string_view p) { on_all(p); })));
    subscriptions.push_back(bus.subscribe(node_channel(options.node_id), loop,
                                          guarded([this](std::string_view, std::string_view p) { on_direct(p); })));
    state_watch = bus.watch_state(loop, guarded([this](Bus::State s) { on_state(s); }));
    if (emitting())
      subscriptions.push_back(subscribe_emitter({}));
    nsp.set_relay(guarded([this](const socketio::RemoteEmit& e) { relay(e); }));
    say_hello();
    schedule_tick();
  }

  void stop() {
    nsp.set_relay(nullptr);
    Json bye = envelope("bye");
    send(all, bye);
    for (auto id : subscriptions) bus.unsubscribe(id);
    for (const auto& [room, id] : emitter_rooms) bus.unsubscribe(id);
    bus.unwatch_state(state_watch);
    loop.cancel_timer(tick_timer);
    loop.cancel_timer(hello_timer);
  }

  // --- what this node says

  void relay(const socketio::RemoteEmit& e) {
    Json m = envelope("e");
    if (!e.rooms.empty()) m.set("r", strings(e.rooms));
    if (!e.users.empty()) m.set("u", strings(e.users));
    if (!e.except.empty()) m.set("x", strings(e.except));
    if (e.delivery == Delivery::droppable) m.set("v", true);
    m.set("a", Json(e.args));
    send(all, m);
  }

  Json numbered(std::string_view type) {
    Json m = envelope(type);
    m.set("s", static_cast<long long>(++seq));
    return m;
  }

  // Until this node hears its own hello, the subscription may not be in
  // place yet, and the snapshots answering it may have been missed: say
  // it again, a bounded number of times.
  void say_hello() {
    heard_own_hello = false;
    hellos_left = 20;
    send_hello();
  }
  void send_hello() {
    loop.cancel_timer(hello_timer);
    hello_timer = 0;
    if (heard_own_hello || hellos_left-- <= 0) return;
    send(all, envelope("hello"));
    send_snapshot();
    hello_timer = loop.set_timer(std::chrono::milliseconds(250), guarded([this] {
      hello_timer = 0;
      send_hello();
    }));
  }

  void send_snapshot() {
    auto entries = hooks.local_entries ? hooks.local_entries() : std::vector<std::pair<std::string, RemoteSocket>>{};
    std::size_t k = 0;
    std::size_t i = 0;
    do {
      Json part = envelope("s");
      part.set("s", static_cast<long long>(seq));
      part.set("k", static_cast<long long>(k++));
      Json list = Json::array();
      for (std::size_t n = 0; n < kSnapshotPart && i < entries.size(); ++n, ++i) {
        const auto& [room, s] = entries[i];
        list.push(Json::array({room, s.sid, s.user_id, s.name, s.role}));
      }
      part.set("e", std::move(list));
      if (i >= entries.size()) part.set("end", true);
      send(all, part);
    } while (i < entries.size());
  }

  void heartbeat() {
    Json h = envelope("h");
    h.set("s", static_cast<long long>(seq));
    if (!options.advertise.empty()) h.set("adv", options.advertise);
    send(all, h);
  }

  void schedule_tick() {
    const auto every = std::max(std::chrono::milliseconds(100), options.node_timeout / 3);
    tick_timer = loop.set_timer(every, guarded([this] {
      tick_timer = 0;
      tick();
      schedule_tick();
    }));
  }

  void tick() {
    if (!up) return;  // nothing can be heard: silence proves nothing
    heartbeat();
    const auto now = loop.now();
    for (const auto& node : roster.silent_since(now - options.node_timeout)) {
      ++counters.nodes_expired;
      forget(node);
    }
  }

  void forget(const std::string& node) {
    asked.erase(node);
    for (auto& [room, s] : roster.drop_node(node))
      if (hooks.remote_left) hooks.remote_left(room, s);
  }

  void ask_snapshot(const std::string& node) {
    const auto now = loop.now();
    if (auto it = asked.find(node); it != asked.end() && now - it->second < options.node_timeout) return;
    if (asked.size() >= options.max_nodes) return;
    asked[node] = now;
    ++counters.resyncs;
    send(node_channel(node), envelope("sync"));
  }

  // --- what @socket.io/redis-emitter publishers say

  bool emitting() const {
#ifdef REALTIME_HAS_MSGPACK
    return !options.emitter_key.empty();
#else
    return false;
#endif
  }

  Bus::SubscriptionId subscribe_emitter(std::string_view room) {
#ifdef REALTIME_HAS_MSGPACK
    return bus.subscribe(protocol::socketio::emitter_channel(options.emitter_key, nsp.name(), room), loop,
                         guarded([this](std::string_view, std::string_view p) { on_emitter(p); }));
#else
    (void)room;
    return 0;
#endif
  }

  void on_emitter(std::string_view payload) {
#ifdef REALTIME_HAS_MSGPACK
    auto m = protocol::socketio::decode_emitter_message(payload);
    if (!m.ok() || m->nsp != nsp.name() || !m->args.is_array()) {
      ++counters.undecodable;
      return;
    }
    ++counters.emitter_emits;
    deliver(socketio::RemoteEmit{std::move(m->rooms), {}, std::move(m->except),
                                 m->droppable ? Delivery::droppable : Delivery::reliable, m->args.as_array()});
#else
    (void)payload;
#endif
  }

  void local_room(const std::string& room, bool has_sockets) {
    if (!emitting()) return;
    auto it = emitter_rooms.find(room);
    if (has_sockets && it == emitter_rooms.end()) {
      emitter_rooms.emplace(room, subscribe_emitter(room));
    } else if (!has_sockets && it != emitter_rooms.end()) {
      bus.unsubscribe(it->second);
      emitter_rooms.erase(it);
    }
  }

  // --- what the others say

  void on_state(Bus::State s) {
    const bool was = up;
    up = s == Bus::State::up;
    if (up && !was) {
      // Everyone was unheard while the bus was down; the lists may have
      // missed changes both ways: exchange them.
      roster.heard_all(loop.now());
      asked.clear();
      say_hello();
      if (been_up && hooks.bus_restored) hooks.bus_restored();
      been_up = true;
    }
  }

  // A message of ours: a JSON object (counted as undecodable otherwise).
  std::optional<Json> decode(std::string_view payload) {
    auto parsed = Json::parse(payload, kMaxDepth);
    if (parsed.ok() && parsed->is_object()) return std::move(parsed).value();
    ++counters.undecodable;
    return std::nullopt;
  }

  void on_all(std::string_view payload) {
    auto parsed = decode(payload);
    if (!parsed) return;
    const Json& m = *parsed;
    const std::string type = str(m, "t");
    const std::string node = str(m, "n");
    if (node.empty()) {
      ++counters.undecodable;
      return;
    }
    if (node == options.node_id) {
      if (type == "hello" && str(m, "i") == incarnation) heard_own_hello = true;
      return;
    }
    const std::string inc = str(m, "i");
    const auto now = loop.now();
    // The node's process restarted (same id, new run) before it was
    // declared dead: its old sockets left, as if it had died.
    if (const auto known = roster.incarnation_of(node); !known.empty() && known != inc) forget(node);
    if (type == "e") return on_emit(m);
    if (type == "j" || type == "l") {
      const std::uint64_t s = num(m, "s");
      const auto order = roster.heard(node, inc, s, 0, now);
      if (order == Roster::Order::refused) return;
      if (order == Roster::Order::gap) ask_snapshot(node);
      roster.applied(node, s);
      const std::string room = str(m, "room");
      if (type == "j") {
        add(room, RemoteSocket{node, str(m, "sid"), str(m, "user"), str(m, "name"), str(m, "role")});
      } else {
        const RemoteSocket* gone = roster.find(room, str(m, "sid"));
        const std::string user = gone ? gone->user_id : std::string();
        roster.remove(node, room, str(m, "sid"));
        if (const std::uint64_t at = num(m, "at"); at != 0 && !user.empty() && hooks.last_seen_written)
          hooks.last_seen_written(room, user, Timestamp(std::chrono::milliseconds(at)));
      }
      return;
    }
    if (type == "h") {
      if (roster.heard(node, inc, 0, num(m, "s"), now, str(m, "adv")) == Roster::Order::gap) ask_snapshot(node);
      return;
    }
    if (type == "s") return on_snapshot(node, inc, m, now);
    if (type == "hello") {
      roster.heard(node, inc, 0, 0, now);
      return send_snapshot();
    }
    if (type == "bye") return forget(node);
    if (type == "r") {
      if (hooks.room_changed) hooks.room_changed(str(m, "room"));
      return;
    }
    if (type == "q") {
      const Json* f = m.find("f");
      if (hooks.call_stats && f && f->is_object()) hooks.call_stats(str(m, "room"), str(m, "user"), str(m, "peer"), *f);
      return;
    }
    if (type == "ban") {
      if (const Json* b = m.find("ban"); b && b->is_object() && hooks.ban_changed) hooks.ban_changed(*b);
      return;
    }
    if (type == "nm") {
      if (hooks.name_seen && !str(m, "user").empty()) hooks.name_seen(str(m, "user"), str(m, "name"));
      return;
    }
    ++counters.undecodable;
  }

  void add(const std::string& room, RemoteSocket s) {
    if (hooks.name_seen && !s.user_id.empty()) hooks.name_seen(s.user_id, s.name);
    roster.add(room, std::move(s));
  }

  void on_snapshot(const std::string& node, const std::string& inc, const Json& m, Roster::Clock::time_point now) {
    const std::uint64_t s = num(m, "s");
    if (roster.heard(node, inc, 0, s, now) == Roster::Order::refused) return;
    if (num(m, "k") == 0) roster.begin_snapshot(node, s);
    if (const Json* list = m.find("e"); list && list->is_array())
      for (const auto& e : list->as_array()) {
        if (!e.is_array() || e.size() != 5) continue;
        const auto& f = e.as_array();
        auto text = [&](std::size_t i) { return f[i].is_string() ? f[i].as_string() : std::string(); };
        add(text(0), RemoteSocket{node, text(1), text(2), text(3), text(4)});
      }
    if (const Json* end = m.find("end"); end && end->is_bool() && end->as_bool()) asked.erase(node);
  }

  void on_emit(const Json& m) {
    const Json* args = m.find("a");
    if (!args || !args->is_array() || args->as_array().empty()) {
      ++counters.undecodable;
      return;
    }
    socketio::RemoteEmit e{strings_of(m["r"]), strings_of(m["u"]), strings_of(m["x"]), Delivery::reliable,
                           args->as_array()};
    if (const Json* v = m.find("v"); v && v->is_bool() && v->as_bool()) e.delivery = Delivery::droppable;
    deliver(std::move(e));
  }

  void deliver(socketio::RemoteEmit e) {
    if (hooks.delivering) hooks.delivering(e);
    nsp.deliver(e);
    if (hooks.delivered) hooks.delivered(e);
  }

  void on_direct(std::string_view payload) {
    auto parsed = decode(payload);
    if (!parsed) return;
    const Json& m = *parsed;
    const std::string type = str(m, "t");
    if (type == "sync") return send_snapshot();
    if (type == "rtc") {
      const Json* p = m.find("p");
      if (hooks.rtc && p) hooks.rtc(str(m, "room"), str(m, "to"), str(m, "ev"), *p);
      return;
    }
    ++counters.undecodable;
  }
};

ClusterLink::ClusterLink(Bus& bus, EventLoop& loop, socketio::Namespace& nsp, ClusterOptions options, Hooks hooks)
    : impl_(std::make_unique<Impl>(bus, loop, nsp, std::move(options), std::move(hooks))) {
  impl_->start();
}

ClusterLink::~ClusterLink() { impl_->stop(); }

void ClusterLink::joined(const std::string& room, const RemoteSocket& s) {
  Json m = impl_->numbered("j");
  m.set("room", room);
  m.set("sid", s.sid);
  m.set("user", s.user_id);
  m.set("name", s.name);
  m.set("role", s.role);
  impl_->send(impl_->all, m);
}

void ClusterLink::left(const std::string& room, const std::string& sid, std::optional<Timestamp> last_seen) {
  Json m = impl_->numbered("l");
  m.set("room", room);
  m.set("sid", sid);
  if (last_seen) m.set("at", static_cast<std::int64_t>(last_seen->time_since_epoch().count()));
  impl_->send(impl_->all, m);
}

void ClusterLink::room_changed(const std::string& room) {
  Json m = impl_->envelope("r");
  m.set("room", room);
  impl_->send(impl_->all, m);
}

void ClusterLink::ban_changed(const Json& ban) {
  Json m = impl_->envelope("ban");
  m.set("ban", ban);
  impl_->send(impl_->all, m);
}

void ClusterLink::user_name(const std::string& user_id, const std::string& name) {
  Json m = impl_->envelope("nm");
  m.set("user", user_id);
  m.set("name", name);
  impl_->send(impl_->all, m);
}

bool ClusterLink::send_rtc(const std::string& room, const std::string& sid, std::string_view event,
                           const Json& payload) {
  const RemoteSocket* s = impl_->roster.find(room, sid);
  if (!s) return false;
  Json m = impl_->envelope("rtc");
  m.set("room", room);
  m.set("to", sid);
  m.set("ev", std::string(event));
  m.set("p", payload);
  impl_->send(impl_->node_channel(s->node), m);
  return true;
}

void ClusterLink::call_stats(const std::string& room, const std::string& user, const std::string& peer_user,
                             const Json& sample) {
  Json m = impl_->envelope("q");
  m.set("room", room);
  m.set("user", user);
  if (!peer_user.empty()) m.set("peer", peer_user);
  m.set("f", sample);
  impl_->send(impl_->all, m);
}

void ClusterLink::local_room(const std::string& room, bool has_sockets) { impl_->local_room(room, has_sockets); }

const Roster& ClusterLink::roster() const { return impl_->roster; }

ClusterStats ClusterLink::stats() const {
  ClusterStats s = impl_->counters;
  s.node_id = impl_->options.node_id;
  s.bus_up = impl_->up;
  s.nodes = impl_->roster.nodes();
  s.remote_entries = impl_->roster.entries();
  s.entries_refused = impl_->roster.refused();
  return s;
}

const std::string& ClusterLink::node_id() const { return impl_->options.node_id; }
bool ClusterLink::bus_up() const { return impl_->up; }

}  // namespace realtime::chat
