// SqliteStore: the Store interface on top of the writer and reader threads
// (see realtime/sqlite_store.h and docs/store.md). Store calls arrive on
// the loop thread; this file only packages them as Ops and queues them, so
// the loop never touches SQLite. close() may be called from any thread.
#include "realtime/sqlite_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "store/sqlite/moderation.h"
#include "store/sqlite/op.h"
#include "store/sqlite/reactions.h"
#include "store/sqlite/reads.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/workers.h"
#include "store/sqlite/writes.h"

namespace realtime {
namespace {

using sqlite::Db;
using sqlite::Done;

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteStoreOptions& options, Executor& completions, Db writer, std::vector<Db> readers)
      : options_(options),
        exec_(completions),
        pending_(std::make_shared<std::atomic<std::size_t>>(0)),
        connections_(std::move(readers)),
        writer_(std::move(writer), completions, options, connections_, health_),
        reader_(completions, connections_, 0, options.reader_threads, 0, health_),
        searcher_(completions, connections_, options.reader_threads, options.search_threads,
                  options.max_queued_searches, health_) {
    writer_.start();
    reader_.start();
    searcher_.start();
  }
  ~SqliteStore() override { close(); }

  void create_room(Room room, Completion<Room> done) override {
    write<Room>([room = std::move(room)](Db& db) { return sqlite::write_create_room(db, room); },
                std::move(done));
  }
  void get_room(std::string id, Completion<Room> done) override {
    read<Room>([id = std::move(id)](Db& db) { return sqlite::read_room(db, id); }, std::move(done));
  }
  void find_direct_room(std::string a, std::string b, Completion<Room> done) override {
    read<Room>([a = std::move(a), b = std::move(b)](Db& db) { return sqlite::read_direct_room(db, a, b); },
               std::move(done));
  }
  void add_member(std::string room, Member member, Completion<Room> done) override {
    write<Room>([room = std::move(room), member = std::move(member)](
                    Db& db) { return sqlite::write_add_member(db, room, member); },
                std::move(done));
  }
  void remove_member(std::string room, std::string user_id, Completion<Room> done) override {
    write<Room>([room = std::move(room), user_id = std::move(user_id)](
                    Db& db) { return sqlite::write_remove_member(db, room, user_id); },
                std::move(done));
  }
  void update_session(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                      std::optional<Timestamp> ended_at, Completion<Room> done) override {
    write<Room>([=, room = std::move(room)](Db& db) {
      return sqlite::write_update_session(db, room, status, started_at, ended_at);
    }, std::move(done));
  }
  void set_join_secret(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                       Completion<Room> done) override {
    write<Room>([=, room = std::move(room), secret = std::move(secret)](Db& db) {
      return sqlite::write_set_join_secret(db, room, secret, expires_at);
    }, std::move(done));
  }
  void list_rooms(std::string user_id, Completion<std::vector<RoomSummary>> done) override {
    read<std::vector<RoomSummary>>(
        [user_id = std::move(user_id)](Db& db) { return sqlite::read_room_list(db, user_id); },
        std::move(done));
  }

  void append(NewMessage msg, Completion<Appended> done) override {
    write<Appended>([msg = std::move(msg)](Db& db) { return sqlite::write_append(db, msg); },
                    std::move(done));
  }
  void get_message(std::string id, Completion<Message> done) override {
    read<Message>([id = std::move(id)](Db& db) { return sqlite::read_message_by_id(db, id); },
                  std::move(done));
  }
  void edit_message(std::string id, std::string text, Timestamp edited_at, Completion<Message> done) override {
    write<Message>([id = std::move(id), text = std::move(text), edited_at](
                       Db& db) { return sqlite::write_edit(db, id, text, edited_at); },
                   std::move(done));
  }
  void delete_message(std::string id, Completion<Message> done) override {
    write<Message>([id = std::move(id)](Db& db) { return sqlite::write_delete(db, id); }, std::move(done));
  }
  void history(std::string room, HistoryQuery query, Completion<HistoryPage> done) override {
    read<HistoryPage>([room = std::move(room), query](Db& db) { return sqlite::read_history(db, room, query); },
                      std::move(done));
  }
  void search(std::string room, std::string query, int limit, Completion<std::vector<Message>> done) override {
    const sqlite::SearchBudget budget{std::chrono::steady_clock::now() + options_.search_timeout,
                                      options_.search_timeout};
    submit<std::vector<Message>>(
        searcher_,
        [room = std::move(room), query = std::move(query), limit, budget](Db& db) {
          return sqlite::read_search(db, room, query, limit, budget);
        },
        std::move(done));
  }

