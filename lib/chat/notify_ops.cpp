// Away notices: after a message is stored, each member with no socket in
// its room on any loop or node hears of it through the embedder's
// Notifier (realtime/notifier.h). Runs on the node that stored the
// message, so a cluster tells each away member once.
#include <set>

#include "chat/service_impl.h"
#include "realtime/utf8.h"

namespace realtime {
namespace {

// The text's opening, cut on a character boundary with an ellipsis; an
// attachment's name stands in for a message without text.
std::string preview_of(const Message& m) {
  std::string_view text = m.text;
  std::string bracketed;
  if (text.empty() && m.attachment) {
    bracketed = "[";
    bracketed += m.attachment->name.empty() ? std::string(to_string(m.type)) : m.attachment->name;
    bracketed += "]";
    text = bracketed;
  }
  constexpr std::size_t max = AwayNotice::kMaxPreviewBytes;
  if (text.size() <= max) return std::string(text);
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026
  std::string out(utf8_prefix(text, max - kEllipsis.size()));
  out += kEllipsis;
  return out;
}

}  // namespace

void ChatService::Impl::tell_away(const Message& m) {
  if (!options.notifier || m.type == MessageType::system) return;
  with_room(m.room, guard([this, m](Result<Room> r) {
    // The message is stored and answered; a room that cannot be read now
    // costs its notices only.
    if (!r.ok() || !options.notifier) return;
    AwayNotice n;
    n.room = r->id;
    n.room_title = r->title;
    n.message_id = m.id;
    n.seq = m.seq;
    n.sender_id = m.sender_id;
    n.sender_name = m.sender_name;
    n.preview = preview_of(m);
    n.at = m.created_at;
    // A socket whose room:join is replaying the room gets this message in
    // its replay: its user is back, not away.
    std::set<std::string> joining;
    if (auto j = joiners.find(r->id); j != joiners.end())
      for (const auto& joiner : j->second)
        if (socketio::Socket* s = nsp.socket(joiner->sid)) joining.insert(s->identity().user_id);
    for (const Member& member : r->members) {
      // A banned user gets no previews of the rooms they were shut out of.
      if (member.user_id == m.sender_id || joining.contains(member.user_id) ||
          user_online_in(r->id, member.user_id) || banned_reason(member.user_id))
        continue;
      n.user_id = member.user_id;
      options.notifier->notify(n);
    }
  }));
}

}  // namespace realtime
