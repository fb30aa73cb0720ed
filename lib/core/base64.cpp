// The one base64 codec of the project (see base64.h).
#include "realtime/base64.h"

#include <array>
#include <cstdint>

namespace realtime {
namespace {

constexpr std::string_view kStandard = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_reverse(std::string_view alphabet) {
  std::array<std::int8_t, 256> r{};
  for (auto& v : r) v = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) r[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
  return r;
}
constexpr auto kStandardReverse = make_reverse(kStandard);
constexpr auto kUrlReverse = make_reverse(kUrl);

}  // namespace

std::string base64_encode(std::string_view bytes, Base64 alphabet) {
  const std::string_view a = alphabet == Base64::url ? kUrl : kStandard;
  const bool pad = alphabet == Base64::standard;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  auto at = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    out += a[(n >> 6) & 63];
    out += a[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = at(i) << 16;
    if (rest == 2) n |= at(i + 1) << 8;
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    if (rest == 2) out += a[(n >> 6) & 63];
    if (pad) out.append(rest == 2 ? 1 : 2, '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text, Base64 alphabet) {
  const auto& reverse = alphabet == Base64::url ? kUrlReverse : kStandardReverse;
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const std::int8_t v = reverse[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace realtime