  void mark_read(std::string room, std::string user_id, std::int64_t seq, Completion<ReadMark> done) override {
    write<ReadMark>([room = std::move(room), user_id = std::move(user_id), seq](
                        Db& db) { return sqlite::write_mark_read(db, room, user_id, seq); },
                    std::move(done));
  }
  void read_state(std::string room, std::string user_id, Completion<ReadState> done) override {
    read<ReadState>([room = std::move(room), user_id = std::move(user_id)](
                        Db& db) { return sqlite::read_read_state(db, room, user_id); },
                    std::move(done));
  }
  void set_last_seen(std::string room, std::string user_id, Timestamp at, StatusCompletion done) override {
    write<Done>([room = std::move(room), user_id = std::move(user_id), at](
                    Db& db) { return sqlite::write_set_last_seen(db, room, user_id, at); },
                [done = std::move(done)](Result<Done> r) { done(r.status()); });
  }

  void add_reaction(std::string id, std::string user, std::string emoji, std::size_t max_emojis,
                    Completion<bool> done) override {
    write<bool>([id = std::move(id), user = std::move(user), emoji = std::move(emoji), max_emojis](Db& db) {
      return sqlite::write_add_reaction(db, id, user, emoji, max_emojis);
    }, std::move(done));
  }
  void remove_reaction(std::string id, std::string user, std::string emoji, Completion<bool> done) override {
    write<bool>([id = std::move(id), user = std::move(user), emoji = std::move(emoji)](Db& db) {
      return sqlite::write_remove_reaction(db, id, user, emoji);
    }, std::move(done));
  }
  void reactions(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
                 Completion<std::vector<MessageReactions>> done) override {
    read<std::vector<MessageReactions>>([ids = std::move(ids), viewer = std::move(viewer), list_users](Db& db) {
      return sqlite::read_reactions(db, ids, viewer, list_users);
    }, std::move(done));
  }
  void set_member_role(std::string room, std::string user_id, std::string role, Completion<Room> done) override {
    write<Room>([room = std::move(room), user_id = std::move(user_id), role = std::move(role)](Db& db) {
      return sqlite::write_member_role(db, room, user_id, role);
    }, std::move(done));
  }
  void set_mute(std::string room, std::string user_id, std::optional<Timestamp> until, StatusCompletion done) override {
    write<Done>([room = std::move(room), user_id = std::move(user_id), until](Db& db) {
      return sqlite::write_mute(db, room, user_id, until);
    }, status_of(std::move(done)));
  }
  void set_slow_mode(std::string room, int seconds, StatusCompletion done) override {
    write<Done>([room = std::move(room), seconds](Db& db) { return sqlite::write_slow_mode(db, room, seconds); },
                status_of(std::move(done)));
  }
  void room_moderation(std::string room, Completion<RoomModeration> done) override {
    read<RoomModeration>([room = std::move(room)](Db& db) { return sqlite::read_room_moderation(db, room); },
                         std::move(done));
  }
  void append_audit(AuditEntry entry, Completion<AuditEntry> done) override {
    write<AuditEntry>([entry = std::move(entry)](Db& db) { return sqlite::write_audit(db, entry); }, std::move(done));
  }
  void audit_log(std::string room, std::optional<std::int64_t> before, int limit, Completion<AuditPage> done) override {
    read<AuditPage>([room = std::move(room), before, limit](Db& db) { return sqlite::read_audit(db, room, before, limit); },
                    std::move(done));
  }
  void set_ban(Ban ban, StatusCompletion done) override {
    write<Done>([ban = std::move(ban)](Db& db) { return sqlite::write_ban(db, ban); }, status_of(std::move(done)));
  }
  void remove_ban(std::string user_id, StatusCompletion done) override {
    write<Done>([user_id = std::move(user_id)](Db& db) { return sqlite::write_unban(db, user_id); },
                status_of(std::move(done)));
  }
  void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done) override {
    read<std::vector<Ban>>([now, limit](Db& db) { return sqlite::read_bans(db, now, limit); }, std::move(done));
  }

  void flush(StatusCompletion done) override {
    // An empty write: it completes after the COMMIT of its batch, which
    // holds or follows every earlier write.
    write<Done>([](Db&) { return Result<Done>(Done{}); },
                [done = std::move(done)](Result<Done> r) { done(r.status()); });
  }

  void close() override {
    std::lock_guard lock(close_mu_);
    if (closed_.exchange(true)) return;
    writer_.stop();
    reader_.stop();
    searcher_.stop();
  }

  std::size_t pending() const override { return pending_->load(); }

  Status health() const override { return health_.get(); }

 private:
  static std::function<void(Result<Done>)> status_of(StatusCompletion done) {
    return [done = std::move(done)](Result<Done> r) { done(r.status()); };
  }

  template <class T>
  void write(typename sqlite::TypedOp<T>::Fn fn, std::function<void(Result<T>)> done) {
    submit<T>(writer_, std::move(fn), std::move(done));
  }
  template <class T>
  void read(typename sqlite::TypedOp<T>::Fn fn, std::function<void(Result<T>)> done) {
    submit<T>(reader_, std::move(fn), std::move(done));
  }

  template <class T>
  void submit(sqlite::Worker& worker, typename sqlite::TypedOp<T>::Fn fn, std::function<void(Result<T>)> done) {
    const std::size_t before = pending_->fetch_add(1);
    auto counted = [pending = pending_, done = std::move(done)](Result<T> r) {
      pending->fetch_sub(1);
      done(std::move(r));
    };
    std::unique_ptr<sqlite::Op> op = sqlite::make_op<T>(std::move(fn), std::move(counted));
    Status refused;
    if (closed_.load()) {
      refused = Status::unavailable("store is closed");
    } else if (before >= options_.max_pending) {
      refused = Status::unavailable("store is overloaded: too many calls pending");
    } else {
      switch (worker.enqueue(op)) {
        case sqlite::Worker::Enqueued::ok: break;
        case sqlite::Worker::Enqueued::stopped: refused = Status::unavailable("store is closed"); break;
        case sqlite::Worker::Enqueued::full:
          refused = Status::unavailable(fmt::format("too many searches queued ({}); retry later",
                                                    options_.max_queued_searches));
          break;
      }
    }
    if (refused.ok()) return;
    op->fail(std::move(refused));
    std::shared_ptr<sqlite::Op> shared = std::move(op);
    exec_.post([shared] { shared->complete(); });
  }

  SqliteStoreOptions options_;
  Executor& exec_;
  std::shared_ptr<std::atomic<std::size_t>> pending_;
  std::atomic<bool> closed_{false};
  std::mutex close_mu_;
  sqlite::FileHealth health_;
  sqlite::ReadConnections connections_;
  // Declared after what they use: destroyed (and joined) first.
  sqlite::Writer writer_;
  sqlite::Reader reader_;
  sqlite::Reader searcher_;
};

}  // namespace

int sqlite_store_schema_version() { return sqlite::kSchemaVersion; }

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteStoreOptions& options, Executor& completions) {
  SqliteStoreOptions o = options;
  o.reader_threads = std::max<std::size_t>(o.reader_threads, 1);
  o.search_threads = std::max<std::size_t>(o.search_threads, 1);
  auto writer = sqlite::open_writer(o);
  if (!writer.ok()) return writer.status();
  std::vector<Db> readers;
  for (std::size_t i = 0; i < o.reader_threads + o.search_threads; ++i) {
    auto reader = sqlite::open_reader(o);
    if (!reader.ok()) return reader.status();
    readers.push_back(std::move(*reader));
  }
  try {
    return std::unique_ptr<Store>(
        std::make_unique<SqliteStore>(o, completions, std::move(*writer), std::move(readers)));
  } catch (const std::exception& e) {  // no thread could be started
    return Status::internal(std::string("cannot start the SQLite store: ") + e.what());
  }
}

}  // namespace realtime
