// Op: one queued Store call. Built on the loop thread, run on a store
// thread against its connection, and completed back on the loop through
// the Executor. The result is kept between run() and complete() so that a
// batch whose COMMIT fails can still turn every result into an error.
#pragma once

#include <atomic>
#include <exception>
#include <string>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "realtime/store.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

class Op {
 public:
  virtual ~Op() = default;
  // Store thread: does the work; the Status of the outcome.
  virtual Status run(Db& db) = 0;
  // Store thread: replaces the outcome with an error (e.g. its batch did
  // not commit). Also used for calls refused before they ran.
  virtual void fail(Status s) = 0;
  // Loop thread: calls the completion with the outcome. Once.
  virtual void complete() = 0;
};

template <class T>
class TypedOp final : public Op {
 public:
  using Fn = std::function<Result<T>(Db&)>;
  TypedOp(Fn fn, std::function<void(Result<T>)> done) : fn_(std::move(fn)), done_(std::move(done)) {}

  Status run(Db& db) override {
    // Nothing may escape a store thread (it would terminate the process):
    // an exception here (allocation failure) fails this call only.
    try {
      result_.emplace(fn_(db));
    } catch (const std::exception& e) {
      result_.emplace(Status::internal(std::string("store operation failed: ") + e.what()));
    }
    return result_->status();
  }
  void fail(Status s) override { result_.emplace(std::move(s)); }
  void complete() override {
    if (!result_) result_.emplace(Status::internal("store operation never ran"));
    done_(std::move(*result_));
  }

 private:
  Fn fn_;
  std::function<void(Result<T>)> done_;
  std::optional<Result<T>> result_;
};

template <class T>
std::unique_ptr<Op> make_op(std::function<Result<T>(Db&)> fn, std::function<void(Result<T>)> done) {
  return std::make_unique<TypedOp<T>>(std::move(fn), std::move(done));
}

}  // namespace realtime::sqlite
