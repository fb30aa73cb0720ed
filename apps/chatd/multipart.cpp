// A strict, small multipart/form-data reader: enough for one file field.
#include "multipart.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace chatd {
namespace {

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

}  // namespace

realtime::Result<UploadedFile> parse_multipart(std::string_view content_type, std::string_view body) {
  using realtime::Status;
  const auto boundary = parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return Status::bad_request("multipart body without a boundary");
  const std::string delimiter = "--" + *boundary;
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return Status::bad_request("malformed multipart body");
  std::optional<UploadedFile> named_file;
  for (int parts = 0; parts < 100; ++parts) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") break;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return Status::bad_request("malformed multipart body");
    pos += 2;
    const std::size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return Status::bad_request("malformed multipart part headers");
    const std::size_t next = body.find("\r\n" + delimiter, headers_end + 4);
    if (next == std::string_view::npos) return Status::bad_request("unterminated multipart part");
    UploadedFile part;
    part.mime = "application/octet-stream";
    std::optional<std::string> name, filename;
    std::string_view headers = body.substr(pos, headers_end - pos);
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
        part.mime = std::string(value.substr(0, value.find(';')));
      }
    }
    part.bytes = std::string(body.substr(headers_end + 4, next - headers_end - 4));
    if (filename) {
      part.filename = *filename;
      return part;
    }
    if (name == "file" && !named_file) named_file = std::move(part);
    pos = next + 2;
  }
  if (named_file) return *std::move(named_file);
  return Status::bad_request("the multipart body has no file part");
}

}  // namespace chatd
