// ChatService::Impl: the state the chat operations share, split over
// service.cpp (sockets, dispatch), room_ops.cpp, message_ops.cpp and
// live_ops.cpp (typing, presence, rtc relay). Loop thread only.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/call_quality_book.h"
#include "chat/cluster_link.h"
#include "chat/last_seen_cache.h"
#include "chat/lru_cache.h"
#include "chat/payloads.h"
#include "chat/room_cache.h"
#include "realtime/token_bucket.h"
#include "chat/wire.h"
#include "realtime/chat_service.h"

namespace realtime {

// One operation in flight: who asked, from which socket (null through
// call()), and where the answer goes.
struct ChatCall {
  Actor actor;
  std::shared_ptr<socketio::Socket> socket;
  ChatService::Reply reply;
  // Rooms are read from the store, not the cache: the second run of an
  // operation a cached room refused, in a cluster (see run()).
  bool fresh = false;
  // A socket's message:send: lets the socket's next send start. Called
  // once the message is handed to the store, or with the answer if it
  // never gets there; calls after the first do nothing. Shared, as every
  // step of the operation copies the call.
  std::shared_ptr<const std::function<void()>> handed{};

  void fail(Status s) const { reply(std::move(s)); }
  void ok(Json fields) const { reply(std::move(fields)); }
};

struct ChatService::Impl {
  Impl(socketio::Namespace& n, Store& s, EventLoop& l, const Clock& c, ChatOptions o);
  ~Impl();

  using Op = void (Impl::*)(const ChatCall&, const Json&);
  struct OpInfo {
    Op op;
    bool socket_only;
    enum class Bucket { message, typing, rtc, rtc_stats } bucket;
  };

  // Every protocol event: its operation, whether it needs a socket, and
  // which rate bucket it draws from.
  static const std::map<std::string, OpInfo, std::less<>>& ops();

  // A socket typing in a room: its expiry timer, and the role its typing
  // events carry (the room role when it started, kept for the stop).
  struct Typing {
    EventLoop::TimerId timer = 0;
    std::string role;
  };
  struct SocketState {
    std::weak_ptr<socketio::Socket> socket;
    TokenBucket message, typing, rtc, rtc_stats;
    std::set<std::string> rooms;                        // chat rooms joined
    std::map<std::string, Typing> typing_in;              // rooms typing in
  };

  // A socket in room:join with afterSeq: live messages of the room are held
  // for it while its replay is read, so it gets neither a gap nor a duplicate.
  // At most max_answer_bytes are held: past that the replay is cut short
  // there and the client pages the rest from history.
  struct Joiner {
    std::string sid;
    std::vector<std::pair<std::int64_t, Json>> held;  // seq, message
    std::size_t held_bytes = 0;
    bool overflowed = false;
  };

  // Message id -> the `reactions` of its message object, for one viewer.
  using ReactionsById = std::unordered_map<std::string, Json>;

