// StoreThread (store_thread.h): a task queue on one thread that owns the
// store, and views that forward each call to it. A completion hops twice:
// from the store's completion (on the thread) to the calling loop.
#include "realtime/store_thread.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

namespace realtime {

struct StoreThread::Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;
  std::size_t calls_queued = 0;  // views' calls among `tasks`
  std::size_t max_queued;
  bool stopping = false;
  bool closed = false;
  std::unique_ptr<Store> store;  // touched on the thread only (and by serve() before it runs)
  std::thread thread;

  explicit Shared(std::size_t max) : max_queued(max) {}

  void push(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu);
      tasks.push_back(std::move(task));
    }
    cv.notify_one();
  }
  // A view's call: refused when the queue is full or the store closed.
  bool push_call(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (closed || calls_queued >= max_queued) return false;
      ++calls_queued;
      tasks.push_back([this, task = std::move(task)] {
        {
          std::lock_guard<std::mutex> l(mu);
          --calls_queued;
        }
        task();
      });
    }
    cv.notify_one();
    return true;
  }
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [this] { return stopping || !tasks.empty(); });
        if (tasks.empty()) return;  // stopping, and nothing left
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      task();
    }
  }
};

namespace {

template <class T>
Completion<T> back_to(Executor& loop, Completion<T> done) {
  return [&loop, done = std::move(done)](Result<T> r) {
    loop.post([done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
}

StatusCompletion back_to(Executor& loop, StatusCompletion done) {
  return [&loop, done = std::move(done)](Status s) {
    loop.post([done, s = std::move(s)]() mutable { done(std::move(s)); });
  };
}

Status refused() { return Status::unavailable("the store's queue is full or the store is closed"); }

class View final : public Store {
 public:
  View(std::shared_ptr<StoreThread::Shared> s, Executor& loop) : s_(std::move(s)), loop_(loop) {}

  void create_room(Room room, Completion<Room> done) override {
    call(std::move(done), [room = std::move(room)](Store& st, Completion<Room> d) mutable {
      st.create_room(std::move(room), std::move(d));
    });
  }
  void get_room(std::string id, Completion<Room> done) override {
    call(std::move(done), [id = std::move(id)](Store& st, Completion<Room> d) mutable {
      st.get_room(std::move(id), std::move(d));
    });
  }
  void find_direct_room(std::string a, std::string b, Completion<Room> done) override {
    call(std::move(done), [a = std::move(a), b = std::move(b)](Store& st, Completion<Room> d) mutable {
      st.find_direct_room(std::move(a), std::move(b), std::move(d));
    });
  }
  void add_member(std::string room, Member member, Completion<Room> done) override {
    call(std::move(done), [room = std::move(room), member = std::move(member)](Store& st, Completion<Room> d) mutable {
      st.add_member(std::move(room), std::move(member), std::move(d));
    });
  }
  void remove_member(std::string room, std::string user, Completion<Room> done) override {
    call(std::move(done), [room = std::move(room), user = std::move(user)](Store& st, Completion<Room> d) mutable {
      st.remove_member(std::move(room), std::move(user), std::move(d));
    });
  }
  void update_session(std::string room, RoomStatus status, std::optional<Timestamp> started,
                      std::optional<Timestamp> ended, Completion<Room> done) override {
    call(std::move(done), [room = std::move(room), status, started, ended](Store& st, Completion<Room> d) mutable {
      st.update_session(std::move(room), status, started, ended, std::move(d));
    });
  }
  void set_join_secret(std::string room, std::string secret, std::optional<Timestamp> expires,
                       Completion<Room> done) override {
    call(std::move(done), [room = std::move(room), secret = std::move(secret), expires](Store& st, Completion<Room> d) mutable {
      st.set_join_secret(std::move(room), std::move(secret), expires, std::move(d));
    });
  }
  void list_rooms(std::string user, Completion<std::vector<RoomSummary>> done) override {
    call(std::move(done), [user = std::move(user)](Store& st, Completion<std::vector<RoomSummary>> d) mutable {
      st.list_rooms(std::move(user), std::move(d));
    });
  }
  void append(NewMessage msg, Completion<Appended> done) override {
    call(std::move(done), [msg = std::move(msg)](Store& st, Completion<Appended> d) mutable {
      st.append(std::move(msg), std::move(d));
    });
  }
  void get_message(std::string id, Completion<Message> done) override {
    call(std::move(done), [id = std::move(id)](Store& st, Completion<Message> d) mutable {
      st.get_message(std::move(id), std::move(d));
    });
  }
  void edit_message(std::string id, std::string text, Timestamp at, Completion<Message> done) override {
    call(std::move(done), [id = std::move(id), text = std::move(text), at](Store& st, Completion<Message> d) mutable {
      st.edit_message(std::move(id), std::move(text), at, std::move(d));
    });
  }
  void delete_message(std::string id, Completion<Message> done) override {
    call(std::move(done), [id = std::move(id)](Store& st, Completion<Message> d) mutable {
      st.delete_message(std::move(id), std::move(d));
    });
  }
  void history(std::string room, HistoryQuery q, Completion<HistoryPage> done) override {
    call(std::move(done), [room = std::move(room), q](Store& st, Completion<HistoryPage> d) mutable {
      st.history(std::move(room), q, std::move(d));
    });
  }
  void search(std::string room, std::string query, int limit, Completion<std::vector<Message>> done) override {
    call(std::move(done), [room = std::move(room), query = std::move(query), limit](Store& st,
                                                                                  Completion<std::vector<Message>> d) mutable {
      st.search(std::move(room), std::move(query), limit, std::move(d));
    });
  }
  void mark_read(std::string room, std::string user, std::int64_t seq, Completion<ReadMark> done) override {
    call(std::move(done), [room = std::move(room), user = std::move(user), seq](Store& st, Completion<ReadMark> d) mutable {
      st.mark_read(std::move(room), std::move(user), seq, std::move(d));
    });
  }
  void read_state(std::string room, std::string user, Completion<ReadState> done) override {
    call(std::move(done), [room = std::move(room), user = std::move(user)](Store& st, Completion<ReadState> d) mutable {
      st.read_state(std::move(room), std::move(user), std::move(d));
    });
  }
  void set_last_seen(std::string room, std::string user, Timestamp at, StatusCompletion done) override {
    call(std::move(done), [room = std::move(room), user = std::move(user), at](Store& st, StatusCompletion d) mutable {
      st.set_last_seen(std::move(room), std::move(user), at, std::move(d));
    });
  }
  void add_reaction(std::string id, std::string user, std::string emoji, std::size_t max,
                    Completion<bool> done) override {
    call(std::move(done), [id = std::move(id), user = std::move(user), emoji = std::move(emoji), max](
                              Store& st, Completion<bool> d) mutable {
      st.add_reaction(std::move(id), std::move(user), std::move(emoji), max, std::move(d));
    });
  }
  void remove_reaction(std::string id, std::string user, std::string emoji, Completion<bool> done) override {
    call(std::move(done), [id = std::move(id), user = std::move(user), emoji = std::move(emoji)](
                              Store& st, Completion<bool> d) mutable {
      st.remove_reaction(std::move(id), std::move(user), std::move(emoji), std::move(d));
    });
  }
  void reactions(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
                 Completion<std::vector<MessageReactions>> done) override {
    call(std::move(done), [ids = std::move(ids), viewer = std::move(viewer), list_users](
                              Store& st, Completion<std::vector<MessageReactions>> d) mutable {
      st.reactions(std::move(ids), std::move(viewer), list_users, std::move(d));
    });
  }
  void set_member_role(std::string room, std::string user, std::string role, Completion<Room> done) override {
    call(std::move(done), [room = std::move(room), user = std::move(user), role = std::move(role)](Store& st, Completion<Room> d) mutable {
      st.set_member_role(std::move(room), std::move(user), std::move(role), std::move(d));
    });
  }
  void set_mute(std::string room, std::string user, std::optional<Timestamp> until, StatusCompletion done) override {
    call(std::move(done), [room = std::move(room), user = std::move(user), until](Store& st, StatusCompletion d) mutable {
      st.set_mute(std::move(room), std::move(user), until, std::move(d));
    });
  }
  void set_slow_mode(std::string room, int seconds, StatusCompletion done) override {
    call(std::move(done), [room = std::move(room), seconds](Store& st, StatusCompletion d) mutable {
      st.set_slow_mode(std::move(room), seconds, std::move(d));
    });
  }
  void room_moderation(std::string room, Completion<RoomModeration> done) override {
    call(std::move(done), [room = std::move(room)](Store& st, Completion<RoomModeration> d) mutable {
      st.room_moderation(std::move(room), std::move(d));
    });
  }
  void append_audit(AuditEntry entry, Completion<AuditEntry> done) override {
    call(std::move(done), [entry = std::move(entry)](Store& st, Completion<AuditEntry> d) mutable {
      st.append_audit(std::move(entry), std::move(d));
    });
  }
  void audit_log(std::string room, std::optional<std::int64_t> before, int limit, Completion<AuditPage> done) override {
    call(std::move(done), [room = std::move(room), before, limit](Store& st, Completion<AuditPage> d) mutable {
      st.audit_log(std::move(room), before, limit, std::move(d));
    });
  }
  void set_ban(Ban ban, StatusCompletion done) override {
    call(std::move(done), [ban = std::move(ban)](Store& st, StatusCompletion d) mutable {
      st.set_ban(std::move(ban), std::move(d));
    });
  }
  void remove_ban(std::string user, StatusCompletion done) override {
    call(std::move(done), [user = std::move(user)](Store& st, StatusCompletion d) mutable {
      st.remove_ban(std::move(user), std::move(d));
    });
  }
  void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done) override {
    call(std::move(done), [now, limit](Store& st, Completion<std::vector<Ban>> d) mutable {
      st.list_bans(now, limit, std::move(d));
    });
  }
  void flush(StatusCompletion done) override {
    call(std::move(done), [](Store& st, StatusCompletion d) { st.flush(std::move(d)); });
  }
  void close() override {}
  std::size_t pending() const override { return in_flight_->load(std::memory_order_relaxed); }
  Status health() const override { return s_->store ? s_->store->health() : Status(); }

 private:
  // `done` is a Completion<T> or a StatusCompletion: either way it runs on
  // the calling loop (back_to) and the call itself on the store's thread.
  template <class Done, class F>
  void call(Done done, F f) {
    // Counted until `done` has run on the loop: a completion on its way back
    // is still pending, and each view counts only its own calls, so the
    // loops' gauges add up.
    in_flight_->fetch_add(1, std::memory_order_relaxed);
    Done d = back_to(loop_, Done([counter = in_flight_, done = std::move(done)](auto r) {
                       counter->fetch_sub(1, std::memory_order_relaxed);
                       done(std::move(r));
                     }));
    auto* s = s_.get();
    if (!s_->push_call([s, f = std::move(f), d]() mutable { f(*s->store, d); })) d(refused());
  }

  std::shared_ptr<StoreThread::Shared> s_;
  Executor& loop_;
  // Shared with the completions, which may outlive the view.
  std::shared_ptr<std::atomic<std::size_t>> in_flight_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace

StoreThread::StoreThread(std::size_t max_queued) : shared_(std::make_shared<Shared>(max_queued)) {
  shared_->thread = std::thread([s = shared_.get()] { s->run(); });
}

StoreThread::~StoreThread() {
  close();
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->cv.notify_one();
  shared_->thread.join();
}

void StoreThread::post(std::function<void()> task) { shared_->push(std::move(task)); }

void StoreThread::serve(std::unique_ptr<Store> store) { shared_->store = std::move(store); }

std::unique_ptr<Store> StoreThread::view(Executor& loop) { return std::make_unique<View>(shared_, loop); }

void StoreThread::close() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->closed) return;
    shared_->closed = true;
  }
  if (!shared_->store) return;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  shared_->push([&] {
    shared_->store->close();
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
}

}  // namespace realtime
