// Moderation calls of the PostgreSQL store (see moderation.h): each write
// is one statement whose rows say whether the room existed, each read one
// statement (one snapshot).
#include "store/postgres/moderation.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "store/postgres/values.h"

namespace realtime::pg {
namespace {

Status no_room(const std::string& id) { return Status::not_found("no room " + id); }

std::optional<std::int64_t> millis(const std::optional<Timestamp>& t) {
  return t ? std::optional<std::int64_t>(to_millis(*t)) : std::nullopt;
}

// A write of statements planned as given, answered by `take` from their
// results (`first` is the index of the first). `room`, when set, is the
// room the batch locks.
template <class T>
class FnWrite final : public Typed<T, WriteOp> {
 public:
  using Take = std::function<Result<T>(const Outcome&, std::size_t first)>;
  FnWrite(std::optional<std::string> room, Pipeline stmts, Take take, Status input, Completion<T> done)
      : Typed<T, WriteOp>(std::move(done)), room_(std::move(room)), stmts_(std::move(stmts)), take_(std::move(take)) {
    if (!input.ok()) this->refuse(std::move(input));
  }
  const std::string* room() const override { return room_ ? &*room_ : nullptr; }
  void plan(Pipeline& p) override {
    bool at_first = true;
    for (const auto& s : stmts_.stmts()) {
      const std::size_t i = p.add(s.query, s.params);
      if (std::exchange(at_first, false)) this->first = i;
    }
  }
  void take(const Outcome& o) override { this->answer(take_(o, this->first)); }

 private:
  std::optional<std::string> room_;
  Pipeline stmts_;
  Take take_;
};

template <class T>
std::unique_ptr<WriteOp> write(std::optional<std::string> room, Pipeline stmts, typename FnWrite<T>::Take take,
                               Status input, Completion<T> done) {
  return std::make_unique<FnWrite<T>>(std::move(room), std::move(stmts), std::move(take), std::move(input),
                                      std::move(done));
}

Pipeline one(Query q, Params p) {
  Pipeline out;
  out.add(q, std::move(p));
  return out;
}

// The first failure of the checks, or ok.
Status first_bad(std::initializer_list<Status> checks) {
  for (const auto& s : checks)
    if (!s.ok()) return s;
  return {};
}

template <class T>
class FnRead final : public Typed<T, ReadOp> {
 public:
  using Fn = std::function<Result<T>(const Rows&)>;
  FnRead(Query q, Params p, Fn fn, Completion<T> done)
      : Typed<T, ReadOp>(std::move(done)), q_(q), p_(std::move(p)), fn_(std::move(fn)) {}
  bool run(Conn& c, SteadyClock::time_point deadline) override {
    Pipeline p;
    p.add(q_, p_);
    auto o = c.run(p, deadline);
    if (!c.connected()) return false;
    if (!o.ok()) this->answer(o.status());
    else if (o->error) this->answer(server_error(*o->error));
    else this->answer(fn_(o->rows(0)));
    return true;
  }