  // --- service.cpp
  void on_connection(socketio::Socket& socket);
  void on_disconnect(const std::string& sid, const Identity& who);
  void dispatch(const std::shared_ptr<socketio::Socket>& socket, std::string_view event, const Json::Array& args,
                const socketio::Ack& ack);
  void run(const ChatCall& call, std::string_view event, const Json& payload);
  static std::string hub_room(std::string_view room) { return "room:" + std::string(room); }
  SocketState* state(const std::string& sid);
  // Whether a socket may be in `room`: it is already, or has joined fewer
  // than max_rooms_per_socket rooms.
  bool room_slot_free(const SocketState& st, const std::string& room) const {
    return st.rooms.contains(room) || st.rooms.size() < options.max_rooms_per_socket;
  }
  // The room, from the cache or the store (always the store when `fresh`);
  // `then` may run synchronously.
  void with_room(const std::string& id, std::function<void(Result<Room>)> then, bool fresh = false);
  // with_room for an operation: from the store on its second run.
  void with_room_for(const ChatCall& call, const std::string& id, std::function<void(Result<Room>)> then) {
    with_room(id, std::move(then), call.fresh);
  }
  // What with_room does after the store answered.
  void room_read(Result<Room> r, std::uint64_t ticket, bool fresh, std::function<void(Result<Room>)> then);
  // The opening of every read operation: the room `id`, which must exist
  // and be readable by the caller; failures answer the call.
  void with_readable_room(const ChatCall& call, const std::string& id, std::function<void(const Room&)> then);
  // A write's result (create, members, session changes, token rotation);
  // the other nodes of a cluster are told to read the room again.
  void remember(const Room& room) {
    rooms_cache.put_written(room);
    if (cluster) cluster->room_changed(room.id);
  }
  // store.read_state through the lastSeen bookkeeping (see LastSeenCache).
  void read_state(const std::string& room, const std::string& user, Completion<ReadState> done);
  // Takes a token of the user's room_create_quota; false when spent.
  bool take_room_quota(const std::string& user_id);
  std::string name_of(const std::string& user_id);
  std::string role_in(const Room& room, const Identity& who) const;
  bool is_admin(const Actor& a) const { return !a.service && a.identity.role == "admin"; }
  // A service call acting for a user reads what that user may read.
  bool may_read(const Actor& a, const Room& room) const {
    if (a.service) return a.identity.user_id.empty() || room.member(a.identity.user_id) != nullptr;
    return is_admin(a) || room.member(a.identity.user_id) != nullptr;
  }
  // Wraps a continuation so it is dropped if the service is gone by then.
  template <class F>
  auto guard(F f) {
    return [alive = std::weak_ptr<char>(alive_), f = std::move(f)](auto&&... args) mutable {
      if (!alive.expired()) f(std::forward<decltype(args)>(args)...);
    };
  }
  // A guarded continuation for a Result<T>: an error answers the call, a
  // value goes on to `next`. Most steps of an operation are one of these.
  template <class F>
  auto on_ok(const ChatCall& call, F next) {
    return guard([call, next = std::move(next)](auto result) mutable {
      if (!result.ok()) return call.fail(result.status());
      next(std::move(result).value());
    });
  }
  // Who did it, as notifications name them: the user, or "system" for a
  // service call.
  static std::string by_whom(const Actor& a) { return a.service ? "system" : a.identity.user_id; }
  // Takes a socket out of a chat room and tells the others (presence:leave,
  // rtc:peer-left, typing stop, session:state, lastSeen).
  // `user_gone`: the user leaves the room on every node at once (removed
  // from it): other nodes' sockets of theirs no longer count as online.
  void leave_room(const std::string& sid, const Identity& who, const std::string& room, bool announce,
                  std::optional<Timestamp> last_seen = std::nullopt, bool user_gone = false);
  Json peers_of(const Room& room);
  // Distinct users in a room on any node; whether one of them is.
  std::size_t online_in(const std::string& room);
  bool user_online_in(const std::string& room, const std::string& user_id);
  // Members (and non-member admins present) with online and lastSeen.
  Json presence_of(const Room& room, const ReadState& state);
  // To the room's sockets on every node, or on this node only (when each
  // node sends its own copy, as after another node died).
  void broadcast_session_state(const Room& room, bool this_node_only = false);
  // Appends a system message ("Ann added Bob") and broadcasts it.
  void system_message(const Room& room, const Actor& by, std::string text, std::function<void()> then);
  void publish(const Message& m);
  // Keeps a live message of `room` for the sockets whose replay of it is
  // being read (`message` makes its JSON, called only if there are some).
  void hold_for_joiners(const std::string& room, std::int64_t seq, const std::function<Json()>& message,
                        std::size_t text_bytes);
  // Whether socket `sid` has a room:join with afterSeq of `room` in flight
  // (its replay is being read, and live messages are held for it).
  bool is_joining(const std::string& room, const std::string& sid) const;  // message:new to the room and held joiners
  void notify(const Room& room, Json payload, const std::vector<std::string>& extra_users);
  void end_session(const Room& room, std::function<void(Result<Room>)> then);
  // When an active session must end (--session-max-minutes), if it must.
  std::optional<Timestamp> session_end_due(const Room& room) const;
  // Arms the automatic end of an active session, once per room.
  void arm_session_end(const Room& room);

  // --- cluster.cpp: what other nodes tell this one (ClusterLink's hooks)
  void join_cluster(Bus& bus, ClusterOptions cluster_options);
  // A message:new from another node reaches this node's joiners too.
  void remote_emit_delivered(const socketio::RemoteEmit& e);
  // {chat room id, event} of an emit of one event with an object payload
  // to one chat room (the shape of every chat broadcast), or nothing.
  static std::optional<std::pair<std::string, std::string>> chat_event_of(const socketio::RemoteEmit& e);
  static std::optional<std::pair<std::string, std::int64_t>> message_emit(const socketio::RemoteEmit& e);
  // Before another node's emit reaches this node's sockets: counts and
  // participants as this node sees them, and no message a socket replayed.
  void adjust_remote_emit(socketio::RemoteEmit& e);
  void recount_here(socketio::RemoteEmit& e);
  void skip_replayed(socketio::RemoteEmit& e);
  // Another node wrote the room: read it, and take out this node's sockets
  // that may no longer be in it (removed members, an ended session).
  void remote_room_changed(const std::string& room);
  // Another node ended a session (its session:ended reached this node).
  void remote_session_ended(const Json& ended);
  void remote_socket_gone(const std::string& room, const chat::RemoteSocket& gone);
  void remote_rtc(const std::string& room, const std::string& sid, const std::string& event, Json payload);
  std::vector<std::pair<std::string, chat::RemoteSocket>> local_entries() const;
  // Whether this node writes the lastSeen of a dead node's users (one
  // node does: the live one with the smallest id).
  bool writes_for_the_dead() const;

