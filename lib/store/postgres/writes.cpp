// Room, membership, receipt, edit and delete writes of the PostgreSQL
// store (see writes.h). Each plans one statement that refuses without
// writing (its rows say why), plus a read of what the caller gets back in
// the same transaction. Planned and answered on the writer thread.
#include "store/postgres/writes.h"

#include <fmt/format.h>

#include "store/postgres/values.h"

namespace realtime::pg {
namespace {

Status no_room(const std::string& id) { return Status::not_found("no room " + id); }

std::optional<std::int64_t> millis(const std::optional<Timestamp>& t) {
  return t ? std::optional<std::int64_t>(to_millis(*t)) : std::nullopt;
}

// A write that answers with the room as it is after the write: its
// statement, then load_room.
class RoomWrite : public Typed<Room, WriteOp> {
 public:
  RoomWrite(std::string room, Completion<Room> done) : Typed(std::move(done)), room_(std::move(room)) {
    if (Status s = storable_key("room", room_); !s.ok()) refuse(std::move(s));
  }
  const std::string* room() const override { return &room_; }
  void plan(Pipeline& p) override {
    first = p.add(query(), params());
    p.add(Query::load_room, Params().add(room_));
  }
  void take(const Outcome& o) override {
    if (Status s = verdict(o.rows(first)); !s.ok()) return answer(std::move(s));
    auto room = read_room(o.rows(first + 1));
    if (!room) return answer(no_room(room_));
    answer(std::move(*room));
  }

 protected:
  virtual Query query() const = 0;
  virtual Params params() const = 0;
  // The refusal the statement's rows report, if any.
  virtual Status verdict(const Rows& r) const = 0;
  std::string room_;
};

class CreateRoom final : public RoomWrite {
 public:
  CreateRoom(Room room, Completion<Room> done) : RoomWrite(room.id, std::move(done)), r_(std::move(room)) {
    Status s = storable("title", r_.title);
    if (s.ok()) s = storable_key("createdBy", r_.created_by);
    if (s.ok()) s = storable("joinSecret", r_.join_secret);
    for (const auto& m : r_.members) {
      if (s.ok()) s = storable_key("member", m.user_id);
      if (s.ok()) s = storable("role", m.role);
    }
    if (!s.ok()) refuse(std::move(s));
  }

 private:
  Query query() const override { return Query::create_room; }
  Params params() const override {
    ArrayText users, roles;
    for (const auto& m : r_.members) {
      users.add(m.user_id);
      roles.add(m.role);
    }
    Params p;
    p.add(r_.id)
        .add(static_cast<std::int64_t>(r_.kind))
        .add(r_.title)
        .add(static_cast<std::int64_t>(r_.status))
        .add(r_.created_by)
        .add(to_millis(r_.created_at))
        .add(millis(r_.started_at))
        .add(millis(r_.ended_at))
        .add(r_.join_secret)
        .add(users.take())
        .add(roles.take())
        .add(millis(r_.join_expires_at));
    return p;
  }
  Status verdict(const Rows& r) const override {
    return r.size() == 0 ? Status::conflict("room " + r_.id + " exists") : Status();
  }
  Room r_;
};

class AddMember final : public RoomWrite {
 public:
  AddMember(std::string room, Member m, Completion<Room> done) : RoomWrite(std::move(room), std::move(done)), m_(std::move(m)) {
    Status s = storable_key("userId", m_.user_id);
    if (s.ok()) s = storable("role", m_.role);
    if (!s.ok()) refuse(std::move(s));
  }

 private:
  Query query() const override { return Query::add_member; }
  Params params() const override { return Params().add(room_).add(m_.user_id).add(m_.role); }
  Status verdict(const Rows& r) const override {
    if (r.int64(0, 0) == 0) return no_room(room_);
    if (r.int64(0, 1) == 0) return Status::conflict(m_.user_id + " is already a member of " + room_);
    return {};
  }
  Member m_;
};

class RemoveMember final : public RoomWrite {
 public:
  RemoveMember(std::string room, std::string user, Completion<Room> done)
      : RoomWrite(std::move(room), std::move(done)), user_(std::move(user)) {
    if (Status s = storable_key("userId", user_); !s.ok()) refuse(std::move(s));
  }

