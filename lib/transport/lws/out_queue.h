// What an Engine.IO session has waiting to be written, shared by the
// session table (engineio_sessions.cpp), which fills it, and the
// libwebsockets layer (engineio_endpoint.cpp), which frames and writes it.
// Loop thread only.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "protocol/engineio_packet.h"

namespace realtime::lws_detail {

// A deque that allocates nothing while empty: libstdc++'s std::deque
// allocates about 600 bytes as soon as it is constructed, and most
// connections are idle with nothing queued.
template <class T>
class LazyDeque {
 public:
  bool empty() const { return !d_ || d_->empty(); }
  T& front() { return d_->front(); }
  void push_back(T v) { get().push_back(std::move(v)); }
  void push_front(T v) { get().push_front(std::move(v)); }
  void pop_front() {
    d_->pop_front();
    if (d_->empty()) d_.reset();
  }
  void clear() { d_.reset(); }
  template <class F>
  void for_each(F f) const {
    if (d_)
      for (const auto& v : *d_) f(v);
  }

 private:
  std::deque<T>& get() {
    if (!d_) d_ = std::make_unique<std::deque<T>>();
    return *d_;
  }
  std::unique_ptr<std::deque<T>> d_;
};

// An Engine.IO packet waiting to be written: the bytes are shared with
// every other recipient of a broadcast.
struct OutPacket {
  protocol::engineio::PacketType type;
  std::shared_ptr<const std::string> data;
  bool binary;
};

using OutQueue = LazyDeque<OutPacket>;

}  // namespace realtime::lws_detail
