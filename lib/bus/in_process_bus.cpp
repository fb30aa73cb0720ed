// InProcessBus (include/realtime/in_process_bus.h): publish() is the
// Fanout's deliver(), unless a test has set the bus down. Any thread.
#include "realtime/in_process_bus.h"

#include <atomic>

#include "bus/bus_state.h"
#include "bus/fanout.h"

namespace realtime {

struct InProcessBus::Shared {
  explicit Shared(const InProcessBusOptions& o) : fanout(o.max_queued_bytes) {}
  bus_detail::Fanout fanout;
  std::atomic<std::uint64_t> published{0};
  bus_detail::BusStateCell state{State::up};
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

Bus::State InProcessBus::state() const { return shared_->state.get(); }

Bus::SubscriptionId InProcessBus::watch_state(EventLoop& loop, StateHandler handler) {
  return shared_->state.watch(loop, std::move(handler));
}
void InProcessBus::unwatch_state(SubscriptionId id) { shared_->state.unwatch(id); }

void InProcessBus::set_state(State state) { shared_->state.set(state); }

BusStats InProcessBus::stats() const {
  return {shared_->published.load(), shared_->fanout.delivered(), shared_->fanout.dropped()};
}

}  // namespace realtime