  // --- room_ops.cpp
  // Each operation is its first step (parse the payload, then read); the
  // later steps are the members listed under it, in the order they run.
  void room_create(const ChatCall& call, const Json& p);
  // Stores a new room (after the caller's room quota); `on_conflict`, when
  // given, runs instead of failing a taken id.
  void create_room(const ChatCall& call, Room room, std::string join_token,
                   std::function<void()> on_conflict = nullptr);
  void room_created(const ChatCall& call, const Room& room, const std::string& join_token);
  // A direct room under the caller's id with reuse: look first, create if
  // free, look again if someone created it in between.
  void create_direct_reusing(const ChatCall& call, Room room);
  void room_get(const ChatCall& call, const Json& p);
  void room_join(const ChatCall& call, const Json& p);
  // Membership and state checks; a join token's holder becomes a member.
  void join_checked(const ChatCall& call, const chat::RoomJoin& in, Room room);
  // A scheduled session becomes active with the join that enters it.
  void start_and_join(const ChatCall& call, Room room, std::optional<std::int64_t> after_seq);
  // Reads the replay (after_seq given, not yet in the room), then enters.
  void finish_join(const ChatCall& call, Room room, std::optional<std::int64_t> after_seq);
  // {last seq replayed, cut short} when the join replayed.
  using ReplayEnd = std::optional<std::pair<std::int64_t, bool>>;
  // Puts the socket in the room, tells the others, and answers.
  void enter_room(const ChatCall& call, const Room& room, bool already, ReplayEnd replayed_to);
  // Sends the replay of a join: messages in seq order while the budget
  // lasts and the connection is not backed up. Returns the last seq sent
  // (after_seq if none) and whether it stopped early.
  std::pair<std::int64_t, bool> replay(socketio::Socket& socket, std::int64_t after_seq, const HistoryPage& page,
                                       const Joiner& joiner, const ReactionsById& reactions);
  // Encoded size of a value (a reused buffer, no allocation once warm).
  std::size_t size_of(const Json& value);
  void room_leave(const ChatCall& call, const Json& p);
  void rooms_list(const ChatCall& call, const Json& p);
  // Sessions whose automatic end fell due while no process watched them
  // (a restart) are ended first, then the list is read again.
  void end_overdue_then_list(const ChatCall& call, const chat::RoomsList& in, const std::vector<RoomSummary>& list);
  void answer_rooms(const ChatCall& call, const chat::RoomsList& in, const std::vector<RoomSummary>& list);
  void member_add(const ChatCall& call, const Json& p);
  void add_member_checked(const ChatCall& call, const Room& room, const Member& added);
  void member_added(const ChatCall& call, const Room& room, const Member& added);
  void member_remove(const ChatCall& call, const Json& p);
  void remove_member_checked(const ChatCall& call, const Room& room, const std::string& target);
  void member_removed(const ChatCall& call, const Room& room, const std::string& target, const std::string& old_role);
  void session_end(const ChatCall& call, const Json& p);
  void session_token(const ChatCall& call, const Json& p);
  // A fresh join token for a session room: the token to hand out, with its
  // digest and expiry set on `room`.
  std::string new_join_token(Room& room);
  // Whether `token` lets its holder into `room` now.
  bool join_token_valid(const Room& room, const std::string& token) const;
  // --- message_ops.cpp
  // A socket's sends queue in its line (send_lines) and run one at a time
  // up to the store: send_now.
  void message_send(const ChatCall& call, const Json& p);
  void message_send_started(const ChatCall& call, const Json& p);
  void send_now(const ChatCall& call, const Json& p);
  // Starts the next send waiting in the socket's line, or forgets the line.
  void next_in_line(const std::string& sid);
  // Sends one socket may have waiting: max_waiting_sends, or the message
  // burst where that is larger.
  std::size_t waiting_sends_bound() const;
  // Permission and state checks, the sender, the filter, the observer.
  void send_checked(const ChatCall& call, const Room& room, NewMessage m);
  void append_message(const ChatCall& call, NewMessage m);
  void message_stored(const ChatCall& call, const Appended& a);
  // The opening of message:edit and message:delete: the message and its
  // room, which the caller must be able to read; failures answer the call.
  void with_readable_message(const ChatCall& call, const std::string& id,
                             std::function<void(const Message&, const Room&)> then);
  void message_edit(const ChatCall& call, const Json& p);
  void message_delete(const ChatCall& call, const Json& p);
  void message_history(const ChatCall& call, const Json& p);
  void message_read(const ChatCall& call, const Json& p);
  void message_search(const ChatCall& call, const Json& p);
  // --- notify_ops.cpp: members away from the room hear of a new message.
  void tell_away(const Message& m);
  // --- reaction_ops.cpp
  void reaction_add(const ChatCall& call, const Json& p);
  void reaction_remove(const ChatCall& call, const Json& p);
  void react(const ChatCall& call, const Json& p, bool add);
  // After a change: message:reactions to the room's sockets on every node
  // (each node reads the summary and fills in `me` per socket).
  void publish_reactions(const std::string& room, const std::string& id);
  // This node's part: read the summary (one read per message at a time),
  // then deliver_reactions.
  void refresh_reactions(const std::string& room, const std::string& id);
  void deliver_reactions(const std::string& room, const std::string& id, const Json& shared);
  // Whether another node's emit is a change notice for remote_reactions.
  static bool is_shared_reactions(const socketio::RemoteEmit& e);
  void remote_reactions(const Json& notice);
  // The reactions of a page of messages (`ids`: reaction_ids()) for the
  // caller, in one store read.
  void reactions_of(const ChatCall& call, std::vector<std::string> ids,
                    std::function<void(Result<ReactionsById>)> then);
  // The ids of the messages that may have reactions (not deleted).
  static std::vector<std::string> reaction_ids(const std::vector<Message>& messages);
  static void add_reactions(Json& message, const ReactionsById& reactions);
  // --- live_ops.cpp
  void typing(const ChatCall& call, const Json& p);
  // Starts (with the typist's role), refreshes or stops a socket's typing
  // in a room; the others hear of changes only.
  void set_typing(const std::string& sid, const Identity& who, const std::string& room, bool on,
                  const std::string& role = {});
  void presence_list(const ChatCall& call, const Json& p);
  void rtc_relay(const ChatCall& call, const Json& p, std::string_view event, std::string_view key);
  void rtc_offer(const ChatCall& call, const Json& p) { rtc_relay(call, p, "rtc:offer", "sdp"); }
  void rtc_answer(const ChatCall& call, const Json& p) { rtc_relay(call, p, "rtc:answer", "sdp"); }
  void rtc_ice(const ChatCall& call, const Json& p) { rtc_relay(call, p, "rtc:ice", "candidate"); }
  // --- quality_ops.cpp
  void rtc_stats(const ChatCall& call, const Json& p);
  void rtc_quality(const ChatCall& call, const Json& p);
  // The user of socket `sid` in `room`, on any node.
  std::optional<std::string> user_of_peer(const std::string& room, const std::string& sid);
  // Another node's rtc:stats report (ClusterLink's hook).
  void remote_call_stats(const std::string& room, const std::string& user, const std::string& peer_user,
                         const Json& sample);

