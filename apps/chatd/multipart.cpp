// A strict, small multipart/form-data reader: enough for one file field.
// It only ever holds a part's headers and a search window in memory.
#include "multipart.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace chatd {
namespace {

constexpr std::size_t kWindow = 64 * 1024;         // bytes searched per read
constexpr std::size_t kMaxPartHeaders = 8 * 1024;  // a part's header block

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of `key=` in a header's parameters, unquoted; nullopt if absent.
std::optional<std::string> parameter(std::string_view header, std::string_view key) {
  const std::string h = lower(header);
  std::size_t pos = 0;
  while ((pos = h.find(key, pos)) != std::string::npos) {
    const bool starts = pos == 0 || h[pos - 1] == ';' || h[pos - 1] == ' ';
    const std::size_t eq = pos + key.size();
    if (starts && eq < h.size() && h[eq] == '=') {
      std::string_view v = header.substr(eq + 1);
      if (!v.empty() && v.front() == '"') {
        const auto end = v.find('"', 1);
        if (end == std::string_view::npos) return std::nullopt;
        return std::string(v.substr(1, end - 1));
      }
      return std::string(v.substr(0, v.find(';')));
    }
    pos = eq;
  }
  return std::nullopt;
}

// The first `needle` at or after `from`, reading the body a window at a time
// (windows overlap by the needle's length, so no match is missed).
std::optional<std::uint64_t> find(const BodySource& body, std::string_view needle, std::uint64_t from) {
  while (from < body.size()) {
    const std::string chunk = body.read(from, kWindow + needle.size());
    const auto at = chunk.find(needle);
    if (at != std::string::npos) return from + at;
    if (chunk.size() < kWindow + needle.size()) return std::nullopt;
    from += kWindow;
  }
  return std::nullopt;
}

}  // namespace

realtime::Result<MultipartFile> find_multipart_file(std::string_view content_type, const BodySource& body) {
  using realtime::Status;
  const auto boundary = parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return Status::bad_request("multipart body without a boundary");
  const std::string delimiter = "--" + *boundary;
  auto pos = find(body, delimiter, 0);
  if (!pos) return Status::bad_request("malformed multipart body");
  std::optional<MultipartFile> named_file;
  for (int parts = 0; parts < 100; ++parts) {
    *pos += delimiter.size();
    const std::string after = body.read(*pos, 2);
    if (after == "--") break;  // closing delimiter
    if (after != "\r\n") return Status::bad_request("malformed multipart body");
    *pos += 2;
    const std::string head = body.read(*pos, kMaxPartHeaders + 4);
    const std::size_t headers_end = head.find("\r\n\r\n");
    if (headers_end == std::string::npos) return Status::bad_request("malformed multipart part headers");
    const std::uint64_t data_start = *pos + headers_end + 4;
    const auto next = find(body, "\r\n" + delimiter, data_start);
    if (!next) return Status::bad_request("unterminated multipart part");
    MultipartFile part;
    part.mime = "application/octet-stream";
    std::optional<std::string> name, filename;
    std::string_view headers = std::string_view(head).substr(0, headers_end);
    while (!headers.empty()) {
      const std::size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string field = lower(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (field == "content-disposition") {
        name = parameter(value, "name");
        filename = parameter(value, "filename");
      } else if (field == "content-type" && !value.empty()) {
        part.mime = std::string(value);
      }
    }
    part.offset = data_start;
    part.length = *next - data_start;
    if (filename) {
      part.filename = *filename;
      return part;
    }
    if (name == "file" && !named_file) named_file = std::move(part);
    pos = *next + 2;
  }
  if (named_file) return *std::move(named_file);
  return Status::bad_request("the multipart body has no file part");
}

}  // namespace chatd
