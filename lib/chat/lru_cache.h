// LruCache: a string-keyed map with a memory budget that forgets the least
// recently used entries first. The chat service keeps what it may read
// again from the store (idle rooms, display names, quota buckets) in these,
// so that nothing it remembers grows with the number of users or rooms
// ever seen. Each entry is charged a cost (an estimate of its bytes, or 1
// to count entries); after every put() the total is at most `budget`,
// except that the entry just put always stays. Loop thread only.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/string_map.h"

namespace realtime::chat {

template <class V>
class LruCache {
 public:
  explicit LruCache(std::size_t budget) : budget_(budget) {}

  // The entry, now the most recently used, or nullptr.
  V* find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->value;
  }
  bool contains(std::string_view key) const { return index_.contains(key); }

  // Inserts or replaces; then forgets the oldest entries until the total
  // cost fits the budget again.
  V& put(std::string key, V value, std::size_t cost) {
    if (auto it = index_.find(key); it != index_.end()) {
      cost_ -= it->second->cost;
      it->second->value = std::move(value);
      it->second->cost = cost;
      cost_ += cost;
      order_.splice(order_.begin(), order_, it->second);
    } else {
      order_.push_front(Entry{key, std::move(value), cost});
      index_.emplace(std::move(key), order_.begin());
      cost_ += cost;
    }
    while (cost_ > budget_ && order_.size() > 1) {
      Entry& oldest = order_.back();
      cost_ -= oldest.cost;
      index_.erase(oldest.key);
      order_.pop_back();
    }
    return order_.front().value;
  }

  // Removes and returns the entry, if there is one.
  std::optional<V> take(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    std::optional<V> out(std::move(it->second->value));
    cost_ -= it->second->cost;
    order_.erase(it->second);
    index_.erase(it);
    return out;
  }
  void erase(std::string_view key) { (void)take(key); }
  void clear() {
    index_.clear();
    order_.clear();
    cost_ = 0;
  }

  std::size_t size() const { return index_.size(); }
  std::size_t cost() const { return cost_; }
  std::size_t budget() const { return budget_; }

 private:
  struct Entry {
    std::string key;
    V value;
    std::size_t cost;
  };
  std::size_t budget_;
  std::size_t cost_ = 0;
  std::list<Entry> order_;  // most recently used first
  realtime::detail::StringMap<typename std::list<Entry>::iterator> index_;
};

}  // namespace realtime::chat