  // --- moderation_ops.cpp (docs/protocol.md, "Moderation")
  void member_role(const ChatCall& call, const Json& p);
  void member_mute(const ChatCall& call, const Json& p);
  void member_unmute(const ChatCall& call, const Json& p);
  void room_slowmode(const ChatCall& call, const Json& p);
  void moderation_log(const ChatCall& call, const Json& p);
  // What a member needs to show: the mutes in force and slow mode.
  void moderation_state(const ChatCall& call, const Json& p);
  void user_ban(const ChatCall& call, const Json& p);
  void user_unban(const ChatCall& call, const Json& p);
  void bans_list(const ChatCall& call, const Json& p);
  // The server-wide log of bans and unbans (the audit log of no room).
  void bans_log(const ChatCall& call, const Json& p);
  // Owners, moderators, admins and services.
  bool moderates(const Actor& a, const Room& room) const;
  // The room's mutes and slow mode: cached, or from the store (always on
  // an operation's second run, call.fresh, like with_room_for).
  void with_moderation(const ChatCall& call, const std::string& room, std::function<void(const RoomModeration&)> then);
  // Runs `then` unless the caller is muted in `room`: then the call fails
  // `forbidden`, saying until when. For every event a mute silences
  // (message:send, typing, reaction:add).
  void when_not_muted(const ChatCall& call, const Room& room, std::function<void()> then);
  // when_not_muted, then the room's slow mode (message:send). A resend of
  // the member's last message (the same clientMsgId) passes, so that the
  // store answers it as a duplicate.
  void when_may_send(const ChatCall& call, const Room& room, const std::optional<std::string>& client_msg_id,
                     std::function<void()> then);
  // This node's view of a room's moderation is out of date.
  void forget_moderation(const std::string& room);
  // Appends to the room's audit log, then runs `then` (also when the
  // append failed: the action itself is done).
  void audit(const std::string& room, const Actor& by, std::string action, std::string target, Json detail,
             std::function<void()> then);
  // Bans: loaded at start and again whenever the bus comes back (what it
  // carried meanwhile may be lost), kept by every loop and node through the
  // bus. The loaded list replaces the one held.
  void load_bans();
  // The bus is back after an outage: room notices and bans may have been
  // missed, so forget the cached moderation and read the bans again.
  void bus_restored();
  // Keeps (or drops, when lifted) the ban and disconnects the user here.
  void apply_ban(const Ban& ban, bool lifted);
  void remote_ban(const Json& ban);
  std::optional<std::string> banned_reason(const std::string& user_id);

