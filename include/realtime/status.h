// Status and Result<T>: how errors cross the librealtime API.
//
// No exceptions cross a backend or layer boundary. A Status carries one of
// the error codes of the chat protocol (so a failure deep in a store can be
// answered to a client without translation) plus a human-readable message.
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

// A value or the Status saying why there is none. Never holds an ok Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status::internal("Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  // Precondition for value(): ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; an ok Status when a value is held.
  Status status() const { return ok() ? Status{} : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace realtime
