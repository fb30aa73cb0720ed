// Status and Result<T>: how errors cross the librealtime API.
//
// No exceptions cross a backend or layer boundary (docs/architecture.md,
// "Errors and exceptions"). A Status carries one of the error codes of the
// chat protocol (so a failure deep in a store can be answered to a client
// without translation) plus a human-readable message. Both are plain values:
// any thread, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "realtime/export.h"

namespace realtime {

// The order matters only for readability; wire names come from code_name().
enum class StatusCode : std::uint8_t {
  ok,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  room_ended,
  rate_limited,
  payload_too_large,
  peer_not_found,
  conflict,
  internal,
  unavailable,  // the component is closed, full or shutting down; retry later
};

// The wire name of a code ("bad_request", ...).
REALTIME_EXPORT std::string_view code_name(StatusCode code);

class [[nodiscard]] REALTIME_EXPORT Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }
  static Status bad_request(std::string m) { return {StatusCode::bad_request, std::move(m)}; }
  static Status unauthorized(std::string m) { return {StatusCode::unauthorized, std::move(m)}; }
  static Status forbidden(std::string m) { return {StatusCode::forbidden, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::not_found, std::move(m)}; }
  static Status room_ended(std::string m) { return {StatusCode::room_ended, std::move(m)}; }
  static Status rate_limited(std::string m) { return {StatusCode::rate_limited, std::move(m)}; }
  static Status payload_too_large(std::string m) { return {StatusCode::payload_too_large, std::move(m)}; }
  static Status peer_not_found(std::string m) { return {StatusCode::peer_not_found, std::move(m)}; }
  static Status conflict(std::string m) { return {StatusCode::conflict, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::internal, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::unavailable, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::ok; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "not_found: room r1 does not exist"
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

namespace detail {
// Reports value() on an error Result ("Result::value() on an error:
// <status>") on stderr and aborts. Out of line so the message is written in
// one place and Result stays small.
[[noreturn]] REALTIME_EXPORT void result_value_on_error(const Status& status);
}  // namespace detail

// A value or the Status saying why there is none.
//
// Contract:
// - Never holds an ok Status: built from one (a bug in the code that built
//   it), it holds Status::internal("Result built from an ok Status") instead,
//   so the caller sees a failure and not a value that is not there.
// - value(), operator* and operator-> require ok(). On an error they abort
//   the process with the Status on stderr; they never throw. A library that
//   promises no exception crosses a layer cannot let one out of its own
//   vocabulary type: a std::bad_variant_access thrown on the loop thread
//   would unwind through libwebsockets' C callbacks (undefined behaviour)
//   or be swallowed far from the bug. Check ok() (or status()) first.
// Not thread-safe beyond what T is; a Result is a value, copy it freely.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get_if<Status>(&v_)->ok()) v_ = Status::internal("Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // Precondition: ok(); aborts otherwise (see the contract above).
  T& value() & { return checked(); }
  const T& value() const& { return checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &checked(); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return checked(); }

  // The error; an ok Status when a value is held.
  Status status() const { return ok() ? Status{} : *std::get_if<Status>(&v_); }

 private:
  T& checked() {
    if (T* v = std::get_if<T>(&v_)) return *v;
    detail::result_value_on_error(*std::get_if<Status>(&v_));
  }
  const T& checked() const {
    if (const T* v = std::get_if<T>(&v_)) return *v;
    detail::result_value_on_error(*std::get_if<Status>(&v_));
  }

  std::variant<T, Status> v_;
};

}  // namespace realtime
