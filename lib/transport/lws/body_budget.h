// BodyBudget: how many bytes of request bodies the lws transport holds in
// memory, in total and per client address, so that many slow or large
// uploads cannot take the process's memory. A request reserves what it
// may hold before its body is read and gives it back when it ends.
//
// Pure bookkeeping, loop thread only; kept free of libwebsockets so tests
// can drive it directly.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace realtime::lws_detail {

class BodyBudget {
 public:
  enum class Verdict { ok, total_full, address_full };

  // per_address 0: no per-address cap.
  BodyBudget(std::size_t total, std::size_t per_address) : total_cap_(total), address_cap_(per_address) {}

  // Reserves `bytes` for `address`, or says which cap it would pass.
  Verdict reserve(const std::string& address, std::size_t bytes) {
    if (bytes > total_cap_ - total_) return Verdict::total_full;
    std::size_t& held = by_address_[address];
    if (address_cap_ != 0 && bytes > address_cap_ - held) {
      if (held == 0) by_address_.erase(address);
      return Verdict::address_full;
    }
    held += bytes;
    total_ += bytes;
    return Verdict::ok;
  }

  // Gives back what reserve() granted; the address's entry goes with its
  // last byte, so the map is bounded by the requests in progress.
  void release(const std::string& address, std::size_t bytes) {
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return;
    const std::size_t n = bytes < it->second ? bytes : it->second;
    it->second -= n;
    total_ -= n;
    if (it->second == 0) by_address_.erase(it);
  }

  std::size_t total() const { return total_; }
  std::size_t held_by(const std::string& address) const {
    auto it = by_address_.find(address);
    return it == by_address_.end() ? 0 : it->second;
  }

 private:
  std::size_t total_cap_;
  std::size_t address_cap_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> by_address_;
};

}  // namespace realtime::lws_detail
