// Json: the value type that event payloads, acks and REST bodies travel in.
//
// A small tree (null, bool, integer, double, string, binary, array, object)
// so that no JSON library's types appear in librealtime's API. Objects keep
// insertion order, which keeps encoded payloads stable for tests and caches.
// Binary is not JSON: it is how Socket.IO binary attachments (an ArrayBuffer
// in the browser) reach handlers; plain JSON encoding rejects it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

class REALTIME_EXPORT Json {
 public:
  using Array = std::vector<Json>;
  using Field = std::pair<std::string, Json>;
  using Object = std::vector<Field>;
  using Binary = std::vector<std::uint8_t>;

  enum class Kind : std::uint8_t { null, boolean, integer, number, string, binary, array, object };

  Json() = default;
  Json(std::nullptr_t) {}                                    // NOLINT
  Json(bool b) : v_(b) {}                                    // NOLINT
  Json(int i) : v_(static_cast<std::int64_t>(i)) {}          // NOLINT
  Json(long i) : v_(static_cast<std::int64_t>(i)) {}         // NOLINT
  Json(long long i) : v_(static_cast<std::int64_t>(i)) {}    // NOLINT
  Json(unsigned i) : v_(static_cast<std::int64_t>(i)) {}     // NOLINT
  Json(unsigned long i) : v_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Json(double d) : v_(d) {}                                  // NOLINT
  Json(const char* s) : v_(std::string(s)) {}                // NOLINT
  Json(std::string s) : v_(std::move(s)) {}                  // NOLINT
  Json(std::string_view s) : v_(std::string(s)) {}           // NOLINT
  Json(Binary b) : v_(std::move(b)) {}                       // NOLINT
  Json(Array a) : v_(std::move(a)) {}                        // NOLINT
  Json(Object o) : v_(std::move(o)) {}                       // NOLINT

  static Json array(std::initializer_list<Json> items = {}) { return Json(Array(items)); }
  static Json object(std::initializer_list<Field> members = {}) { return Json(Object(members)); }

  // Parses one JSON text. Rejects nesting deeper than max_depth and
  // trailing garbage with a bad_request Status. Invalid UTF-8 (raw bytes,
  // or \u escapes of lone surrogates, which JavaScript can produce) is an
  // error too, unless keep_invalid_utf8: then such strings are kept as they
  // came (surrogates as WTF-8) so the caller can answer them precisely;
  // check with valid_utf8() before echoing or storing them.
  static Result<Json> parse(std::string_view text, int max_depth = 64, bool keep_invalid_utf8 = false);
  // True when every string and key in the tree is valid UTF-8.
  bool valid_utf8() const;

  // Compact JSON. Binary values encode as null; the Socket.IO codec replaces
  // them with placeholders before calling this.
  std::string dump() const;
  void dump_to(std::string& out) const;

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_int() const { return kind() == Kind::integer; }
  bool is_number() const { return kind() == Kind::integer || kind() == Kind::number; }
  bool is_string() const { return kind() == Kind::string; }
  bool is_binary() const { return kind() == Kind::binary; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // Typed access. Precondition: the matching is_*() holds (as_double also
  // accepts integers).
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  double as_double() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Binary& as_binary() const { return std::get<Binary>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // Object member lookup: nullptr when this is not an object or has no such key.
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);
  // Like find(), but a missing member reads as null.
  const Json& operator[](std::string_view key) const;
  // Sets (replacing) a member; turns a null into an object first.
  Json& set(std::string key, Json value);
  // Appends to an array; turns a null into an array first.
  Json& push(Json value);

  // Number of array items or object members; 0 otherwise.
  std::size_t size() const;

  friend bool operator==(const Json& a, const Json& b) { return a.v_ == b.v_; }

 private:
  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Binary, Array, Object> v_;
};

}  // namespace realtime
