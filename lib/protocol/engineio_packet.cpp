// Engine.IO v4 packet codec (see engineio_packet.h). Pure code; any thread.
#include "protocol/engineio_packet.h"

#include "realtime/base64.h"

namespace realtime::protocol::engineio {
namespace {


Result<Packet> decode_text(std::string_view text) {
  if (text.empty()) return Status::bad_request("empty packet");
  char t = text[0];
  if (t < '0' || t > '6') return Status::bad_request("unknown packet type");
  return Packet::text(static_cast<PacketType>(t - '0'), std::string(text.substr(1)));
}

}  // namespace

std::string encode_ws(const Packet& p) {
  if (p.binary) return p.data;
  std::string out;
  out.reserve(p.data.size() + 1);
  out.push_back(static_cast<char>('0' + static_cast<int>(p.type)));
  out += p.data;
  return out;
}

Result<Packet> decode_ws(std::string_view frame, bool binary) {
  if (binary) return Packet::blob(std::string(frame));
  return decode_text(frame);
}

void append_polling(std::string& out, const Packet& p) {
  if (p.binary) {
    out.push_back('b');
    out += base64_encode(p.data);
    return;
  }
  out.push_back(static_cast<char>('0' + static_cast<int>(p.type)));
  out += p.data;
}

std::string encode_payload(const std::vector<Packet>& packets) {
  std::string out;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i != 0) out.push_back(kRecordSeparator);
    append_polling(out, packets[i]);
  }
  return out;
}

Result<std::vector<Packet>> decode_payload(std::string_view body, std::size_t max_packets) {
  if (body.empty()) return Status::bad_request("empty payload");
  std::vector<Packet> packets;
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find(kRecordSeparator, start);
    if (end == std::string_view::npos) end = body.size();
    if (packets.size() >= max_packets) return Status::bad_request("too many packets in payload");
    std::string_view record = body.substr(start, end - start);
    if (!record.empty() && record[0] == 'b') {
      auto bytes = base64_decode(record.substr(1));
      if (!bytes.ok()) return bytes.status();
      packets.push_back(Packet::blob(std::move(bytes).value()));
    } else {
      auto p = decode_text(record);
      if (!p.ok()) return p.status();
      packets.push_back(std::move(p).value());
    }
    start = end + 1;
  }
  return packets;
}

std::string base64_encode(std::string_view bytes) { return base64_encode(bytes, Base64::standard); }

Result<std::string> base64_decode(std::string_view text) {
  auto bytes = base64_decode(text, Base64::standard);
  if (!bytes) return Status::bad_request("bad base64");
  return *std::move(bytes);
}

}  // namespace realtime::protocol::engineio