 private:
  Query query() const override { return Query::remove_member; }
  Params params() const override { return Params().add(room_).add(user_); }
  Status verdict(const Rows& r) const override {
    if (r.int64(0, 0) == 0) return no_room(room_);
    if (r.int64(0, 1) == 0) return Status::not_found(user_ + " is not a member of " + room_);
    return {};
  }
  std::string user_;
};

class UpdateSession final : public RoomWrite {
 public:
  UpdateSession(std::string room, RoomStatus status, std::optional<Timestamp> started,
                std::optional<Timestamp> ended, Completion<Room> done)
      : RoomWrite(std::move(room), std::move(done)), status_(status), started_(started), ended_(ended) {}

 private:
  Query query() const override { return Query::update_session; }
  Params params() const override {
    return Params().add(room_).add(static_cast<std::int64_t>(status_)).add(millis(started_)).add(millis(ended_));
  }
  Status verdict(const Rows& r) const override { return r.size() == 0 ? no_room(room_) : Status(); }
  RoomStatus status_;
  std::optional<Timestamp> started_, ended_;
};

class SetJoinSecret final : public RoomWrite {
 public:
  SetJoinSecret(std::string room, std::string secret, std::optional<Timestamp> expires, Completion<Room> done)
      : RoomWrite(std::move(room), std::move(done)), secret_(std::move(secret)), expires_(expires) {
    if (Status s = storable("joinSecret", secret_); !s.ok()) refuse(std::move(s));
  }

 private:
  Query query() const override { return Query::set_join_secret; }
  Params params() const override { return Params().add(room_).add(secret_).add(millis(expires_)); }
  Status verdict(const Rows& r) const override { return r.size() == 0 ? no_room(room_) : Status(); }
  std::string secret_;
  std::optional<Timestamp> expires_;
};

class MarkRead final : public Typed<ReadMark, WriteOp> {
 public:
  MarkRead(std::string room, std::string user, std::int64_t seq, Completion<ReadMark> done)
      : Typed(std::move(done)), room_(std::move(room)), user_(std::move(user)), seq_(seq) {
    Status s = storable_key("room", room_);
    if (s.ok()) s = storable_key("userId", user_);
    if (!s.ok()) refuse(std::move(s));
  }
  const std::string* room() const override { return &room_; }
  void plan(Pipeline& p) override {
    first = p.add(Query::mark_read, Params().add(room_).add(user_).add(seq_));
  }
  void take(const Outcome& o) override {
    const Rows r = o.rows(first);
    if (r.null(0, 0)) return answer(no_room(room_));
    const std::int64_t last = r.int64(0, 0);
    if (seq_ < 0 || seq_ > last) {
      return answer(Status::bad_request(fmt::format("seq {} is beyond the last message ({})", seq_, last)));
    }
    if (r.null(0, 2)) return answer(ReadMark{r.opt_int64(0, 1).value_or(0), false});
    const std::int64_t now = r.int64(0, 2);
    answer(ReadMark{now, now == seq_});
  }

 private:
  std::string room_, user_;
  std::int64_t seq_;
};

class SetLastSeen final : public Typed<Done, WriteOp> {
 public:
  SetLastSeen(std::string room, std::string user, Timestamp at, Completion<Done> done)
      : Typed(std::move(done)), room_(std::move(room)), user_(std::move(user)), at_(at) {
    Status s = storable_key("room", room_);
    if (s.ok()) s = storable_key("userId", user_);
    if (!s.ok()) refuse(std::move(s));
  }
  const std::string* room() const override { return &room_; }
  void plan(Pipeline& p) override {
    first = p.add(Query::set_last_seen, Params().add(room_).add(user_).add(to_millis(at_)));
  }
  void take(const Outcome& o) override {
    if (o.rows(first).size() == 0) return answer(no_room(room_));
    answer(Done{});
  }

