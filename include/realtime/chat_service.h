// ChatService: the chat and call-signalling protocol on a Socket.IO namespace.
//
// Attach it to a namespace and a Store, and every socket of that namespace
// speaks the chat protocol (docs/protocol.md): rooms, members, messages,
// receipts, typing, presence, sessions and the rtc:* relay. The same
// operations are callable without a socket through call(), which is how
// chatd's REST API and embedders' own code use them. Loop thread only.
//
//   realtime::ChatService chat(io.of("/"), *store, transport.loop(), clock, {});
//   chat.set_message_filter([](const Identity&, NewMessage& m) {
//     return m.text.find("spam") == std::string::npos ? Status{} : Status::forbidden("no spam");
//   });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/authenticator.h"
#include "realtime/bus.h"
#include "realtime/call_quality.h"
#include "realtime/cluster.h"
#include "realtime/clock.h"
#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/json.h"
#include "realtime/message.h"
#include "realtime/notifier.h"
#include "realtime/socketio_server.h"
#include "realtime/status.h"
#include "realtime/store.h"

namespace realtime {

struct RateLimit {
  double per_second;
  double burst;
};

struct ChatOptions {
  // Longest message text, in Unicode code points.
  std::size_t max_text_chars = 4000;
  // Messages replayed by room:join with afterSeq before replayTruncated.
  int replay_limit = 1000;
  // Encoded bytes of messages (or room summaries) in one answer: a replay,
  // a history or search page, a rooms:list page. Past it the answer is
  // cut (replayTruncated, hasMore) and the client pages on; a replay also
  // stops as soon as the socket's connection is under backpressure. At
  // least one item always fits a page. Keep it well under the transport's
  // per-connection queue cap (chatd: a quarter of --max-queued-bytes).
  std::size_t max_answer_bytes = 1 << 20;
  // A typist who sends no refresh for this long is reported as stopped.
  std::chrono::milliseconds typing_timeout{6000};
  // Room roles allowed to end a session; empty means every member.
  std::vector<std::string> session_end_roles;
  // Sessions end by themselves this long after they start; 0 = never.
  std::chrono::minutes session_max{0};
  // Per-socket token buckets.
  RateLimit message_rate{20, 40};  // every event but typing and rtc:*
  RateLimit typing_rate{5, 5};
  RateLimit rtc_rate{100, 100};
  RateLimit rtc_stats_rate{1, 10};  // rtc:stats (a call's client sends one per peer every few seconds)
  // A socket's messages are stored in the order it sent them: a send waits
  // while the one before it is still being checked (a room or moderation
  // read, the message observer). Sends waiting so per socket, or
  // message_rate.burst where that is larger; one more is rate_limited.
  std::size_t max_waiting_sends = 64;
  // Rooms one socket may have joined at once.
  std::size_t max_rooms_per_socket = 100;
  // How long a session's join token lets people in, from its creation or
  // its last rotation (session:token).
  std::chrono::seconds join_token_ttl{24 * 3600};

  // Quotas (docs/protocol.md, "Limits"). Rooms one user may create per
  // room_create_period: a token bucket that refills continuously, so up
  // to the whole quota at once; past it room:create is rate_limited.
  // Service calls are not counted. 0 turns the quota off.
  std::size_t room_create_quota = 200;
  std::chrono::seconds room_create_period{3600};
  // Entries in one room:create's members list (more: payload_too_large).
  std::size_t max_members_per_create = 1000;
  // Members one room may have: room:create past it is payload_too_large,
  // member:add and entering with a join token are forbidden.
  std::size_t max_members_per_room = 10000;
  // Sockets one user may have connected at once on the namespace; one
  // more is refused at CONNECT with connect_error "rate_limited".
  std::size_t max_sockets_per_user = 50;

  // Memory for rooms that no socket is in, kept for their next event
  // (estimated bytes, least recently used forgotten first). Rooms with
  // sockets in them are kept whatever this says.
  std::size_t room_cache_bytes = 32 << 20;
  // Memory for display names of users seen (for system messages and the
  // presence of members who are offline); least recently seen forgotten.
  std::size_t name_cache_bytes = 8 << 20;

