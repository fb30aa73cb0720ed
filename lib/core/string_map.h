// Hash maps and sets keyed by std::string that look up by string_view
// without building a string (C++20 heterogeneous lookup). Ids (sids, room
// ids, user ids) are looked up on every packet, so this matters.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace realtime::detail {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

}  // namespace realtime::detail
