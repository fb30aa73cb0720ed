// Json parse and dump, on RapidJSON's SAX reader and writer.
//
// Parsing uses the iterative reader and builds the tree with an explicit
// stack, so hostile nesting costs memory proportional to the input (capped
// by max_depth), never stack depth.
#include "realtime/json.h"

#include "realtime/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/writer.h>

namespace realtime {
namespace {

class TreeBuilder {
 public:
  explicit TreeBuilder(int max_depth) : max_depth_(max_depth) {}

  bool Null() { return put(Json()); }
  bool Bool(bool b) { return put(Json(b)); }
  bool Int(int i) { return put(Json(i)); }
  bool Uint(unsigned u) { return put(Json(u)); }
  bool Int64(std::int64_t i) { return put(Json(static_cast<long long>(i))); }
  bool Uint64(std::uint64_t u) {
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return put(Json(static_cast<double>(u)));
    return put(Json(static_cast<long long>(u)));
  }
  bool Double(double d) { return put(Json(d)); }
  // Numbers arrive as text (kParseNumbersAsStringsFlag) and are converted
  // here: std::from_chars rounds exactly, and RapidJSON 1.1's own
  // full-precision path has undefined behaviour on inputs like -0e280.
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    if (std::find_if(s, end, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == end) {
      std::int64_t i = 0;
      auto [p, ec] = std::from_chars(s, end, i);
      if (ec == std::errc() && p == end) return put(Json(static_cast<long long>(i)));
      // Integers beyond int64 become doubles, as in JavaScript.
    }
    double d = 0;
    auto [p, ec] = std::from_chars(s, end, d);
    if (ec == std::errc::result_out_of_range) d = std::strtod(std::string(s, n).c_str(), nullptr);  // underflow -> 0
    else if (ec != std::errc() || p != end) return false;
    if (!std::isfinite(d)) return false;  // 1e400: too big for a double
    return put(Json(d));
  }
  bool String(const char* s, rapidjson::SizeType n, bool) { return put(Json(std::string(s, n))); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    key_.assign(s, n);
    return true;
  }
  bool StartObject() { return open(Json(Json::Object{})); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(Json(Json::Array{})); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  bool too_deep() const { return too_deep_; }
  Json take() { return std::move(root_); }

 private:
  // Adds a value to the innermost container (or makes it the root) and
  // returns where it now lives.
  Json* place(Json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& top = *stack_.back();
    if (top.is_array()) {
      top.as_array().push_back(std::move(v));
      return &top.as_array().back();
    }
    auto& obj = top.as_object();
    obj.emplace_back(std::move(key_), std::move(v));
    key_.clear();
    return &obj.back().second;
  }
  bool put(Json v) {
    place(std::move(v));
    return true;
  }
  bool open(Json container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    // Pointers into vectors stay valid: a container's parent is never
    // appended to while the container is open.
    stack_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  int max_depth_;
  bool too_deep_ = false;
  Json root_;
  std::string key_;
  std::vector<Json*> stack_;
};

// Lets RapidJSON's Writer append straight into a std::string.
struct StringSink {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

void write(const Json& v, rapidjson::Writer<StringSink>& w) {
  switch (v.kind()) {
    case Json::Kind::null:
    case Json::Kind::binary: w.Null(); break;
    case Json::Kind::boolean: w.Bool(v.as_bool()); break;
    case Json::Kind::integer: w.Int64(v.as_int()); break;
    case Json::Kind::number:
      if (std::isfinite(v.as_double())) {
        w.Double(v.as_double());
      } else {
        w.Null();
      }
      break;
    case Json::Kind::string:
      w.String(v.as_string().data(), static_cast<rapidjson::SizeType>(v.as_string().size()));
      break;
    case Json::Kind::array:
      w.StartArray();
      for (const auto& item : v.as_array()) write(item, w);
      w.EndArray();
      break;
    case Json::Kind::object:
      w.StartObject();
      for (const auto& [k, item] : v.as_object()) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        write(item, w);
      }
      w.EndObject();
      break;
  }
}

}  // namespace

namespace {

bool hex4(std::string_view s, std::uint32_t& v) {
  v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
    else return false;
  }
  return true;
}

// Rewrites \u escapes of lone surrogates as their raw 3-byte (WTF-8) form,
// which the non-validating reader passes through; paired surrogates stay.
std::string raw_lone_surrogates(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') in_string = !in_string;
    if (!in_string || c != '\\' || i + 1 >= text.size()) {
      out += c;
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    if (text[i + 1] != 'u' || i + 6 > text.size() || !hex4(text.substr(i + 2, 4), cp) || cp < 0xD800 || cp > 0xDFFF) {
      out.append(text.substr(i, 2));
      i += 2;
      continue;
    }
    std::uint32_t low = 0;
    const bool paired = cp <= 0xDBFF && i + 12 <= text.size() && text[i + 6] == '\\' && text[i + 7] == 'u' &&
                        hex4(text.substr(i + 8, 4), low) && low >= 0xDC00 && low <= 0xDFFF;
    if (paired) {
      out.append(text.substr(i, 12));
      i += 12;
      continue;
    }
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
    i += 6;
  }
  return out;
}

template <unsigned kFlags>
Result<Json> parse_with(std::string_view text, int max_depth) {
  rapidjson::MemoryStream ms(text.data(), text.size());
  TreeBuilder builder(max_depth);
  rapidjson::Reader reader;
  rapidjson::ParseResult r = reader.Parse<kFlags>(ms, builder);
  if (!r) {
    if (builder.too_deep()) return Status::bad_request("JSON nested too deeply");
    return Status::bad_request(std::string("invalid JSON: ") + rapidjson::GetParseError_En(r.Code()) +
                               " at offset " + std::to_string(r.Offset()));
  }
  // kParseStopWhenDoneFlag stops after one value; only whitespace may follow.
  for (std::size_t i = ms.Tell(); i < text.size(); ++i) {
    const char c = text[i];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
      return Status::bad_request("invalid JSON: trailing characters at offset " + std::to_string(i));
  }
  return builder.take();
}

bool strings_valid(const Json& v) {
  switch (v.kind()) {
    case Json::Kind::string: return is_valid_utf8(v.as_string());
    case Json::Kind::array:
      for (const auto& item : v.as_array())
        if (!strings_valid(item)) return false;
      return true;
    case Json::Kind::object:
      for (const auto& [k, item] : v.as_object())
        if (!is_valid_utf8(k) || !strings_valid(item)) return false;
      return true;
    default: return true;
  }
}

}  // namespace

Result<Json> Json::parse(std::string_view text, int max_depth, bool keep_invalid_utf8) {
  // Numbers as text: TreeBuilder::RawNumber converts them exactly, so values
  // survive dump() and parse() unchanged.
  constexpr unsigned kBase =
      rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseNumbersAsStringsFlag;
  if (text.size() > std::numeric_limits<rapidjson::SizeType>::max())
    return Status::payload_too_large("JSON text too large");
  auto strict = parse_with<kBase | rapidjson::kParseValidateEncodingFlag>(text, max_depth);
  if (strict.ok() || !keep_invalid_utf8) return strict;
  // Only reached for bad input: worth a second pass to tell "invalid
  // Unicode" apart from "not JSON".
  return parse_with<kBase>(raw_lone_surrogates(text), max_depth);
}

bool Json::valid_utf8() const { return strings_valid(*this); }

void Json::dump_to(std::string& out) const {
  StringSink sink{&out};
  rapidjson::Writer<StringSink> w(sink);
  write(*this, w);
}

std::string Json::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

double Json::as_double() const {
  if (is_int()) return static_cast<double>(as_int());
  return std::get<double>(v_);
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : as_object())
    if (k == key) return &v;
  return nullptr;
}

Json* Json::find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->find(key));
}

const Json& Json::operator[](std::string_view key) const {
  static const Json kNull;
  const Json* v = find(key);
  return v ? *v : kNull;
}

Json& Json::set(std::string key, Json value) {
  if (is_null()) v_ = Object{};
  if (Json* existing = find(key)) {
    *existing = std::move(value);
    return *this;
  }
  as_object().emplace_back(std::move(key), std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  if (is_null()) v_ = Array{};
  as_array().push_back(std::move(value));
  return *this;
}

std::size_t Json::size() const {
  if (is_array()) return as_array().size();
  if (is_object()) return as_object().size();
  return 0;
}

}  // namespace realtime