  // Call quality summaries (rtc:stats, rtc:quality): rooms kept, the least
  // recently reported forgotten first, and users reporting per room (with
  // n * (n - 1) pairs of them); reports past those are not kept.
  std::size_t quality_rooms = 1000;
  std::size_t quality_participants = 16;
  // Told of each new message for each member away from its room (see
  // notifier.h); null for none. Must outlive the service.
  Notifier* notifier = nullptr;
  // Server-wide bans kept in memory (every connect checks them); a ban
  // past this many is refused.
  std::size_t max_bans = 100'000;
  // Slow mode remembers when each (room, member) last sent, for this many
  // pairs; the least recent is forgotten first (that member may then send
  // again before their period is over).
  std::size_t slow_mode_entries = 100'000;
};

// Who performs an operation called through call().
struct Actor {
  Identity identity;     // for a service call: the user acted for, if any
  bool service = false;  // an API-key caller: may act for any user
};

// Counters for monitoring (chatd's /metrics). Monotonic since start.
struct ChatStats {
  std::uint64_t events = 0;             // events and calls handled
  std::uint64_t messages_stored = 0;    // new messages (retries excluded)
  std::uint64_t messages_delivered = 0; // message:new sent to sockets
  std::map<std::string, std::uint64_t> errors;  // by error code
  // Time from an event's arrival to its answer, in milliseconds:
  // counts per upper bound (the last bucket is +Inf).
  static constexpr double kLatencyBoundsMs[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};
  std::uint64_t latency_buckets[std::size(kLatencyBoundsMs) + 1] = {};
  double latency_sum_ms = 0;
  // rtc:stats reports this service's sockets sent (call_quality.h).
  CallQualityStats call;
  // Moderation actions that stand without their audit entry: the store
  // refused the append (the action is not undone).
  std::uint64_t audit_not_kept = 0;
};

// What the chat service holds in memory now (every one of them bounded;
// see ChatOptions and docs/architecture.md). For tests and monitoring.
struct ChatCaches {
  std::size_t rooms_pinned = 0;      // rooms sockets are in
  std::size_t rooms_idle = 0;        // other rooms kept (room_cache_bytes)
  std::size_t rooms_idle_bytes = 0;
  std::size_t names = 0;             // display names (name_cache_bytes)
  std::size_t names_bytes = 0;
  std::size_t last_seen = 0;         // lastSeen values a store read might still miss
  std::size_t joiners = 0;           // sockets whose replay is being read
  std::size_t quota_buckets = 0;     // users with a room_create_quota bucket
  std::size_t quality_rooms = 0;     // rooms with a call quality summary (quality_rooms)
  std::size_t waiting_sends = 0;     // message:send calls waiting for the socket's one before (max_waiting_sends each)
};

// Follows messages being stored and deleted, for whatever an embedder keeps
// beside them (chatd keeps an attachment's file while a message refers to
// it). Loop thread only. Set with ChatService::set_message_observer().
// Its methods must not throw: they run inside the service's store
// continuations, where an exception would leave a message half handled
// (answer through `proceed` instead).
class REALTIME_EXPORT MessageObserver {
 public:
  virtual ~MessageObserver() = default;
  // A user's new message passed every check and the filter, and is about to
  // be stored. Call `proceed` exactly once, now or later on the loop: ok
  // stores it; an error refuses it and is what the sender gets. Runs before
  // the store sees the message, so whatever it records survives a crash
  // that the message survives.
  virtual void before_store(const NewMessage& message, std::function<void(Status)> proceed) {
    (void)message;
    proceed({});
  }
  // The store's answer to an append that before_store let through: the new
  // message, an earlier one (duplicate: the same clientMsgId), or an error.
  virtual void after_store(const NewMessage& message, const Result<Appended>& result) {
    (void)message;
    (void)result;
  }
  // A message was deleted; `before` is the message as it was, attachment and all.
  virtual void deleted(const Message& before) { (void)before; }
};

class REALTIME_EXPORT ChatService {
 public:
  using Reply = std::function<void(Result<Json>)>;
  // Runs before a user's message is stored; may rewrite it, or refuse it
  // with a Status that the sender receives. Loop thread; must not block.
  // If it throws, the sender gets `internal` and the message is not stored.
  using MessageFilter = std::function<Status(const Identity& sender, NewMessage& message)>;
  // An embedder's own event: payload in, Reply out, with the chat
  // service's rate limiting and error shapes. Loop thread; call `reply`
  // once, now or later on the loop (a second call is ignored). If the
  // handler throws before replying, the caller gets `internal`.
  using EventHandler = std::function<void(const Actor& actor, const Json& payload, Reply reply)>;

  // All references must outlive the service.
  ChatService(socketio::Namespace& nsp, Store& store, EventLoop& loop, const Clock& clock, ChatOptions options = {});
  ~ChatService();
  ChatService(const ChatService&) = delete;
  ChatService& operator=(const ChatService&) = delete;

  // Replaces the filter; an empty function removes it.
  void set_message_filter(MessageFilter filter);
  // Null for none. The observer must outlive the service.
  void set_message_observer(MessageObserver* observer);
  // Adds an event to the protocol (a name the chat service does not use;
  // the built-in operation wins otherwise). Adding a name again replaces
  // its handler; an empty handler is ignored.
  void add_event(std::string name, EventHandler handler);

  // Sends `event` with `payload` to every socket of this namespace that has
  // joined `room` (its id, as in room:join), the way the service's own
  // broadcasts go; returns how many sockets it was sent to. This is how an
  // add_event handler tells a room what happened: the service's internal
  // room names are not part of the API. droppable: skipped for a socket
  // under backpressure, like typing (for what a client can miss). Use event
  // names the protocol does not: a client cannot tell an embedder's
  // "message:new" from the service's. Loop thread.
  std::size_t emit_to_room(std::string_view room, std::string_view event, const Json& payload,
                           bool droppable = false);

  // Runs one operation by its event name ("room:create", "message:send",
  // ...) for an actor without a socket. Socket-only events (room:join,
  // room:leave, typing, rtc:*) answer bad_request here.
  void call(const Actor& actor, std::string_view event, const Json& payload, Reply reply);

  // Makes this service one node of a cluster: its sockets and the other
  // nodes' share rooms, presence and calls through `bus` (see cluster.h).
  // The store must be shared by every node (PostgreSQL, or one store of
  // one process). Call once, before sockets connect; `bus` must outlive
  // the service.
  void join_cluster(Bus& bus, ClusterOptions options = {});
  // Zeroes (bus_up false) when not in a cluster.
  ClusterStats cluster_stats() const;
  // The other live nodes and where they say they are reached (for handing
  // a request to the node that holds its session); empty outside a cluster.
  std::vector<ClusterNode> cluster_nodes() const;

  const ChatStats& stats() const;
  // Why user_id may not use the server now (a server-wide ban, as this
  // loop knows it), or nullopt. For routes outside the chat events.
  std::optional<std::string> banned(const std::string& user_id);
  ChatCaches caches() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime
