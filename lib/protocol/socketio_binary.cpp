// Socket.IO binary attachments: placeholders out (encode) and back in
// (decode). Called by the packet encoder and the Decoder on the loop thread.
//
// Recursion depth here is bounded by the JSON depth cap on the decode path;
// on the encode path the value was built by the application itself.
#include <string>
#include <utility>
#include <vector>

#include "protocol/socketio_packet.h"

namespace realtime::protocol::socketio {
namespace {

Json make_placeholder(std::size_t num) {
  Json p = Json::object();
  p.set("_placeholder", true);
  p.set("num", static_cast<std::int64_t>(num));
  return p;
}

// Copies `value` with each Binary replaced by a placeholder, moving the
// bytes into `out` in depth-first order (the order the client expects).
Json strip(const Json& value, std::vector<std::string>& out) {
  switch (value.kind()) {
    case Json::Kind::binary: {
      const auto& b = value.as_binary();
      out.emplace_back(b.begin(), b.end());
      return make_placeholder(out.size() - 1);
    }
    case Json::Kind::array: {
      Json::Array items;
      items.reserve(value.as_array().size());
      for (const auto& item : value.as_array()) items.push_back(strip(item, out));
      return Json(std::move(items));
    }
    case Json::Kind::object: {
      Json::Object members;
      members.reserve(value.as_object().size());
      for (const auto& [k, v] : value.as_object()) members.emplace_back(k, strip(v, out));
      return Json(std::move(members));
    }
    default:
      return value;
  }
}

bool is_placeholder(const Json& value) {
  const Json* flag = value.find("_placeholder");
  return flag && flag->is_bool() && flag->as_bool();
}

}  // namespace

bool has_binary(const Json& value) {
  switch (value.kind()) {
    case Json::Kind::binary:
      return true;
    case Json::Kind::array:
      for (const auto& item : value.as_array())
        if (has_binary(item)) return true;
      return false;
    case Json::Kind::object:
      for (const auto& [k, v] : value.as_object())
        if (has_binary(v)) return true;
      return false;
    default:
      return false;
  }
}

Json deconstruct_binary(const Json& value, std::vector<std::string>& attachments) {
  return strip(value, attachments);
}

namespace {

// Moves each attachment into the placeholder that names it. `used` marks
// the attachments already taken: a placeholder may name each one once, so
// what a packet reconstructs is never more than the bytes it carried (a
// copy per reference let 64 KB referenced from a 60 KB packet grow to
// gigabytes).
Status fill(Json& data, std::vector<std::string>& attachments, std::vector<bool>& used) {
  if (data.is_object() && is_placeholder(data)) {
    const Json& num = data["num"];
    if (!num.is_int() || num.as_int() < 0 ||
        static_cast<std::uint64_t>(num.as_int()) >= attachments.size()) {
      return Status::bad_request("illegal attachment placeholder");
    }
    const auto i = static_cast<std::size_t>(num.as_int());
    if (used[i]) return Status::bad_request("attachment placeholder used twice");
    used[i] = true;
    std::string bytes = std::move(attachments[i]);
    data = Json(Json::Binary(bytes.begin(), bytes.end()));
    return {};
  }
  if (data.is_array()) {
    for (auto& item : data.as_array()) {
      Status s = fill(item, attachments, used);
      if (!s.ok()) return s;
    }
  } else if (data.is_object()) {
    for (auto& [k, v] : data.as_object()) {
      Status s = fill(v, attachments, used);
      if (!s.ok()) return s;
    }
  }
  return {};
}

}  // namespace

Status reconstruct(Json& data, std::vector<std::string>& attachments) {
  std::vector<bool> used(attachments.size(), false);
  Status s = fill(data, attachments, used);
  if (!s.ok()) return s;
  for (bool u : used)
    if (!u) return Status::bad_request("attachment without a placeholder");
  return {};
}

}  // namespace realtime::protocol::socketio
