// Reactions: reaction:add, reaction:remove, and the reactions summary on
// message objects (history, search, join replay) and in message:reactions.
//
// message:reactions carries `me` for each receiving socket's user, so it
// cannot be one frame for the whole room. After a change, every node with
// sockets in the room reads the message's summary itself, with the first
// kListedReactors user ids of each emoji, and makes one emit per socket of
// its own with `me` set from that list (refresh_reactions). The node that
// made the change tells the others with a room emit that excludes the room
// itself: the namespace delivers it to nobody, and each node's delivering
// hook (adjust_remote_emit) starts its read. Each node reads after every
// notice it got, one read at a time per message, so the last event each
// socket gets shows the last change, whichever nodes made the changes. An
// emoji with more reactors than are listed gets no `me` in live updates
// (docs/protocol.md): history and the replay read it for the asking user.
#include <algorithm>

#include "chat/service_impl.h"

namespace realtime {
namespace {

constexpr std::size_t kMaxEmojisPerMessage = 50;
constexpr std::size_t kListedReactors = 16;
constexpr std::string_view kReactionsEvent = "message:reactions";

// The summary as a message object's `reactions`: [{emoji, count, me?}].
Json viewer_json(const std::vector<ReactionCount>& reactions) {
  Json out = Json::array();
  for (const auto& r : reactions) {
    Json e = Json::object({{"emoji", r.emoji}, {"count", static_cast<long long>(r.count)}});
    if (r.me) e.set("me", true);
    out.push(std::move(e));
  }
  return out;
}

// The summary as deliver_reactions takes it: [{emoji, count, users?}],
// users when all of them are listed.
Json shared_json(const std::vector<ReactionCount>& reactions) {
  Json out = Json::array();
  for (const auto& r : reactions) {
    Json e = Json::object({{"emoji", r.emoji}, {"count", static_cast<long long>(r.count)}});
    if (r.count <= static_cast<std::int64_t>(kListedReactors)) {
      Json users = Json::array();
      for (const auto& u : r.users) users.push(Json(u));
      e.set("users", std::move(users));
    }
    out.push(std::move(e));
  }
  return out;
}

// One user's view of a shared summary: `me` where they are listed.
Json view_for(const Json& shared, const std::string& user) {
  Json out = Json::array();
  for (const Json& e : shared.as_array()) {
    if (!e.is_object() || !e["emoji"].is_string() || !e["count"].is_int()) continue;
    Json v = Json::object({{"emoji", e["emoji"]}, {"count", e["count"]}});
    const Json& users = e["users"];
    if (users.is_array() && std::any_of(users.as_array().begin(), users.as_array().end(),
                                        [&](const Json& u) { return u.is_string() && u.as_string() == user; }))
      v.set("me", true);
    out.push(std::move(v));
  }
  return out;
}

}  // namespace

void ChatService::Impl::reaction_add(const ChatCall& call, const Json& p) { react(call, p, true); }
void ChatService::Impl::reaction_remove(const ChatCall& call, const Json& p) { react(call, p, false); }

void ChatService::Impl::react(const ChatCall& call, const Json& p, bool add) {
  auto in = chat::parse_reaction(p);
  if (!in.ok()) return call.fail(in.status());
  if (call.actor.identity.user_id.empty()) return call.fail(Status::bad_request("userId is required"));
  with_readable_message(call, in->id, [this, call, emoji = in->emoji, add](const Message& msg, const Room& room) {
    const std::string& user = call.actor.identity.user_id;
    if (!room.member(user) && !is_admin(call.actor)) return call.fail(Status::forbidden("not a member of " + room.id));
    if (msg.deleted) return call.fail(Status::not_found("message " + msg.id + " was deleted"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    auto done = on_ok(call, [this, call, room = room.id, id = msg.id](bool changed) {
      if (changed) publish_reactions(room, id);
      call.ok(Json::object());
    });
    if (!add) return store.remove_reaction(msg.id, user, emoji, std::move(done));
    // A muted member may still take a reaction back, not add one.
    when_not_muted(call, room, [this, id = msg.id, user, emoji, done = std::move(done)]() mutable {
      store.add_reaction(id, user, emoji, kMaxEmojisPerMessage, std::move(done));
    });
  });
}

void ChatService::Impl::publish_reactions(const std::string& room, const std::string& id) {
  refresh_reactions(room, id);
  if (cluster)
    nsp.to(hub_room(room)).except(hub_room(room)).emit(kReactionsEvent, Json::object({{"room", room}, {"id", id}}));
}

void ChatService::Impl::refresh_reactions(const std::string& room, const std::string& id) {
  if (nsp.hub().connections_in(hub_room(room)).empty()) return;
  // Reads of one message's summary may answer out of order (several store
  // readers): one at a time per message, and once more if it changed.
  if (auto reading = reaction_reads.find(id); reading != reaction_reads.end()) {
    reading->second = true;
    return;
  }
  reaction_reads.emplace(id, false);
  store.reactions({id}, "", kListedReactors, guard([this, room, id](Result<std::vector<MessageReactions>> r) {
    const auto reading = reaction_reads.find(id);
    const bool again = reading != reaction_reads.end() && reading->second;
    if (reading != reaction_reads.end()) reaction_reads.erase(reading);
    if (again) return refresh_reactions(room, id);
    // The change is stored either way; the next one carries it.
    if (!r.ok()) return;
    deliver_reactions(room, id, r->empty() ? Json::array() : shared_json(r->front().reactions));
  }));
}

bool ChatService::Impl::is_shared_reactions(const socketio::RemoteEmit& e) {
  const auto ev = chat_event_of(e);
  return ev && ev->second == kReactionsEvent &&
         std::find(e.except.begin(), e.except.end(), e.rooms.front()) != e.except.end();
}

void ChatService::Impl::deliver_reactions(const std::string& room, const std::string& id, const Json& shared) {
  // Sockets of one user share their view.
  std::map<std::string, Json, std::less<>> views;
  for (const auto& sid : nsp.hub().connections_in(hub_room(room))) {
    socketio::Socket* s = nsp.socket(sid);
    if (!s) continue;
    const std::string& user = s->identity().user_id;
    auto view = views.find(user);
    if (view == views.end()) view = views.emplace(user, view_for(shared, user)).first;
    s->emit(kReactionsEvent, Json::object({{"room", room}, {"id", id}, {"reactions", view->second}}));
  }
}

void ChatService::Impl::remote_reactions(const Json& notice) {
  const Json& room = notice["room"];
  const Json& id = notice["id"];
  if (room.is_string() && id.is_string()) refresh_reactions(room.as_string(), id.as_string());
}

std::vector<std::string> ChatService::Impl::reaction_ids(const std::vector<Message>& messages) {
  std::vector<std::string> ids;
  for (const auto& m : messages)
    if (!m.deleted) ids.push_back(m.id);
  return ids;
}

void ChatService::Impl::reactions_of(const ChatCall& call, std::vector<std::string> ids,
                                     std::function<void(Result<ReactionsById>)> then) {
  if (ids.empty()) return then(ReactionsById{});
  store.reactions(std::move(ids), call.actor.identity.user_id, 0,
                  guard([then = std::move(then)](Result<std::vector<MessageReactions>> found) {
                    if (!found.ok()) return then(found.status());
                    ReactionsById out;
                    for (const auto& mr : *found) out.emplace(mr.message_id, viewer_json(mr.reactions));
                    then(std::move(out));
                  }));
}

void ChatService::Impl::add_reactions(Json& message, const ReactionsById& reactions) {
  const Json* id = message.find("id");
  if (!id || !id->is_string()) return;
  if (auto it = reactions.find(id->as_string()); it != reactions.end()) message.set("reactions", it->second);
}

}  // namespace realtime
