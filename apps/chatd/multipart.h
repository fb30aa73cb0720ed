// The file part of a multipart/form-data upload (what a browser <form> or
// FormData sends), so attachments can be uploaded raw or as multipart.
// Pure function; runs on the loop (parsing only, no I/O).
#pragma once

#include <string>
#include <string_view>

#include "realtime/status.h"

namespace chatd {

struct UploadedFile {
  std::string filename;  // from Content-Disposition; may be empty
  std::string mime;      // the part's Content-Type, or application/octet-stream
  std::string bytes;
};

// The first part that carries a filename (or, failing that, is named
// "file"). bad_request for a missing boundary or a malformed body.
realtime::Result<UploadedFile> parse_multipart(std::string_view content_type, std::string_view body);

}  // namespace chatd
