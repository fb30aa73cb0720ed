// Media types (MIME types) as chatd stores them for attachments: checked
// against the grammar of RFC 9110 section 8.3.1 (type "/" subtype, both
// RFC 6838 tokens of at most 127 bytes, then ";"-separated parameters whose
// values are tokens or quoted strings), so that a stored type can never
// carry a line break into a download's Content-Type header.
//
// Pure functions; called on the loop thread and the attachment worker.
#pragma once

#include <string>
#include <string_view>

#include "realtime/status.h"

namespace chatd {

// The type as chatd keeps it: "type/subtype" in lower case, plus
// "; charset=<value>" when the header had a charset whose value is a token
// (text needs it to be read right). Every other parameter is dropped: a
// download is served with nosniff and never needs them. bad_request for
// anything outside the grammar (control characters, a bare LF, a missing
// subtype, an unterminated quoted string...).
realtime::Result<std::string> normalize_media_type(std::string_view header);

// "type/subtype" of a normalized type (what --attachment-types prefixes
// are compared with).
std::string_view media_type_essence(std::string_view normalized);

}  // namespace chatd
