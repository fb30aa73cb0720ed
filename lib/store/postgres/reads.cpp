// Read calls of the PostgreSQL store (see reads.h). Each is one statement
// (one snapshot), or several inside one REPEATABLE READ transaction when
// the answer combines queries. Reader threads only.
#include "store/postgres/reads.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

#include "store/postgres/values.h"

namespace realtime::pg {
namespace {

// Runs a pipeline; a server error becomes the Status.
Result<Outcome> exec(Conn& c, const Pipeline& p, SteadyClock::time_point deadline) {
  auto o = c.run(p, deadline);
  if (!o.ok()) return o.status();
  if (o->error) return server_error(*o->error);
  return std::move(*o);
}

Result<Outcome> exec(Conn& c, Query q, Params params, SteadyClock::time_point deadline) {
  Pipeline p;
  p.add(q, std::move(params));
  return exec(c, p, deadline);
}

Status no_room(const std::string& id) { return Status::not_found("no room " + id); }

template <class T>
class FnRead final : public Typed<T, ReadOp> {
 public:
  using Fn = std::function<Result<T>(Conn&, SteadyClock::time_point)>;
  FnRead(Fn fn, Completion<T> done) : Typed<T, ReadOp>(std::move(done)), fn_(std::move(fn)) {}
  bool run(Conn& c, SteadyClock::time_point deadline) override {
    Result<T> r = fn_(c, deadline);
    if (!c.connected()) return false;
    this->answer(std::move(r));
    return true;
  }

