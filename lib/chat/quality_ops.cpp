// Call quality: rtc:stats (a socket's summary of one peer connection's
// getStats(), counted in the histograms and the room's CallQualityBook,
// and told to the other nodes) and rtc:quality (the room's summary, for its
// owner, admins and the service; REST GET /api/rooms/{id}/quality).
#include "chat/service_impl.h"

namespace realtime {

void ChatService::Impl::rtc_stats(const ChatCall& call, const Json& p) {
  auto in = chat::parse_rtc_stats(p);
  if (!in.ok()) return call.fail(in.status());
  const std::string room = in->room;  // `in` moves into the continuation
  with_room_for(call, room, on_ok(call, [this, call, in = std::move(in).value()](Room r) {
    // As for the rtc:* relay: an ended session first, then the socket.
    if (r.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    SocketState* st = state(call.socket->id());
    if (!st || !st->rooms.contains(r.id)) return call.fail(Status::forbidden("join the room first"));
    std::string peer_user;
    if (in.peer) {
      auto user = user_of_peer(r.id, *in.peer);
      if (!user) return call.fail(Status::peer_not_found("no peer " + *in.peer + " in " + r.id));
      peer_user = std::move(*user);
    }
    const std::string& user = call.actor.identity.user_id;
    stats.call.observe(in.sample);
    if (!quality.add(r.id, user, peer_user, in.sample, clock.now())) ++stats.call.not_kept;
    if (cluster) cluster->call_stats(r.id, user, peer_user, chat::call_sample_json(in.sample));
    call.ok(Json::object());
  }));
}

std::optional<std::string> ChatService::Impl::user_of_peer(const std::string& room, const std::string& sid) {
  if (SocketState* peer = state(sid); peer && peer->rooms.contains(room))
    if (socketio::Socket* s = nsp.socket(sid)) return s->identity().user_id;
  if (cluster)
    if (const chat::RemoteSocket* s = cluster->roster().find(room, sid)) return s->user_id;
  return std::nullopt;
}

void ChatService::Impl::remote_call_stats(const std::string& room, const std::string& user,
                                          const std::string& peer_user, const Json& sample) {
  // Another node checked the report; its figures are checked again here all
  // the same (the bus is another process's word).
  auto s = chat::parse_call_sample(sample);
  if (!s.ok() || !is_valid_room_id(room) || user.empty()) return;
  quality.add(room, user, peer_user, *s, clock.now());
}

void ChatService::Impl::rtc_quality(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_room_for(call, in->room, on_ok(call, [this, call](Room r) {
    const Member* m = call.actor.service ? nullptr : r.member(call.actor.identity.user_id);
    const bool owner = m != nullptr && m->role == "owner";
    if (!call.actor.service && !is_admin(call.actor) && !owner)
      return call.fail(Status::forbidden("only the room's owner reads its call quality"));
    Json out = quality.summary(r.id);
    out.set("room", r.id);
    call.ok(std::move(out));
  }));
}

}  // namespace realtime
