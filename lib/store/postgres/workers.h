// The PostgreSQL store's threads: one writer, a pool of readers and an
// indexer, each with its own connection (a Link). Enqueue from the loop
// thread; stop() from the closing thread drains the queues, then joins.
//
// Writer, group commit: each batch (everything queued, up to max_batch)
// is one transaction sent as one pipeline: BEGIN, a lock on every room it
// writes to (in rid order; a batch that is one segment of appends takes
// them in that statement), the calls' statements (consecutive appends as
// segments), COMMIT, and one sync: one round trip per batch. Completions
// are posted only after COMMIT answered. When the transaction fails:
//  - lost a race (deadlock, serialization failure, a unique key another
//    process took first): the whole batch runs again, up to kMaxRetries;
//  - one call's statement failed: that call fails alone (a segment is
//    first split into single appends to find it) and the rest run again;
//  - the server cannot work (disk full, shutting down, read only): every
//    call of the batch fails;
//  - the connection broke or the deadline passed: every call fails with
//    `unavailable` and is not acknowledged, whether or not COMMIT reached
//    the server (a client retrying with its clientMsgId finds out).
// Nothing of a failed transaction stays; nothing is acknowledged that was
// not committed.
//
// Readers: each takes one read at a time; a read whose connection breaks
// runs again on a new one until its deadline.
//
// While a Link cannot connect, calls wait in their queue for it (with
// backoff between attempts) until their deadline, then complete with
// `unavailable`.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "realtime/event_loop.h"
#include "store/postgres/link.h"
#include "store/postgres/op.h"

namespace realtime::pg {

// A queue of Ops that store threads wait on.
template <class T>
class OpQueue {
 public:
  // False once stop() began (`op` untouched then).
  bool push(std::unique_ptr<T>& op) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return false;
      q_.push_back(std::move(op));
    }
    cv_.notify_one();
    return true;
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }
  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  // Waits until there is work, stop, or `until`; takes up to `max` ops.
  // Empty when it woke for another reason.
  std::vector<std::unique_ptr<T>> take(std::size_t max, SteadyClock::time_point until) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, until, [&] { return stopping_ || !q_.empty(); });
    std::vector<std::unique_ptr<T>> out;
    while (!q_.empty() && out.size() < max) {
      out.push_back(std::move(q_.front()));
      q_.pop_front();
    }
    return out;
  }
  // Sleeps until `until` or stop().
  void pause(SteadyClock::time_point until) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, until, [&] { return stopping_; });
  }
  bool empty() const {
    std::lock_guard lock(mu_);
    return q_.empty();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<T>> q_;
  bool stopping_ = false;
};

// The search index's housekeeper. New GIN entries go to the index's
// pending list, which someone must merge into the index proper; left to
// the inserts, the writer's backend does it and it costs about a third of
// that backend's time per message (measured by bench/store). The indexer
// merges it on its own connection instead, at most every index_interval
// and only after appends, so that it runs beside the writer.
class Indexer {
 public:
  Indexer(const PostgresStoreOptions& o, Health& health, std::size_t index);
  ~Indexer();
  Indexer(const Indexer&) = delete;
  Indexer& operator=(const Indexer&) = delete;
  void start();
  void stop();
  // Writer thread: `n` more messages were committed.
  void appended(std::size_t n);

 private:
  void loop();
  const PostgresStoreOptions& o_;
  Link link_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

class Writer {
 public:
  static constexpr int kMaxRetries = 5;
  Writer(const PostgresStoreOptions& o, Health& health, std::size_t index, Executor& completions, Indexer& indexer);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // The connection open_postgres_store() made (migrated, configured).
  void start(Conn first);
  bool enqueue(std::unique_ptr<WriteOp>& op) { return queue_.push(op); }
  void stop();

 private:
  using Batch = std::vector<std::unique_ptr<WriteOp>>;
  void loop();
  // Waits for a connection (failing calls whose deadline passes), then
  // runs the batch.
  void run(Batch& batch);
  void run_batch(Conn& c, Batch& batch);
  void fail_unsettled(Batch& batch, const Status& s);
  void fail_expired(Batch& batch);

  const PostgresStoreOptions& o_;
  Link link_;
  Health& health_;
  Executor& completions_;
  Indexer& indexer_;
  OpQueue<WriteOp> queue_;
  std::thread thread_;
};

class Readers {
 public:
  // Links first_index .. first_index + o.readers - 1 in `health`.
  Readers(const PostgresStoreOptions& o, Health& health, std::size_t first_index, Executor& completions);
  ~Readers();
  Readers(const Readers&) = delete;
  Readers& operator=(const Readers&) = delete;

  void start();
  bool enqueue(std::unique_ptr<ReadOp>& op) { return queue_.push(op); }
  void stop();

 private:
  void loop(Link& link);
  const PostgresStoreOptions& o_;
  Health& health_;
  Executor& completions_;
  std::vector<std::unique_ptr<Link>> links_;
  OpQueue<ReadOp> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace realtime::pg
