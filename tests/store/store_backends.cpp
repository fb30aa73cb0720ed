// The backends the store tests run against in one process: memory and
// SQLite (PostgreSQL has its own binary, store_backends_pg.cpp). Test thread.
#include <gtest/gtest.h>

#include "realtime/memory_store.h"
#include "realtime/sqlite_store.h"
#include "realtime/store_thread.h"
#include "store_test_util.h"

namespace realtime::testing {

namespace {

// A backend called through a StoreThread (chatd --threads): the suite's
// loop gets a view, and this owns the thread the store runs on.
class ThreadedStore final : public Store {
 public:
  ThreadedStore(Executor& loop, const std::function<std::unique_ptr<Store>(Executor&)>& open) {
    thread_.serve(open(thread_));
    view_ = thread_.view(loop);
  }
  ~ThreadedStore() override { view_.reset(); }
  void create_room(Room r, Completion<Room> d) override { view_->create_room(std::move(r), std::move(d)); }
  void get_room(std::string id, Completion<Room> d) override { view_->get_room(std::move(id), std::move(d)); }
  void find_direct_room(std::string a, std::string b, Completion<Room> d) override {
    view_->find_direct_room(std::move(a), std::move(b), std::move(d));
  }
  void add_member(std::string r, Member m, Completion<Room> d) override {
    view_->add_member(std::move(r), std::move(m), std::move(d));
  }
  void remove_member(std::string r, std::string u, Completion<Room> d) override {
    view_->remove_member(std::move(r), std::move(u), std::move(d));
  }
  void update_session(std::string r, RoomStatus s, std::optional<Timestamp> a, std::optional<Timestamp> b,
                      Completion<Room> d) override {
    view_->update_session(std::move(r), s, a, b, std::move(d));
  }
  void set_join_secret(std::string r, std::string s, std::optional<Timestamp> e, Completion<Room> d) override {
    view_->set_join_secret(std::move(r), std::move(s), e, std::move(d));
  }
  void list_rooms(std::string u, Completion<std::vector<RoomSummary>> d) override {
    view_->list_rooms(std::move(u), std::move(d));
  }
  void append(NewMessage m, Completion<Appended> d) override { view_->append(std::move(m), std::move(d)); }
  void get_message(std::string id, Completion<Message> d) override { view_->get_message(std::move(id), std::move(d)); }
  void edit_message(std::string id, std::string t, Timestamp at, Completion<Message> d) override {
    view_->edit_message(std::move(id), std::move(t), at, std::move(d));
  }
  void delete_message(std::string id, Completion<Message> d) override {
    view_->delete_message(std::move(id), std::move(d));
  }
  void history(std::string r, HistoryQuery q, Completion<HistoryPage> d) override {
    view_->history(std::move(r), q, std::move(d));
  }
  void search(std::string r, std::string q, int limit, Completion<std::vector<Message>> d) override {
    view_->search(std::move(r), std::move(q), limit, std::move(d));
  }
  void mark_read(std::string r, std::string u, std::int64_t seq, Completion<ReadMark> d) override {
    view_->mark_read(std::move(r), std::move(u), seq, std::move(d));
  }
  void read_state(std::string r, std::string u, Completion<ReadState> d) override {
    view_->read_state(std::move(r), std::move(u), std::move(d));
  }
  void set_last_seen(std::string r, std::string u, Timestamp at, StatusCompletion d) override {
    view_->set_last_seen(std::move(r), std::move(u), at, std::move(d));
  }
  void add_reaction(std::string id, std::string u, std::string e, std::size_t max, Completion<bool> d) override {
    view_->add_reaction(std::move(id), std::move(u), std::move(e), max, std::move(d));
  }
  void remove_reaction(std::string id, std::string u, std::string e, Completion<bool> d) override {
    view_->remove_reaction(std::move(id), std::move(u), std::move(e), std::move(d));
  }
  void reactions(std::vector<std::string> ids, std::string v, std::size_t n,
                 Completion<std::vector<MessageReactions>> d) override {
    view_->reactions(std::move(ids), std::move(v), n, std::move(d));
  }
  // ModerationStore: forwarded as is.
  void set_member_role(std::string r, std::string u, std::string role, Completion<Room> d) override {
    view_->set_member_role(std::move(r), std::move(u), std::move(role), std::move(d));
  }
  void set_mute(std::string r, std::string u, std::optional<Timestamp> until, StatusCompletion d) override {
    view_->set_mute(std::move(r), std::move(u), until, std::move(d));
  }
  void set_slow_mode(std::string r, int seconds, StatusCompletion d) override {
    view_->set_slow_mode(std::move(r), seconds, std::move(d));
  }
  void room_moderation(std::string r, Completion<RoomModeration> d) override {
    view_->room_moderation(std::move(r), std::move(d));
  }
  void append_audit(AuditEntry e, Completion<AuditEntry> d) override { view_->append_audit(std::move(e), std::move(d)); }
  void audit_log(std::string r, std::optional<std::int64_t> before, int limit, Completion<AuditPage> d) override {
    view_->audit_log(std::move(r), before, limit, std::move(d));
  }
  void set_ban(Ban b, StatusCompletion d) override { view_->set_ban(std::move(b), std::move(d)); }
  void remove_ban(std::string u, StatusCompletion d) override { view_->remove_ban(std::move(u), std::move(d)); }
  void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> d) override {
    view_->list_bans(now, limit, std::move(d));
  }
  void flush(StatusCompletion d) override { view_->flush(std::move(d)); }
  void close() override { thread_.close(); }
  std::size_t pending() const override { return view_->pending(); }
  Status health() const override { return view_->health(); }

 private:
  StoreThread thread_;
  std::unique_ptr<Store> view_;
};

std::unique_ptr<Store> open_sqlite(Executor& e, const std::string& dir) {
  SqliteStoreOptions o;
  o.path = dir + "/chat.db";
  // Tests care about behaviour, not power-cut durability: skip the
  // fsyncs so the suite stays fast on a shared disk.
  o.synchronous = SqliteSync::normal;
  auto s = open_sqlite_store(o, e);
  if (!s.ok()) {
    ADD_FAILURE() << s.status().to_string();
    return nullptr;
  }
  return std::move(*s);
}

}  // namespace

std::vector<Backend> all_backends() {
  return {
      {"memory", [](Executor& e, const std::string&) { return make_memory_store(e); }},
      {"sqlite", open_sqlite},
      {"memory_thread",
       [](Executor& e, const std::string&) -> std::unique_ptr<Store> {
         return std::make_unique<ThreadedStore>(e, [](Executor& t) { return make_memory_store(t); });
       }},
      {"sqlite_thread",
       [](Executor& e, const std::string& dir) -> std::unique_ptr<Store> {
         return std::make_unique<ThreadedStore>(e, [&dir](Executor& t) { return open_sqlite(t, dir); });
       }},
  };
}

}  // namespace realtime::testing
