// Media type grammar (see media_type.h).
#include "media_type.h"

#include <cctype>
#include <optional>

namespace chatd {
namespace {

// RFC 9110 tchar: the characters of a token.
bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool done() const { return i_ == s_.size(); }
  bool take(char c) {
    if (done() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  void skip_ows() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  std::string_view token() {
    const std::size_t start = i_;
    while (!done() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // A quoted-string's content, unescaped; nullopt when malformed.
  std::optional<std::string> quoted() {
    if (!take('"')) return std::nullopt;
    std::string out;
    while (!done()) {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) return std::nullopt;
        const auto e = static_cast<unsigned char>(s_[i_++]);
        if (e != '\t' && (e < 0x20 || e == 0x7f)) return std::nullopt;
        out.push_back(static_cast<char>(e));
        continue;
      }
      // qdtext: HTAB, SP, visible characters but '"' and '\', obs-text.
      if (c != '\t' && (c < 0x20 || c == 0x7f)) return std::nullopt;
      out.push_back(static_cast<char>(c));
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

}  // namespace

realtime::Result<std::string> normalize_media_type(std::string_view header) {
  using realtime::Status;
  constexpr std::size_t kMaxName = 127;  // RFC 6838 section 4.2
  Reader r(header);
  r.skip_ows();
  const std::string_view type = r.token();
  if (type.empty() || type.size() > kMaxName || !r.take('/')) return Status::bad_request("not a media type: type/subtype expected");
  const std::string_view subtype = r.token();
  if (subtype.empty() || subtype.size() > kMaxName) return Status::bad_request("not a media type: subtype expected");
  std::string out = lower(type) + "/" + lower(subtype);
  std::optional<std::string> charset;
  for (int params = 0;; ++params) {
    r.skip_ows();
    if (r.done()) break;
    if (params >= 32 || !r.take(';')) return Status::bad_request("malformed media type parameters");
    r.skip_ows();
    if (r.done()) break;
    if (r.take(';')) continue;  // an empty parameter (";;") is allowed
    const std::string_view name = r.token();
    if (name.empty() || !r.take('=')) return Status::bad_request("malformed media type parameter");
    std::string value;
    if (auto q = r.quoted()) {
      value = std::move(*q);
    } else {
      value = std::string(r.token());
      if (value.empty()) return Status::bad_request("malformed media type parameter value");
    }
    if (lower(name) == "charset" && is_token(value)) charset = lower(value);
  }
  if (charset && out.size() + 10 + charset->size() <= 255) out += "; charset=" + *charset;
  return out;
}

std::string_view media_type_essence(std::string_view normalized) {
  return normalized.substr(0, normalized.find(';'));
}

}  // namespace chatd
