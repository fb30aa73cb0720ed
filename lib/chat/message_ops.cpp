// Message operations: send, edit, delete, history, read receipts, search.
#include <algorithm>

#include "chat/service_impl.h"
#include "chat/text.h"

namespace realtime {
namespace {

constexpr std::size_t kMaxClientMsgIdChars = 128;
constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxQueryBytes = 256;

// Text rules shared by send and edit. `blank_ok` when an attachment carries the message.
Status check_text(const std::string& text, std::size_t max_chars, bool blank_ok) {
  auto chars = chat::utf8_length(text);
  if (!chars) return Status::bad_request("text is not valid UTF-8");
  if (*chars > max_chars)
    return Status::payload_too_large("text is longer than " + std::to_string(max_chars) + " characters");
  if (!blank_ok && chat::is_blank(text)) return Status::bad_request("text is empty");
  return {};
}

// What a caller who may not read the message's room hears: the same as
// for an id that does not exist, since ids are sequential.
Status no_such_message(const std::string& id) { return Status::not_found("no message " + id); }

Result<std::string> required_message_id(const Json& p) {
  auto id = chat::required_string(p, "id");
  if (!id.ok()) return id;
  if (id->empty() || id->size() > kMaxIdBytes) return Status::bad_request("id is not a message id");
  return id;
}

}  // namespace

void ChatService::Impl::message_send(const ChatCall& call, const Json& p) {
  auto room_id = chat::required_room_id(p);
  if (!room_id.ok()) return call.fail(room_id.status());
  auto text = chat::optional_string(p, "text");
  if (!text.ok()) return call.fail(text.status());
  auto type_name = chat::optional_string(p, "type");
  if (!type_name.ok()) return call.fail(type_name.status());
  auto type = parse_message_type(type_name->value_or("text"));
  if (!type || *type == MessageType::system) return call.fail(Status::bad_request("type must be text, image or file"));
  auto reply_to = chat::optional_string(p, "replyTo");
  if (!reply_to.ok()) return call.fail(reply_to.status());
  if (*reply_to && (*reply_to)->size() > kMaxIdBytes) return call.fail(Status::bad_request("replyTo is not a message id"));
  auto client_id = chat::optional_string(p, "clientMsgId");
  if (!client_id.ok()) return call.fail(client_id.status());
  if (*client_id) {
    auto n = chat::utf8_length(**client_id);
    if (!n || *n == 0 || *n > kMaxClientMsgIdChars)
      return call.fail(Status::bad_request("clientMsgId must be 1 to 128 characters"));
  }
  std::optional<Attachment> attachment;
  if (!p["attachment"].is_null()) {
    auto a = chat::parse_attachment(p["attachment"]);
    if (!a.ok()) return call.fail(a.status());
    attachment = std::move(a).value();
  }
  if (*type != MessageType::text && !attachment)
    return call.fail(Status::bad_request("image and file messages need an attachment"));
  if (Status s = check_text(text->value_or(""), options.max_text_chars, attachment.has_value()); !s.ok())
    return call.fail(s);

  NewMessage m;
  m.room = *room_id;
  m.type = *type;
  m.text = text->value_or("");
  m.reply_to = *reply_to;
  m.attachment = std::move(attachment);
  m.client_msg_id = *client_id;
  with_room(*room_id, [this, call, m = std::move(m)](Result<Room> r) mutable {
    if (!r.ok()) return call.fail(r.status());
    const Identity& who = call.actor.identity;
    if (!r->member(who.user_id) && !is_admin(call.actor))
      return call.fail(Status::forbidden("not a member of " + r->id));
    if (r->status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    m.sender_id = who.user_id;
    m.sender_name = who.name.empty() ? who.user_id : who.name;
    // The sender's room role, whoever publishes: a service call's own idea
    // of the role (REST's senderRole) is not stored.
    m.sender_role = role_in(*r, who);
    m.created_at = clock.now();
    if (filter)
      if (Status s = filter(who, m); !s.ok()) return call.fail(s);
    auto append = [this, call](NewMessage msg) {
      auto shown = observer ? std::make_shared<const NewMessage>(msg) : nullptr;
      store.append(std::move(msg), guard([this, call, shown](Result<Appended> a) {
        if (shown && observer) observer->after_store(*shown, a);
        if (!a.ok()) return call.fail(a.status());
        if (!a->duplicate) {
          publish(a->message);
          // The sending socket hears of its message even when it has not
          // joined the room (a member may send without joining).
          if (call.socket && !nsp.hub().in_room(call.socket->id(), hub_room(a->message.room)))
            call.socket->emit("message:new", Json::object({{"message", chat::to_json(a->message)}}));
        }
        Json out = Json::object({{"message", chat::to_json(a->message)}});
        if (a->duplicate) out.set("duplicate", true);
        call.ok(std::move(out));
      }));
    };
    // An observer (chatd's attachments) may hold the message back until it
    // has recorded what it needs to.
    if (!observer) return append(std::move(m));
    auto held = std::make_shared<NewMessage>(std::move(m));
    observer->before_store(*held, guard([call, held, append](Status s) {
      if (!s.ok()) return call.fail(s);
      append(std::move(*held));
    }));
  });
}

void ChatService::Impl::message_edit(const ChatCall& call, const Json& p) {
  auto id = required_message_id(p);
  if (!id.ok()) return call.fail(id.status());
  auto text = chat::required_string(p, "text");
  if (!text.ok()) return call.fail(text.status());
  if (Status s = check_text(*text, options.max_text_chars, false); !s.ok()) return call.fail(s);
  store.get_message(*id, guard([this, call, text = *text](Result<Message> m) {
    if (!m.ok()) return call.fail(m.status());
    const Message msg = *m;
    with_room(msg.room, [this, call, msg, text](Result<Room> r) {
      if (!r.ok()) return call.fail(r.status());
      if (!may_read(call.actor, *r)) return call.fail(no_such_message(msg.id));
      if (msg.deleted) return call.fail(Status::not_found("message " + msg.id + " was deleted"));
      // Membership now, not at sending: a removed member's words stay as they were.
      if (!is_admin(call.actor) && !(msg.sender_id == call.actor.identity.user_id && r->member(msg.sender_id)))
        return call.fail(Status::forbidden("only the sender may edit a message"));
      if (msg.type == MessageType::system) return call.fail(Status::forbidden("system messages cannot be edited"));
      if (r->status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
      store.edit_message(msg.id, text, clock.now(), guard([this, call](Result<Message> edited) {
        if (!edited.ok()) return call.fail(edited.status());
        Json mj = chat::to_json(*edited);
        nsp.to(hub_room(edited->room)).emit("message:edited", Json::object({{"message", mj}}));
        call.ok(Json::object({{"message", std::move(mj)}}));
      }));
    });
  }));
}

void ChatService::Impl::message_delete(const ChatCall& call, const Json& p) {
  auto id = required_message_id(p);
  if (!id.ok()) return call.fail(id.status());
  store.get_message(*id, guard([this, call](Result<Message> m) {
    if (!m.ok()) return call.fail(m.status());
    const Message msg = *m;
    with_room(msg.room, [this, call, msg](Result<Room> r) {
      if (!r.ok()) return call.fail(r.status());
      if (!may_read(call.actor, *r)) return call.fail(no_such_message(msg.id));
      const Member* me = r->member(call.actor.identity.user_id);
      const bool allowed = is_admin(call.actor) || (me && (me->role == "owner" || msg.sender_id == me->user_id));
      if (!allowed) return call.fail(Status::forbidden("only the sender or the room owner may delete"));
      if (r->status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
      if (msg.deleted) return call.ok(Json::object());
      store.delete_message(msg.id, guard([this, call, msg](Result<Message> deleted) {
        if (!deleted.ok()) return call.fail(deleted.status());
        if (observer) observer->deleted(msg);
        nsp.to(hub_room(deleted->room))
            .emit("message:deleted", Json::object({{"room", deleted->room}, {"id", deleted->id}}));
        call.ok(Json::object());
      }));
    });
  }));
}

void ChatService::Impl::message_history(const ChatCall& call, const Json& p) {
  auto before = chat::optional_int(p, "before");
  auto after = chat::optional_int(p, "after");
  auto limit = chat::optional_int(p, "limit");
  for (const auto* r : {&before, &after, &limit})
    if (!r->ok()) return call.fail(r->status());
  HistoryQuery q;
  q.before = *before;
  q.after = *after;
  q.limit = static_cast<int>(std::clamp<std::int64_t>(limit->value_or(50), 1, 200));
  with_readable_room(call, p, [this, call, q](const Room& room) {
    store.history(room.id, q, guard([this, call, q](Result<HistoryPage> page) {
      if (!page.ok()) return call.fail(page.status());
      // Within max_answer_bytes, cut at the far end from the cursor, so
      // that the next page (before = first seq, or after = last seq) takes
      // up exactly where this one stops.
      const bool keep_newest = !q.after;
      std::vector<Json> items;
      std::vector<std::size_t> sizes;
      items.reserve(page->messages.size());
      sizes.reserve(page->messages.size());
      auto add = [&](const Message& m) {
        items.push_back(chat::to_json(m));
        sizes.push_back(size_of(items.back()));
      };
      if (keep_newest)
        for (auto it = page->messages.rbegin(); it != page->messages.rend(); ++it) add(*it);
      else
        for (const auto& m : page->messages) add(m);
      const std::size_t n = chat::fitting(sizes, options.max_answer_bytes);
      items.resize(n);
      if (keep_newest) std::reverse(items.begin(), items.end());
      const bool cut = n < page->messages.size();
      call.ok(Json::object({{"messages", Json(std::move(items))}, {"hasMore", page->has_more || cut}}));
    }));
  });
}

void ChatService::Impl::message_read(const ChatCall& call, const Json& p) {
  auto room_id = chat::required_room_id(p);
  if (!room_id.ok()) return call.fail(room_id.status());
  auto seq = chat::optional_int(p, "seq");
  if (!seq.ok()) return call.fail(seq.status());
  if (!*seq || **seq < 0) return call.fail(Status::bad_request("seq is required and must not be negative"));
  if (call.actor.identity.user_id.empty()) return call.fail(Status::bad_request("userId is required"));
  with_room(*room_id, [this, call, seq = **seq](Result<Room> r) {
    if (!r.ok()) return call.fail(r.status());
    if (!r->member(call.actor.identity.user_id) && !is_admin(call.actor))
      return call.fail(Status::forbidden("not a member of " + r->id));
    const std::string room = r->id;
    store.mark_read(room, call.actor.identity.user_id, seq, guard([this, call, room](Result<ReadMark> mark) {
      if (!mark.ok()) return call.fail(mark.status());
      if (mark->moved)
        nsp.to(hub_room(room)).emit("message:read", Json::object({{"room", room},
                                                                  {"userId", call.actor.identity.user_id},
                                                                  {"seq", static_cast<long long>(mark->seq)}}));
      call.ok(Json::object());
    }));
  });
}

void ChatService::Impl::message_search(const ChatCall& call, const Json& p) {
  auto q = chat::required_string(p, "q");
  if (!q.ok()) return call.fail(q.status());
  if (q->size() > kMaxQueryBytes) return call.fail(Status::bad_request("q is too long"));
  auto limit = chat::optional_int(p, "limit");
  if (!limit.ok()) return call.fail(limit.status());
  const int n = static_cast<int>(std::clamp<std::int64_t>(limit->value_or(20), 1, 100));
  with_readable_room(call, p, [this, call, q = *q, n](const Room& room) {
    store.search(room.id, q, n, guard([this, call](Result<std::vector<Message>> found) {
      if (!found.ok()) return call.fail(found.status());
      // Newest first; what passes max_answer_bytes (the oldest) is left out.
      std::vector<Json> items;
      std::vector<std::size_t> sizes;
      for (const auto& m : *found) {
        items.push_back(chat::to_json(m));
        sizes.push_back(size_of(items.back()));
      }
      items.resize(chat::fitting(sizes, options.max_answer_bytes));
      call.ok(Json::object({{"messages", Json(std::move(items))}}));
    }));
  });
}

}  // namespace realtime
