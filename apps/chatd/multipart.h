// The file part of a multipart/form-data upload (what a browser <form> or
// FormData sends), so attachments can be uploaded raw or as multipart. The
// body is read by ranges through a BodySource, so that a spooled upload is
// parsed straight from its file without being loaded whole. Pure apart from
// the source's reads; runs on chatd's attachment worker (and in tests).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "realtime/status.h"

namespace chatd {

// Random access to a request body.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::uint64_t size() const = 0;
  // Up to n bytes from offset (fewer only at the end).
  virtual std::string read(std::uint64_t offset, std::size_t n) const = 0;
};

// A body held in memory.
class StringSource final : public BodySource {
 public:
  explicit StringSource(std::string_view s) : s_(s) {}
  std::uint64_t size() const override { return s_.size(); }
  std::string read(std::uint64_t offset, std::size_t n) const override {
    return offset >= s_.size() ? std::string() : std::string(s_.substr(static_cast<std::size_t>(offset), n));
  }

 private:
  std::string_view s_;
};

struct MultipartFile {
  std::string filename;  // from Content-Disposition; may be empty
  std::string mime;      // the part's Content-Type as sent (unchecked), or application/octet-stream
  std::uint64_t offset = 0;  // where the file's bytes are in the body
  std::uint64_t length = 0;
};

// The first part that carries a filename (or, failing that, is named
// "file"). bad_request for a missing boundary or a malformed body.
realtime::Result<MultipartFile> find_multipart_file(std::string_view content_type, const BodySource& body);

}  // namespace chatd