 private:
  std::string room_, user_;
  Timestamp at_;
};

// Edit and delete name the message; its key says which room, but the
// room needs no lock: these change one existing row, which PostgreSQL
// locks by itself.
class Edit final : public Typed<Message, WriteOp> {
 public:
  Edit(std::string id, std::string text, Timestamp at, Completion<Message> done)
      : Typed(std::move(done)), id_(std::move(id)), text_(std::move(text)), at_(at) {
    key_ = parse_message_id(id_);
    Status s = key_ ? storable("text", text_) : Status::not_found("no message " + id_);
    if (!s.ok()) {
      refuse(std::move(s));
      return;
    }
    words_ = tsvector_words(text_);
  }
  void plan(Pipeline& p) override {
    first = p.add(Query::edit_message,
                  Params().add(key_->rid).add(key_->seq).add(text_).add(to_millis(at_)).add(words_));
  }
  void take(const Outcome& o) override {
    const Rows r = o.rows(first);
    if (r.size() == 0) return answer(Status::not_found("no message " + id_));
    answer(read_message(r, 0, 0, r.text(0, kMessageCols)));
  }

 private:
  std::string id_, text_, words_;
  Timestamp at_;
  std::optional<MessageKey> key_;
};

class Delete final : public Typed<Message, WriteOp> {
 public:
  Delete(std::string id, Completion<Message> done) : Typed(std::move(done)), id_(std::move(id)) {
    key_ = parse_message_id(id_);
    if (!key_) refuse(Status::not_found("no message " + id_));
  }
  void plan(Pipeline& p) override {
    first = p.add(Query::delete_message, Params().add(key_->rid).add(key_->seq));
    p.add(Query::load_message, Params().add(key_->rid).add(key_->seq));
  }
  void take(const Outcome& o) override {
    const Rows r = o.rows(first + 1);
    if (r.size() == 0) return answer(Status::not_found("no message " + id_));
    answer(read_message(r, 0, 0, r.text(0, kMessageCols)));
  }

 private:
  std::string id_;
  std::optional<MessageKey> key_;
};

class Flush final : public Typed<Done, WriteOp> {
 public:
  using Typed::Typed;
  void plan(Pipeline&) override {}
  bool has_statements() const override { return false; }
  void take(const Outcome&) override { answer(Done{}); }
};

}  // namespace

std::unique_ptr<WriteOp> create_room_op(Room room, Completion<Room> done) {
  return std::make_unique<CreateRoom>(std::move(room), std::move(done));
}
std::unique_ptr<WriteOp> add_member_op(std::string room, Member member, Completion<Room> done) {
  return std::make_unique<AddMember>(std::move(room), std::move(member), std::move(done));
}
std::unique_ptr<WriteOp> remove_member_op(std::string room, std::string user_id, Completion<Room> done) {
  return std::make_unique<RemoveMember>(std::move(room), std::move(user_id), std::move(done));
}
std::unique_ptr<WriteOp> update_session_op(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                                           std::optional<Timestamp> ended_at, Completion<Room> done) {
  return std::make_unique<UpdateSession>(std::move(room), status, started_at, ended_at, std::move(done));
}
std::unique_ptr<WriteOp> set_join_secret_op(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                                            Completion<Room> done) {
  return std::make_unique<SetJoinSecret>(std::move(room), std::move(secret), expires_at, std::move(done));
}
std::unique_ptr<WriteOp> mark_read_op(std::string room, std::string user_id, std::int64_t seq,
                                      Completion<ReadMark> done) {
  return std::make_unique<MarkRead>(std::move(room), std::move(user_id), seq, std::move(done));
}
std::unique_ptr<WriteOp> set_last_seen_op(std::string room, std::string user_id, Timestamp at,
                                          Completion<Done> done) {
  return std::make_unique<SetLastSeen>(std::move(room), std::move(user_id), at, std::move(done));
}
std::unique_ptr<WriteOp> edit_op(std::string id, std::string text, Timestamp edited_at, Completion<Message> done) {
  return std::make_unique<Edit>(std::move(id), std::move(text), edited_at, std::move(done));
}
std::unique_ptr<WriteOp> delete_op(std::string id, Completion<Message> done) {
  return std::make_unique<Delete>(std::move(id), std::move(done));
}
std::unique_ptr<WriteOp> flush_op(Completion<Done> done) { return std::make_unique<Flush>(std::move(done)); }

}  // namespace realtime::pg
