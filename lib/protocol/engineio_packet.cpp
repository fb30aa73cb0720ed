// Engine.IO v4 packet codec (see engineio_packet.h). Pure code; any thread.
#include "protocol/engineio_packet.h"

#include <array>

namespace realtime::engineio {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_reverse() {
  std::array<std::int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    r[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto kReverse = make_reverse();

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

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = at(i) << 16;
    if (rest == 2) n |= at(i + 1) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  // Padding is optional on input: some clients strip it.
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Status::bad_request("bad base64 length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    std::int8_t v = kReverse[static_cast<unsigned char>(c)];
    if (v < 0) return Status::bad_request("bad base64 character");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace realtime::engineio
