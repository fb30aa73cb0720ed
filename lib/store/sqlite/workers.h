// The SQLite store's two threads. The writer owns the read-write
// connection and commits queued writes in batches (group commit); the
// reader owns a query-only connection and answers reads, which WAL lets
// run beside the writer. Both post finished Ops to the Executor, which
// runs their completions on the loop. Enqueue from any thread; stop()
// drains the queue, then joins.
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
  // `max_batch`: the most Ops taken from the queue at once.
  Worker(Db db, Executor& completions, std::size_t max_batch);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  virtual ~Worker();

  void start();
  // False (and `op` untouched) once stop() has begun.
  bool enqueue(std::unique_ptr<Op>& op);
  // Runs everything queued so far, then ends the thread. Idempotent.
  void stop();

 protected:
  // Runs one batch of Ops (each gets a result), on the worker thread.
  virtual void run_batch(std::vector<std::unique_ptr<Op>>& batch) = 0;
  Db db_;

 private:
  void loop();
  Executor& completions_;
  const std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_;
  bool stopping_ = false;
  std::thread thread_;
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
  using Worker::Worker;

 private:
  void run_batch(std::vector<std::unique_ptr<Op>>& batch) override;
  // False when the batch must be re-run with savepoints (nothing of it
  // was committed then).
  bool run_fast(std::vector<std::unique_ptr<Op>>& batch);
  void run_with_savepoints(std::vector<std::unique_ptr<Op>>& batch);
  // Clears the room memo if another connection committed since last time.
  void check_foreign_commits();
  std::int64_t data_version_ = -1;
};

// Each read runs in its own read transaction: one consistent snapshot,
// started after the Op was dequeued, so it sees every write whose
// completion preceded the call.
class Reader final : public Worker {
 public:
  using Worker::Worker;

 private:
  void run_batch(std::vector<std::unique_ptr<Op>>& batch) override;
};

}  // namespace realtime::sqlite