 private:
  Fn fn_;
};

template <class T>
std::unique_ptr<ReadOp> make(typename FnRead<T>::Fn fn, Completion<T> done) {
  return std::make_unique<FnRead<T>>(std::move(fn), std::move(done));
}

Result<Room> room_from(Result<Outcome> o, const std::string& missing_msg) {
  if (!o.ok()) return o.status();
  auto room = read_room(o->rows(0));
  if (!room) return Status::not_found(missing_msg);
  return std::move(*room);
}

// Rows of history_* and search: none for an unknown room, one of NULLs
// for a room with nothing to return.
Result<std::vector<Message>> messages_from(Result<Outcome> o, const std::string& room) {
  if (!o.ok()) return o.status();
  const Rows r = o->rows(0);
  if (r.size() == 0) return no_room(room);
  std::vector<Message> out;
  for (int i = 0; i < r.size(); ++i) {
    if (!r.null(i, 0)) out.push_back(read_message(r, i, 0, room));
  }
  return out;
}

}  // namespace

std::unique_ptr<ReadOp> get_room_op(std::string id, Completion<Room> done) {
  return make<Room>([id = std::move(id)](Conn& c, SteadyClock::time_point dl) -> Result<Room> {
    if (!storable_key("room", id).ok()) return no_room(id);
    return room_from(exec(c, Query::load_room, Params().add(id), dl), "no room " + id);
  }, std::move(done));
}

std::unique_ptr<ReadOp> find_direct_room_op(std::string a, std::string b, Completion<Room> done) {
  return make<Room>([a = std::move(a), b = std::move(b)](Conn& c, SteadyClock::time_point dl) -> Result<Room> {
    const std::string none = "no direct room between " + a + " and " + b;
    if (a == b || !storable_key("userId", a).ok() || !storable_key("userId", b).ok()) {
      return Status::not_found(none);
    }
    return room_from(
        exec(c, Query::find_direct_room, Params().add(a).add(b).add(static_cast<std::int64_t>(RoomKind::direct)), dl),
        none);
  }, std::move(done));
}

std::unique_ptr<ReadOp> list_rooms_op(std::string user, Completion<std::vector<RoomSummary>> done) {
  return make<std::vector<RoomSummary>>([user = std::move(user)](
                                            Conn& c, SteadyClock::time_point dl) -> Result<std::vector<RoomSummary>> {
    std::vector<RoomSummary> out;
    if (!storable_key("userId", user).ok()) return out;
    Pipeline p;
    p.add(Query::begin_snapshot, {});
    const auto rooms_at = p.add(Query::list_rooms, Params().add(user));
    const auto members_at = p.add(Query::list_members, Params().add(user));
    p.add(Query::commit, {});
    auto o = exec(c, p, dl);
    if (!o.ok()) return o.status();
    const Rows rooms = o->rows(rooms_at);
    std::map<std::int64_t, std::size_t> index;  // rid -> position in out
    for (int i = 0; i < rooms.size(); ++i) {
      RoomSummary s;
      Room& r = s.room;
      r.id = rooms.text(i, 1);
      r.kind = static_cast<RoomKind>(rooms.int64(i, 2));
      r.title = rooms.text(i, 3);
      r.status = static_cast<RoomStatus>(rooms.int64(i, 4));
      r.created_by = rooms.text(i, 5);
      r.created_at = from_millis(rooms.int64(i, 6));
      if (auto v = rooms.opt_int64(i, 7)) r.started_at = from_millis(*v);
      if (auto v = rooms.opt_int64(i, 8)) r.ended_at = from_millis(*v);
      r.join_secret = rooms.text(i, 9);
      if (auto v = rooms.opt_int64(i, 10)) r.join_expires_at = from_millis(*v);
      if (!rooms.null(i, kRoomCols)) s.last_message = read_message(rooms, i, kRoomCols, r.id);
      s.unread = rooms.int64(i, kRoomCols + kMessageCols);
      index[rooms.int64(i, 0)] = out.size();
      out.push_back(std::move(s));
    }
    const Rows members = o->rows(members_at);
    for (int i = 0; i < members.size(); ++i) {
      auto it = index.find(members.int64(i, 0));
      if (it != index.end()) out[it->second].room.members.push_back(Member{members.text(i, 1), members.text(i, 2)});
    }
    auto activity = [](const RoomSummary& s) {
      return s.last_message ? s.last_message->created_at : s.room.created_at;
    };
    std::sort(out.begin(), out.end(), [&](const RoomSummary& x, const RoomSummary& y) {
      if (activity(x) != activity(y)) return activity(x) > activity(y);
      return x.room.id < y.room.id;
    });
    return out;
  }, std::move(done));
}

std::unique_ptr<ReadOp> get_message_op(std::string id, Completion<Message> done) {
  return make<Message>([id = std::move(id)](Conn& c, SteadyClock::time_point dl) -> Result<Message> {
    const auto key = parse_message_id(id);
    if (!key) return Status::not_found("no message " + id);
    auto o = exec(c, Query::load_message, Params().add(key->rid).add(key->seq), dl);
    if (!o.ok()) return o.status();
    const Rows r = o->rows(0);
    if (r.size() == 0) return Status::not_found("no message " + id);
    return read_message(r, 0, 0, r.text(0, kMessageCols));
  }, std::move(done));
}

std::unique_ptr<ReadOp> history_op(std::string room, HistoryQuery q, Completion<HistoryPage> done) {
  return make<HistoryPage>([room = std::move(room), q](Conn& c, SteadyClock::time_point dl) -> Result<HistoryPage> {
    if (!storable_key("room", room).ok()) return no_room(room);
    const std::int64_t limit = std::max(1, q.limit);
    const bool forward = q.after.has_value();
    // One row past the limit tells whether more lie beyond the page.
    Params params;
    params.add(room)
        .add(q.after.value_or(std::numeric_limits<std::int64_t>::min()))
        .add(q.before.value_or(std::numeric_limits<std::int64_t>::max()))
        .add(limit + 1);
    auto msgs = messages_from(exec(c, forward ? Query::history_after : Query::history_before, std::move(params), dl),
                              room);
    if (!msgs.ok()) return msgs.status();
    HistoryPage page;
    page.messages = std::move(*msgs);
    if (static_cast<std::int64_t>(page.messages.size()) > limit) {
      page.has_more = true;
      page.messages.pop_back();
    }
    if (!forward) std::reverse(page.messages.begin(), page.messages.end());
    return page;
  }, std::move(done));
}

std::unique_ptr<ReadOp> search_op(std::string room, std::string query, int limit,
                                  Completion<std::vector<Message>> done) {
  return make<std::vector<Message>>([room = std::move(room), query = std::move(query), limit](
                                        Conn& c, SteadyClock::time_point dl) -> Result<std::vector<Message>> {
    if (!storable_key("room", room).ok()) return no_room(room);
    // Bytes PostgreSQL cannot hold are no word anyone could have stored.
    const std::string terms = storable("query", query).ok() ? tsquery_words(query) : "";
    if (terms.empty() || limit <= 0) {
      auto o = exec(c, Query::room_exists, Params().add(room), dl);
      if (!o.ok()) return o.status();
      if (o->rows(0).size() == 0) return no_room(room);
      return std::vector<Message>{};
    }
    Pipeline p;
    p.add(Query::room_exists, Params().add(room));
    p.add(Query::search, Params().add(room).add(terms).add(std::int64_t{limit}));
    auto o = exec(c, p, dl);
    if (!o.ok()) return o.status();
    if (o->rows(0).size() == 0) return no_room(room);
    std::vector<Message> out;
    const Rows r = o->rows(1);
    for (int i = 0; i < r.size(); ++i) out.push_back(read_message(r, i, 0, room));
    return out;
  }, std::move(done));
}

std::unique_ptr<ReadOp> read_state_op(std::string room, std::string user, Completion<ReadState> done) {
  return make<ReadState>([room = std::move(room), user = std::move(user)](
                             Conn& c, SteadyClock::time_point dl) -> Result<ReadState> {
    if (!storable_key("room", room).ok()) return no_room(room);
    // A user id PostgreSQL cannot hold has no pointer and sent nothing.
    const std::string who = storable_key("userId", user).ok() ? user : "";
    Pipeline p;
    p.add(Query::begin_snapshot, {});
    const auto head = p.add(Query::read_state_head, Params().add(room).add(who));
    const auto reads = p.add(Query::read_state_reads, Params().add(room));
    const auto seen = p.add(Query::read_state_seen, Params().add(room));
    p.add(Query::commit, {});
    auto o = exec(c, p, dl);
    if (!o.ok()) return o.status();
    const Rows h = o->rows(head);
    if (h.size() == 0) return no_room(room);
    ReadState st;
    st.last_seq = h.int64(0, 0);
    st.unread = h.int64(0, 1);
    const Rows r = o->rows(reads);
    for (int i = 0; i < r.size(); ++i) st.reads.push_back(ReadPointer{r.text(i, 0), r.int64(i, 1)});
    const Rows s = o->rows(seen);
    for (int i = 0; i < s.size(); ++i) st.last_seen.push_back(LastSeen{s.text(i, 0), from_millis(s.int64(i, 1))});
    return st;
  }, std::move(done));
}

}  // namespace realtime::pg