 private:
  Query q_;
  Params p_;
  Fn fn_;
};

}  // namespace

std::unique_ptr<WriteOp> member_role_op(std::string room, std::string user_id, std::string role, Completion<Room> done) {
  Status input = first_bad({storable_key("room", room), storable_key("userId", user_id), storable("role", role)});
  Pipeline p;
  p.add(Query::mod_member_role, Params().add(room).add(user_id).add(role));
  p.add(Query::load_room, Params().add(room));
  return write<Room>(room, std::move(p), [room, user_id](const Outcome& o, std::size_t first) -> Result<Room> {
    const Rows r = o.rows(first);
    if (r.int64(0, 0) == 0) return no_room(room);
    if (r.int64(0, 1) == 0) return Status::not_found(user_id + " is not a member of " + room);
    auto loaded = read_room(o.rows(first + 1));
    if (!loaded) return no_room(room);
    return std::move(*loaded);
  }, std::move(input), std::move(done));
}

std::unique_ptr<WriteOp> mute_op(std::string room, std::string user_id, std::optional<Timestamp> until,
                                 Completion<Done> done) {
  Status input = first_bad({storable_key("room", room), storable_key("userId", user_id)});
  auto p = one(Query::mod_mute, Params().add(room).add(user_id).add(millis(until)));
  return write<Done>(room, std::move(p), [room](const Outcome& o, std::size_t first) -> Result<Done> {
    if (o.rows(first).size() == 0) return no_room(room);
    return Done{};
  }, std::move(input), std::move(done));
}

std::unique_ptr<WriteOp> slow_mode_op(std::string room, int seconds, Completion<Done> done) {
  Status input = storable_key("room", room);
  auto p = one(Query::mod_slow_mode, Params().add(room).add(static_cast<std::int64_t>(seconds)));
  return write<Done>(room, std::move(p), [room](const Outcome& o, std::size_t first) -> Result<Done> {
    if (o.rows(first).size() == 0) return no_room(room);
    return Done{};
  }, std::move(input), std::move(done));
}

std::unique_ptr<WriteOp> audit_add_op(AuditEntry e, Completion<AuditEntry> done) {
  Status input = first_bad({storable_key("room", e.room), storable("actor", e.actor), storable("action", e.action),
                            storable("target", e.target), storable("detail", e.detail)});
  auto p = one(Query::mod_audit_add,
               Params().add(e.room).add(to_millis(e.at)).add(e.actor).add(e.action).add(e.target).add(e.detail));
  return write<AuditEntry>(std::nullopt, std::move(p), [e](const Outcome& o, std::size_t first) -> Result<AuditEntry> {
    AuditEntry stored = e;
    stored.id = o.rows(first).int64(0, 0);
    return stored;
  }, std::move(input), std::move(done));
}

std::unique_ptr<WriteOp> ban_op(Ban b, Completion<Done> done) {
  Status input = first_bad({storable_key("userId", b.user_id), storable("reason", b.reason), storable("by", b.by)});
  auto p = one(Query::mod_ban, Params().add(b.user_id).add(b.reason).add(b.by).add(to_millis(b.at)).add(millis(b.until)));
  return write<Done>(std::nullopt, std::move(p), [](const Outcome&, std::size_t) -> Result<Done> { return Done{}; },
                     std::move(input), std::move(done));
}

std::unique_ptr<WriteOp> unban_op(std::string user_id, Completion<Done> done) {
  Status input = storable_key("userId", user_id);
  auto p = one(Query::mod_unban, Params().add(user_id));
  return write<Done>(std::nullopt, std::move(p), [user_id](const Outcome& o, std::size_t first) -> Result<Done> {
    if (o.rows(first).size() == 0) return Status::not_found(user_id + " is not banned");
    return Done{};
  }, std::move(input), std::move(done));
}

std::unique_ptr<ReadOp> room_moderation_op(std::string room, Completion<RoomModeration> done) {
  return std::make_unique<FnRead<RoomModeration>>(Query::mod_settings, Params().add(room), [](const Rows& r) -> Result<RoomModeration> {
    RoomModeration m;
    for (int i = 0; i < r.size(); ++i) {
      m.slow_mode_seconds = static_cast<int>(r.int64(i, 0));
      if (!r.null(i, 1)) m.mutes.push_back(Mute{r.text(i, 1), from_millis(r.int64(i, 2))});
    }
    return m;
  }, std::move(done));
}

std::unique_ptr<ReadOp> audit_page_op(std::string room, std::optional<std::int64_t> before, int limit,
                                      Completion<AuditPage> done) {
  const int n = std::max(1, limit);
  Params p = Params().add(room).add(before.value_or(std::numeric_limits<std::int64_t>::max())).add(static_cast<std::int64_t>(n) + 1);
  return std::make_unique<FnRead<AuditPage>>(Query::mod_audit_page, std::move(p), [room, n](const Rows& r) -> Result<AuditPage> {
    AuditPage page;
    for (int i = 0; i < r.size(); ++i) {
      if (i == n) {
        page.has_more = true;
        break;
      }
      page.entries.push_back(AuditEntry{r.int64(i, 0), room, from_millis(r.int64(i, 1)), r.text(i, 2), r.text(i, 3),
                                        r.text(i, 4), r.text(i, 5)});
    }
    return page;
  }, std::move(done));
}

std::unique_ptr<ReadOp> bans_op(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done) {
  const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, 1u << 30));
  return std::make_unique<FnRead<std::vector<Ban>>>(Query::mod_bans, Params().add(to_millis(now)).add(n), [](const Rows& r) -> Result<std::vector<Ban>> {
    std::vector<Ban> out;
    for (int i = 0; i < r.size(); ++i) {
      Ban b{r.text(i, 0), r.text(i, 1), r.text(i, 2), from_millis(r.int64(i, 3)), std::nullopt};
      if (auto u = r.opt_int64(i, 4)) b.until = from_millis(*u);
      out.push_back(std::move(b));
    }
    return out;
  }, std::move(done));
}

}  // namespace realtime::pg
