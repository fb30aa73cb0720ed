// Message operations: send, edit, delete, history, read receipts, search.
// Each starts by parsing its payload (payloads.h), then reads what it acts
// on; the named steps after it (service_impl.h) do the rest.
#include <algorithm>

#include "chat/service_impl.h"

namespace realtime {
namespace {

// What a caller who may not read the message's room hears: the same as
// for an id that does not exist, since ids are sequential.
Status no_such_message(const std::string& id) { return Status::not_found("no message " + id); }

}  // namespace

void ChatService::Impl::message_send(const ChatCall& call, const Json& p) {
  // A socket's sends reach the store in the order it sent them, whatever
  // the checks before each take (a room or its moderation read from the
  // store, the observer's work on an attachment): each starts once the one
  // before it is handed to the store or answered. Calls without a socket
  // go at once.
  if (!call.socket) return send_now(call, p);
  const std::string sid = call.socket->id();
  auto [line, idle] = send_lines.try_emplace(sid);
  if (!idle && call.fresh) {
    // A second run after a refusal on a cached room (a cluster) comes from
    // inside the first run's answer, which hands the turn on next: the
    // second run takes it, ahead of the sends that waited behind the first.
    line->second.waiting.push_front([this, call, p] { message_send_started(call, p); });
    return;
  }
  if (!idle) {
    if (line->second.waiting.size() >= waiting_sends_bound())
      return call.fail(Status::rate_limited("too many messages waiting to be stored; slow down"));
    line->second.waiting.push_back([this, call, p] { message_send_started(call, p); });
    return;
  }
  message_send_started(call, p);
}

void ChatService::Impl::message_send_started(const ChatCall& call, const Json& p) {
  auto done = std::make_shared<bool>(false);
  ChatCall c = call;
  c.handed = std::make_shared<const std::function<void()>>(
      [this, alive = std::weak_ptr<char>(alive_), sid = call.socket->id(), done] {
        if (*done || alive.expired()) return;
        *done = true;
        next_in_line(sid);
      });
  c.reply = [handed = c.handed, reply = call.reply](Result<Json> r) {
    reply(std::move(r));
    (*handed)();
  };
  send_now(c, p);
}

std::size_t ChatService::Impl::waiting_sends_bound() const {
  // A socket that keeps to its rate limit is never refused for waiting:
  // its burst may all be in the line at once.
  return std::max(options.max_waiting_sends, static_cast<std::size_t>(std::max(0.0, options.message_rate.burst)));
}

void ChatService::Impl::next_in_line(const std::string& sid) {
  auto line = send_lines.find(sid);
  if (line == send_lines.end()) return;
  if (line->second.waiting.empty()) {
    send_lines.erase(line);
    return;
  }
  auto next = std::move(line->second.waiting.front());
  line->second.waiting.pop_front();
  next();
}

void ChatService::Impl::send_now(const ChatCall& call, const Json& p) {
  auto m = chat::parse_message_send(p, options.max_text_chars);
  if (!m.ok()) return call.fail(m.status());
  const std::string room = m->room;
  with_room_for(call, room, on_ok(call, [this, call, m = std::move(m).value()](Room r) mutable {
    const auto client_msg_id = m.client_msg_id;
    when_may_send(call, r, client_msg_id,
                  [this, call, r, m = std::move(m)]() mutable { send_checked(call, r, std::move(m)); });
  }));
}

void ChatService::Impl::send_checked(const ChatCall& call, const Room& room, NewMessage m) {
  const Identity& who = call.actor.identity;
  if (!room.member(who.user_id) && !is_admin(call.actor))
    return call.fail(Status::forbidden("not a member of " + room.id));
  if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
  m.sender_id = who.user_id;
  m.sender_name = who.name.empty() ? who.user_id : who.name;
  // The sender's room role, whoever publishes: a service call's own idea
  // of the role (REST's senderRole) is not stored.
  m.sender_role = role_in(room, who);
  m.created_at = clock.now();
  if (filter)
    if (Status s = filter(who, m); !s.ok()) return call.fail(s);
  // An observer (chatd's attachments) may hold the message back until it
  // has recorded what it needs to.
  if (!observer) return append_message(call, std::move(m));
  auto held = std::make_shared<NewMessage>(std::move(m));
  observer->before_store(*held, guard([this, call, held](Status s) {
    if (!s.ok()) return call.fail(s);
    append_message(call, std::move(*held));
  }));
}

void ChatService::Impl::append_message(const ChatCall& call, NewMessage m) {
  auto shown = observer ? std::make_shared<const NewMessage>(m) : nullptr;
  store.append(std::move(m), guard([this, call, shown](Result<Appended> a) {
    // The observer hears of every outcome, failures included.
    if (shown && observer) observer->after_store(*shown, a);
    if (!a.ok()) return call.fail(a.status());
    message_stored(call, *a);
  }));
  // Queued behind this one in the store: the socket's next send may go.
  if (call.handed) (*call.handed)();
}

void ChatService::Impl::message_stored(const ChatCall& call, const Appended& a) {
  if (!a.duplicate) {
    publish(a.message);
    tell_away(a.message);
    // The sending socket hears of its message even when it has not
    // joined the room (a member may send without joining), unless it is
    // joining it now: then publish() held the message for its replay.
    if (call.socket && !nsp.hub().in_room(call.socket->id(), hub_room(a.message.room)) &&
        !is_joining(a.message.room, call.socket->id()))
      call.socket->emit("message:new", Json::object({{"message", chat::to_json(a.message)}}));
  }
  Json out = Json::object({{"message", chat::to_json(a.message)}});
  if (a.duplicate) out.set("duplicate", true);
  call.ok(std::move(out));
}

void ChatService::Impl::with_readable_message(const ChatCall& call, const std::string& id,
                                              std::function<void(const Message&, const Room&)> then) {
  store.get_message(id, on_ok(call, [this, call, then = std::move(then)](Message msg) {
    with_room_for(call, msg.room, on_ok(call, [this, call, then, msg](Room room) {
      if (!may_read(call.actor, room)) return call.fail(no_such_message(msg.id));
      then(msg, room);
    }));
  }));
}

void ChatService::Impl::message_edit(const ChatCall& call, const Json& p) {
  auto in = chat::parse_message_edit(p, options.max_text_chars);
  if (!in.ok()) return call.fail(in.status());
  with_readable_message(call, in->id, [this, call, text = in->text](const Message& msg, const Room& room) {
    if (msg.deleted) return call.fail(Status::not_found("message " + msg.id + " was deleted"));
    // Membership now, not at sending: a removed member's words stay as they were.
    if (!is_admin(call.actor) && !(msg.sender_id == call.actor.identity.user_id && room.member(msg.sender_id)))
      return call.fail(Status::forbidden("only the sender may edit a message"));
    if (msg.type == MessageType::system) return call.fail(Status::forbidden("system messages cannot be edited"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    store.edit_message(msg.id, text, clock.now(), on_ok(call, [this, call](Message edited) {
      Json mj = chat::to_json(edited);
      nsp.to(hub_room(edited.room)).emit("message:edited", Json::object({{"message", mj}}));
      call.ok(Json::object({{"message", std::move(mj)}}));
    }));
  });
}

void ChatService::Impl::message_delete(const ChatCall& call, const Json& p) {
  auto in = chat::parse_message_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_message(call, in->id, [this, call](const Message& msg, const Room& room) {
    const Member* me = room.member(call.actor.identity.user_id);
    const bool own = me && msg.sender_id == me->user_id;
    // Owners and moderators (moderation_ops.cpp) delete anyone's message.
    // A service acts as the member it names, with that member's role.
    const bool moderating = !own && (is_admin(call.actor) || (me && (me->role == "owner" || me->role == "moderator")));
    if (!own && !moderating)
      return call.fail(Status::forbidden("only the sender, a moderator or the room owner may delete"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    if (msg.deleted) return call.ok(Json::object());
    store.delete_message(msg.id, on_ok(call, [this, call, msg, moderating](Message deleted) {
      if (observer) observer->deleted(msg);
      nsp.to(hub_room(deleted.room)).emit("message:deleted", Json::object({{"room", deleted.room}, {"id", deleted.id}}));
      if (!moderating) return call.ok(Json::object());
      audit(deleted.room, call.actor, "delete", deleted.id, Json::object({{"sender", msg.sender_id}}),
            [call] { call.ok(Json::object()); });
    }));
  });
}

void ChatService::Impl::message_history(const ChatCall& call, const Json& p) {
  auto in = chat::parse_message_history(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [this, call, q = in->query](const Room& room) {
    store.history(room.id, q, on_ok(call, [this, call, q](HistoryPage read) {
      auto ids = reaction_ids(read.messages);
      reactions_of(call, std::move(ids), [this, call, q, page = std::move(read)](Result<ReactionsById> reactions) {
        if (!reactions.ok()) return call.fail(reactions.status());
        // Within max_answer_bytes, cut at the far end from the cursor, so
        // that the next page (before = first seq, or after = last seq) takes
        // up exactly where this one stops.
        const bool keep_newest = !q.after;
        std::vector<Json> items;
        std::vector<std::size_t> sizes;
        items.reserve(page.messages.size());
        sizes.reserve(page.messages.size());
        auto add = [&](const Message& m) {
          items.push_back(chat::to_json(m));
          add_reactions(items.back(), *reactions);
          sizes.push_back(size_of(items.back()));
        };
        if (keep_newest)
          for (auto it = page.messages.rbegin(); it != page.messages.rend(); ++it) add(*it);
        else
          for (const auto& m : page.messages) add(m);
        const std::size_t n = chat::fitting(sizes, options.max_answer_bytes);
        items.resize(n);
        if (keep_newest) std::reverse(items.begin(), items.end());
        const bool cut = n < page.messages.size();
        call.ok(Json::object({{"messages", Json(std::move(items))}, {"hasMore", page.has_more || cut}}));
      });
    }));
  });
}

void ChatService::Impl::message_read(const ChatCall& call, const Json& p) {
  auto in = chat::parse_message_read(p);
  if (!in.ok()) return call.fail(in.status());
  if (call.actor.identity.user_id.empty()) return call.fail(Status::bad_request("userId is required"));
  with_room_for(call, in->room, on_ok(call, [this, call, seq = in->seq](Room r) {
    if (!r.member(call.actor.identity.user_id) && !is_admin(call.actor))
      return call.fail(Status::forbidden("not a member of " + r.id));
    const std::string room = r.id;
    store.mark_read(room, call.actor.identity.user_id, seq, on_ok(call, [this, call, room](ReadMark mark) {
      if (mark.moved)
        nsp.to(hub_room(room)).emit("message:read", Json::object({{"room", room},
                                                                  {"userId", call.actor.identity.user_id},
                                                                  {"seq", static_cast<long long>(mark.seq)}}));
      call.ok(Json::object());
    }));
  }));
}

void ChatService::Impl::message_search(const ChatCall& call, const Json& p) {
  auto in = chat::parse_message_search(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [this, call, q = in->q, n = in->limit](const Room& room) {
    store.search(room.id, q, n, on_ok(call, [this, call](std::vector<Message> read) {
      auto ids = reaction_ids(read);
      reactions_of(call, std::move(ids), [this, call, found = std::move(read)](Result<ReactionsById> reactions) {
        if (!reactions.ok()) return call.fail(reactions.status());
        // Newest first; what passes max_answer_bytes (the oldest) is left out.
        std::vector<Json> items;
        std::vector<std::size_t> sizes;
        for (const auto& m : found) {
          items.push_back(chat::to_json(m));
          add_reactions(items.back(), *reactions);
          sizes.push_back(size_of(items.back()));
        }
        items.resize(chat::fitting(sizes, options.max_answer_bytes));
        call.ok(Json::object({{"messages", Json(std::move(items))}}));
      });
    }));
  });
}

}  // namespace realtime
