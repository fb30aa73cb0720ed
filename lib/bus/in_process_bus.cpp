// InProcessBus (include/realtime/in_process_bus.h): publish() is the
// Fanout's deliver(), unless a test has set the bus down. Any thread.
#include "realtime/in_process_bus.h"

#include <atomic>
#include <mutex>

#include "bus/fanout.h"

namespace realtime {

struct InProcessBus::Shared {
  explicit Shared(const InProcessBusOptions& o) : fanout(o.max_queued_bytes) {}
  bus_detail::Fanout fanout;
  std::atomic<std::uint64_t> published{0};
  mutable std::mutex mu;
  State state = State::up;                       // under mu
  EventLoop* state_loop = nullptr;               // under mu
  std::shared_ptr<StateHandler> state_handler;   // under mu
};

InProcessBus::InProcessBus(InProcessBusOptions options) : shared_(std::make_shared<Shared>(options)) {}

InProcessBus::~InProcessBus() = default;

Bus::SubscriptionId InProcessBus::subscribe(std::string channel, EventLoop& loop, Handler handler) {
  return shared_->fanout.add(std::move(channel), loop, std::move(handler)).id;
}

void InProcessBus::unsubscribe(SubscriptionId id) { shared_->fanout.remove(id); }

void InProcessBus::publish(std::string_view channel, std::string_view payload) {
  ++shared_->published;
  if (state() == State::down) return shared_->fanout.drop(1);
  shared_->fanout.deliver(channel, payload);
}

Bus::State InProcessBus::state() const {
  std::lock_guard lock(shared_->mu);
  return shared_->state;
}

void InProcessBus::on_state_change(EventLoop& loop, StateHandler handler) {
  std::lock_guard lock(shared_->mu);
  shared_->state_loop = &loop;
  shared_->state_handler = handler ? std::make_shared<StateHandler>(std::move(handler)) : nullptr;
}

void InProcessBus::set_state(State state) {
  EventLoop* loop = nullptr;
  std::shared_ptr<StateHandler> handler;
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->state == state) return;
    shared_->state = state;
    loop = shared_->state_loop;
    handler = shared_->state_handler;
  }
  if (loop != nullptr && handler) loop->post([handler, state] { (*handler)(state); });
}

BusStats InProcessBus::stats() const {
  return {shared_->published.load(), shared_->fanout.delivered(), shared_->fanout.dropped()};
}

}  // namespace realtime