  socketio::Namespace& nsp;
  Store& store;
  EventLoop& loop;
  const Clock& clock;
  ChatOptions options;
  MessageFilter filter;
  MessageObserver* observer = nullptr;
  std::map<std::string, EventHandler, std::less<>> extra_events;
  std::unordered_map<std::string, SocketState> sockets;      // by sid
  // Everything below is bounded: by ChatOptions budgets, or by what is in
  // flight (sockets, their rooms, pending reads and writes).
  chat::LruCache<std::string> names{options.name_cache_bytes};  // user id -> display name last seen
  chat::RoomCache rooms_cache{options.room_cache_bytes};
  std::unordered_map<std::string, std::vector<std::shared_ptr<Joiner>>> joiners;  // by room
  std::unordered_map<std::string, EventLoop::TimerId> session_timers;  // room -> auto-end timer
  // In a cluster: sockets that replayed a room up to a seq, until the live
  // stream from other nodes passes it (room -> sid -> seq). At most one
  // entry per socket and room it joined.
  std::unordered_map<std::string, std::map<std::string, std::int64_t>> replayed;
  // lastSeen values this process set, while a store read may still miss
  // them; presence prefers them to the store's.
  chat::LastSeenCache last_seen_here;
  // rtc:stats summaries per room (ChatOptions::quality_rooms, quality_participants).
  chat::CallQualityBook quality{options.quality_rooms, options.quality_participants};
  // room_create_quota per user; a forgotten bucket is a full one.
  chat::LruCache<TokenBucket> create_quota{kMaxQuotaBuckets};
  static constexpr std::size_t kMaxQuotaBuckets = 100'000;
  // Messages whose reactions summary is being read for message:reactions
  // -> whether they changed again meanwhile (then it is read once more, so
  // the last summary sent is never older than the last change here). One
  // entry per message with a store read in flight.
  std::unordered_map<std::string, bool> reaction_reads;
  // A socket's message:send calls that wait for the one before them to
  // reach the store (message_send), by socket id; at most
  // options.max_waiting_sends each. An entry lives while a send of the
  // socket is on its way to the store.
  struct SendLine {
    std::deque<std::function<void()>> waiting;
  };
  std::unordered_map<std::string, SendLine> send_lines;
  ChatStats stats;
  std::string scratch_;  // size_of()'s buffer
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  // Moderation (moderation_ops.cpp). Rooms' settings, by estimated bytes;
  // an epoch so a read that a write overtook is not cached.
  chat::LruCache<RoomModeration> moderation_cache{kModerationCacheBytes};
  std::uint64_t moderation_epoch = 0;
  static constexpr std::size_t kModerationCacheBytes = 4 << 20;
  // Slow mode: when each (room, user) last sent on this node, at most
  // options.slow_mode_entries of them.
  struct LastSend {
    EventLoop::TimePoint at;
    std::optional<std::string> client_msg_id;
  };
  chat::LruCache<LastSend> last_sends{options.slow_mode_entries};
  // Bans in force, by user: at most options.max_bans. The epoch counts the
  // changes heard, so that a load a change overtook is read again.
  std::unordered_map<std::string, Ban> bans;
  std::uint64_t ban_epoch = 0;
  // Set by join_cluster; destroyed first (it stops its callbacks).
  std::unique_ptr<chat::ClusterLink> cluster;
};

}  // namespace realtime
