// Op: one queued call of the PostgreSQL store. Built on the loop thread,
// answered on a store thread, completed on the loop through the Executor.
//
// A WriteOp adds its statements to the writer's batch pipeline and reads
// its answer from the results once the batch committed; a ReadOp runs on
// a reader's connection by itself. Ops keep their answer between running
// and complete(), so a batch that does not commit can still turn every
// answer into an error, and one that is retried can plan again.
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <utility>

#include "realtime/store.h"
#include "store/postgres/conn.h"

namespace realtime::pg {

class AppendOp;

class Op {
 public:
  virtual ~Op() = default;
  // Store thread: makes `s` the answer (its batch failed, it waited too
  // long, or the store refused it before it ran).
  virtual void fail(Status s) = 0;
  // Loop thread: calls the completion with the answer. Once.
  virtual void complete() = 0;
  // When the call must have its answer by (request_timeout after it was
  // made); a call still waiting then gets `unavailable`.
  SteadyClock::time_point due{};
};

class WriteOp : public Op {
 public:
  // The room this call writes to: the batch locks it first.
  virtual const std::string* room() const { return nullptr; }
  virtual AppendOp* as_append() { return nullptr; }
  // Adds this call's statements to the batch (after BEGIN and the room
  // lock, before COMMIT); `first` records where they start.
  virtual void plan(Pipeline& p) = 0;
  // False for a call that adds no statement (flush).
  virtual bool has_statements() const { return true; }
  // After COMMIT succeeded: the answer from this call's results.
  virtual void take(const Outcome& o) = 0;

  std::size_t first = 0;
  // Answered already (bad input, or failed on its own when its batch
  // was retried): the batch leaves it out.
  bool settled = false;
};

class ReadOp : public Op {
 public:
  // Runs the read on `c` and keeps the answer. Returns false when the
  // connection was lost before the read had an answer: the reader
  // reconnects and runs it again (reads change nothing).
  virtual bool run(Conn& c, SteadyClock::time_point deadline) = 0;
};

// The answer and completion of an Op whose result is a T.
template <class T, class Base>
class Typed : public Base {
 public:
  explicit Typed(Completion<T> done) : done_(std::move(done)) {}
  void fail(Status s) override { answer_.emplace(std::move(s)); }
  void complete() override {
    if (!answer_) answer_.emplace(Status::internal("store operation never ran"));
    done_(std::move(*answer_));
  }

 protected:
  void answer(Result<T> r) { answer_.emplace(std::move(r)); }
  // Settles a write before it runs (bad input).
  void refuse(Status s) {
    answer_.emplace(std::move(s));
    if constexpr (std::is_base_of_v<WriteOp, Base>) this->settled = true;
  }

 private:
  Completion<T> done_;
  std::optional<Result<T>> answer_;
};

// The value of a write whose completion carries only a Status.
struct Done {};

// The server error of a statement, as the answer of a read.
inline Status server_error(const Outcome::Error& e) {
  return Status::internal("PostgreSQL: " + e.message + (e.sqlstate.empty() ? "" : " (" + e.sqlstate + ")"));
}

}  // namespace realtime::pg
