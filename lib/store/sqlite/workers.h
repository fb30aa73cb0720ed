// The SQLite store's threads. The writer owns the read-write connection
// and commits queued writes in batches (group commit); readers own
// query-only connections and answer reads, which WAL lets run beside the
// writer. There are two read lanes, each a Reader with its own queue:
// ordinary reads (a small pool) and searches (their own thread and a
// bounded queue), so a slow search never holds up a history page. Every
// worker posts finished Ops to the Executor, which runs their completions
// on the loop. Enqueue from any thread; stop() drains the queue, then
// joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "realtime/event_loop.h"
#include "store/sqlite/db.h"
#include "store/sqlite/op.h"

namespace realtime::sqlite {

class Worker {
 public:
  // `threads` threads share one queue; each takes up to `max_batch` Ops at
  // once. `max_queued` > 0 bounds the Ops waiting (not yet taken).
  Worker(Executor& completions, std::size_t threads, std::size_t max_batch, std::size_t max_queued);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  virtual ~Worker();

  void start();
  enum class Enqueued { ok, stopped, full };
  // On anything but ok, `op` is left with the caller.
  Enqueued enqueue(std::unique_ptr<Op>& op);
  // Runs everything queued so far, then ends the threads. Idempotent.
  // A subclass must call it in its own destructor (the threads call its
  // overrides).
  void stop();

 protected:
  // Runs one batch of Ops (each gets a result) on worker thread `thread`.
  virtual void run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) = 0;

 private:
  void loop(std::size_t thread);
  Executor& completions_;
  const std::size_t threads_;
  const std::size_t max_batch_;
  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> running_;
};

// Group commit: one transaction per batch. Completions are posted only
// after COMMIT; if the transaction is lost (COMMIT fails, or SQLite rolls
// it back after an I/O error) every Op that had succeeded in it gets
// `internal` instead.
//
// A failed Op must undo only itself. Ops refuse (not_found, conflict...)
// before they write, so the fast path runs a batch without savepoints; if
// an Op fails after writing, or with an SQLite error, that transaction is
// rolled back and the whole batch re-run with a savepoint around each Op.
// Savepoints cost a copy of every page an Op touches (docs/store.md has
// the measurement), which is why they are not the default path.
class Writer final : public Worker {
 public:
  Writer(Db db, Executor& completions, std::size_t max_batch);
  ~Writer() override;

 private:
  void run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) override;
  // False when the batch must be re-run with savepoints (nothing of it
  // was committed then).
  bool run_fast(std::vector<std::unique_ptr<Op>>& batch);
  void run_with_savepoints(std::vector<std::unique_ptr<Op>>& batch);
  // Clears the room memo if another connection committed since last time.
  void check_foreign_commits();
  Db db_;
  std::int64_t data_version_ = -1;
};

// One read lane: a thread per connection in `dbs`, sharing one queue.
// Each read runs in its own read transaction: one consistent snapshot,
// started after the Op was dequeued, so it sees every write whose
// completion preceded the call.
class Reader final : public Worker {
 public:
  Reader(Executor& completions, std::vector<Db> dbs, std::size_t max_queued);
  ~Reader() override;

 private:
  void run_batch(std::size_t thread, std::vector<std::unique_ptr<Op>>& batch) override;
  std::vector<Db> dbs_;
};

}  // namespace realtime::sqlite
