// A Store that forwards to another but can hold back set_last_seen writes
// and read_state (and, on request, history and get_room) answers, so that a test can
// replay an order of events the SQLite store's writer and reader threads
// produce now and then: a read that starts before a write commits and
// answers after it, or messages published while a replay is being read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "realtime/store.h"

namespace realtime::testing {

class HoldingStore : public Store {
 public:
  explicit HoldingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  bool hold = false;
  // Holds history answers too (the replay read of room:join with afterSeq).
  bool hold_history = false;
  // Holds get_room answers too (a room read that a write overtakes).
  bool hold_rooms = false;
  // Fails every append_audit (a store that lost the audit table).
  bool refuse_audit = false;
  // Applies the held writes, which complete as the inner store completes them.
  void release_writes() { run(writes_); }
  // Hands the held read answers to their callers.
  void release_answers() { run(answers_); }

  void read_state(std::string room, std::string user_id, Completion<ReadState> done) override {
    if (!hold) return inner_->read_state(std::move(room), std::move(user_id), std::move(done));
    // The read itself happens now; only its answer waits.
    inner_->read_state(std::move(room), std::move(user_id), [this, done](Result<ReadState> r) {
      answers_.push_back([done, r = std::move(r)] { done(r); });
    });
  }
  void set_last_seen(std::string room, std::string user_id, Timestamp at, StatusCompletion done) override {
    if (!hold) return inner_->set_last_seen(std::move(room), std::move(user_id), at, std::move(done));
    writes_.push_back([this, room, user_id, at, done] { inner_->set_last_seen(room, user_id, at, done); });
  }

  void create_room(Room room, Completion<Room> done) override { inner_->create_room(std::move(room), std::move(done)); }
  void get_room(std::string id, Completion<Room> done) override {
    if (!hold_rooms) return inner_->get_room(std::move(id), std::move(done));
    inner_->get_room(std::move(id), [this, done](Result<Room> r) {
      answers_.push_back([done, r = std::move(r)] { done(r); });
    });
  }
  void find_direct_room(std::string a, std::string b, Completion<Room> done) override {
    inner_->find_direct_room(std::move(a), std::move(b), std::move(done));
  }
  void add_member(std::string room, Member member, Completion<Room> done) override {
    inner_->add_member(std::move(room), std::move(member), std::move(done));
  }
  void remove_member(std::string room, std::string user_id, Completion<Room> done) override {
    inner_->remove_member(std::move(room), std::move(user_id), std::move(done));
  }
  void update_session(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                      std::optional<Timestamp> ended_at, Completion<Room> done) override {
    inner_->update_session(std::move(room), status, started_at, ended_at, std::move(done));
  }
  void set_join_secret(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                       Completion<Room> done) override {
    inner_->set_join_secret(std::move(room), std::move(secret), expires_at, std::move(done));
  }
  void list_rooms(std::string user_id, Completion<std::vector<RoomSummary>> done) override {
    inner_->list_rooms(std::move(user_id), std::move(done));
  }
  void append(NewMessage msg, Completion<Appended> done) override { inner_->append(std::move(msg), std::move(done)); }
  void get_message(std::string id, Completion<Message> done) override {
    inner_->get_message(std::move(id), std::move(done));
  }
  void edit_message(std::string id, std::string text, Timestamp edited_at, Completion<Message> done) override {
    inner_->edit_message(std::move(id), std::move(text), edited_at, std::move(done));
  }
  void delete_message(std::string id, Completion<Message> done) override {
    inner_->delete_message(std::move(id), std::move(done));
  }
  void history(std::string room, HistoryQuery query, Completion<HistoryPage> done) override {
    if (!hold_history) return inner_->history(std::move(room), query, std::move(done));
    inner_->history(std::move(room), query, [this, done](Result<HistoryPage> r) {
      answers_.push_back([done, r = std::move(r)] { done(r); });
    });
  }
  void search(std::string room, std::string query, int limit, Completion<std::vector<Message>> done) override {
    inner_->search(std::move(room), std::move(query), limit, std::move(done));
  }
  void mark_read(std::string room, std::string user_id, std::int64_t seq, Completion<ReadMark> done) override {
    inner_->mark_read(std::move(room), std::move(user_id), seq, std::move(done));
  }
  void add_reaction(std::string id, std::string u, std::string e, std::size_t max, Completion<bool> done) override {
    inner_->add_reaction(std::move(id), std::move(u), std::move(e), max, std::move(done));
  }
  void remove_reaction(std::string id, std::string u, std::string e, Completion<bool> done) override {
    inner_->remove_reaction(std::move(id), std::move(u), std::move(e), std::move(done));
  }
  void reactions(std::vector<std::string> ids, std::string v, std::size_t n,
                 Completion<std::vector<MessageReactions>> done) override {
    inner_->reactions(std::move(ids), std::move(v), n, std::move(done));
  }
  // ModerationStore: forwarded as is.
  void set_member_role(std::string r, std::string u, std::string role, Completion<Room> d) override {
    inner_->set_member_role(std::move(r), std::move(u), std::move(role), std::move(d));
  }
  void set_mute(std::string r, std::string u, std::optional<Timestamp> until, StatusCompletion d) override {
    inner_->set_mute(std::move(r), std::move(u), until, std::move(d));
  }
  void set_slow_mode(std::string r, int seconds, StatusCompletion d) override {
    inner_->set_slow_mode(std::move(r), seconds, std::move(d));
  }
  void room_moderation(std::string r, Completion<RoomModeration> d) override {
    inner_->room_moderation(std::move(r), std::move(d));
  }
  void append_audit(AuditEntry e, Completion<AuditEntry> d) override {
    if (refuse_audit) return d(Status::unavailable("the audit log is refused"));
    inner_->append_audit(std::move(e), std::move(d));
  }
  void audit_log(std::string r, std::optional<std::int64_t> before, int limit, Completion<AuditPage> d) override {
    inner_->audit_log(std::move(r), before, limit, std::move(d));
  }
  void set_ban(Ban b, StatusCompletion d) override { inner_->set_ban(std::move(b), std::move(d)); }
  void remove_ban(std::string u, StatusCompletion d) override { inner_->remove_ban(std::move(u), std::move(d)); }
  void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> d) override {
    inner_->list_bans(now, limit, std::move(d));
  }
  void flush(StatusCompletion done) override { inner_->flush(std::move(done)); }
  void close() override { inner_->close(); }
  std::size_t pending() const override { return inner_->pending() + writes_.size() + answers_.size(); }

 private:
  static void run(std::vector<std::function<void()>>& q) {
    auto now = std::move(q);
    q.clear();
    for (auto& f : now) f();
  }
  std::unique_ptr<Store> inner_;
  std::vector<std::function<void()>> writes_, answers_;
};

}  // namespace realtime::testing
