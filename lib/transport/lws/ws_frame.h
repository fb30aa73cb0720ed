// WebSocket frames as a server sends them (RFC 6455 5.2: FIN set, no mask),
// so that the transport can put every packet queued for a socket into one
// buffer and one write, instead of one lws_write() and one syscall each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace realtime::lws_detail {

// Appends one whole frame whose payload is `prefix` then `payload`.
inline void append_ws_frame(std::string& out, bool binary, std::string_view prefix, std::string_view payload) {
  const std::uint64_t len = prefix.size() + payload.size();
  out.push_back(static_cast<char>(binary ? 0x82 : 0x81));
  if (len < 126) {
    out.push_back(static_cast<char>(len));
  } else if (len <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((len >> shift) & 0xff));
  }
  out.append(prefix);
  out.append(payload);
}

}  // namespace realtime::lws_detail
