// InProcessTransport: connections, tasks and timers entirely in memory.
//
// The thread that calls run_until_idle()/run_until()/advance() is the loop
// thread. post() is the only entry point other threads may use; it takes a
// mutex and wakes run_until(). Handler calls are always made from queued
// tasks, never from inside client calls, so ordering matches a real
// transport (a send is seen on the next loop turn).
#include "realtime/in_process_transport.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

namespace realtime {

class InProcessTransport::ServerSide final : public Connection {
 public:
  ServerSide(InProcessTransport& t, std::shared_ptr<InProcessClient> client)
      : transport_(t), client_(std::move(client)) {}

  const std::string& id() const override { return client_->id(); }
  bool is_open() const override { return open_; }
  std::size_t queued_bytes() const override { return client_->inbox_bytes_; }
  bool backpressured() const override {
    return open_ && client_->inbox_bytes_ > transport_.options_.max_queued_bytes / 2;
  }

  SendStatus send(const Frame& frame) override {
    if (!open_) return SendStatus::dropped;
    client_->inbox_bytes_ += frame.view().size();
    client_->inbox_.push_back(frame);
    if (client_->inbox_bytes_ > transport_.options_.max_queued_bytes) {
      close(CloseReason::too_slow);
      return SendStatus::dropped;
    }
    return client_->inbox_bytes_ > transport_.options_.max_queued_bytes / 2 ? SendStatus::backpressure
                                                                              : SendStatus::sent;
  }

  void close(CloseReason reason) override {
    if (!open_) return;
    open_ = false;
    client_->closed_ = true;
    client_->reason_ = reason;
    auto self = self_.lock();
    transport_.post([t = &transport_, self, reason] {
      if (t->handler_) t->handler_->on_close(*self, reason);
    });
  }

  std::weak_ptr<ServerSide> self_;

 private:
  InProcessTransport& transport_;
  std::shared_ptr<InProcessClient> client_;
  bool open_ = true;
};

struct InProcessTransport::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;  // guarded by mu

  // Loop thread only from here on.
  struct Timer {
    TimerId id;
    std::function<void()> fn;
  };
  std::multimap<TimePoint, Timer> timers;
  std::unordered_map<TimerId, std::multimap<TimePoint, Timer>::iterator> timer_index;
  TimerId next_timer = 1;
  std::uint64_t next_client = 1;
  std::unordered_map<std::string, std::shared_ptr<ServerSide>> conns;

  bool pop(std::function<void()>& task) {
    std::lock_guard lock(mu);
    if (tasks.empty()) return false;
    task = std::move(tasks.front());
    tasks.pop_front();
    return true;
  }
};

InProcessTransport::InProcessTransport() : InProcessTransport(Options{}) {}
InProcessTransport::InProcessTransport(Options options)
    : options_(options), impl_(std::make_unique<Impl>()) {}
InProcessTransport::~InProcessTransport() = default;

void InProcessTransport::post(std::function<void()> task) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->tasks.push_back(std::move(task));
  }
  impl_->cv.notify_one();
}

EventLoop::TimerId InProcessTransport::set_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  const TimerId id = impl_->next_timer++;
  auto it = impl_->timers.emplace(now_ + delay, Impl::Timer{id, std::move(fn)});
  impl_->timer_index.emplace(id, it);
  return id;
}

void InProcessTransport::cancel_timer(TimerId id) {
  auto it = impl_->timer_index.find(id);
  if (it == impl_->timer_index.end()) return;
  impl_->timers.erase(it->second);
  impl_->timer_index.erase(it);
}

std::shared_ptr<InProcessClient> InProcessTransport::connect(Handshake handshake) {
  auto client = std::shared_ptr<InProcessClient>(
      new InProcessClient(*this, "inproc-" + std::to_string(impl_->next_client++)));
  auto conn = std::make_shared<ServerSide>(*this, client);
  conn->self_ = conn;
  impl_->conns.emplace(client->id(), conn);
  post([this, conn, hs = std::move(handshake)] {
    if (handler_ && conn->is_open()) handler_->on_open(conn, hs);
  });
  return client;
}

void InProcessTransport::deliver(InProcessClient& c, std::string data, bool binary) {
  auto it = impl_->conns.find(c.id());
  if (it == impl_->conns.end()) return;
  post([this, conn = it->second, data = std::move(data), binary] {
    if (handler_ && conn->is_open()) handler_->on_message(*conn, data, binary);
  });
}

void InProcessTransport::client_closed(InProcessClient& c) {
  auto it = impl_->conns.find(c.id());
  if (it == impl_->conns.end()) return;
  auto conn = it->second;
  post([conn] { conn->close(CloseReason::client_close); });
}

std::size_t InProcessTransport::run_until_idle(std::size_t max_tasks) {
  std::size_t ran = 0;
  std::function<void()> task;
  while (ran < max_tasks) {
    if (impl_->pop(task)) {
      task();
      ++ran;
      continue;
    }
    auto it = impl_->timers.begin();
    if (it == impl_->timers.end() || it->first > now_) break;
    auto fn = std::move(it->second.fn);
    impl_->timer_index.erase(it->second.id);
    impl_->timers.erase(it);
    fn();
    ++ran;
  }
  // Forget connections whose close has been reported and that no task holds.
  std::erase_if(impl_->conns, [](const auto& kv) { return !kv.second->is_open() && kv.second.use_count() == 1; });
  return ran;
}

bool InProcessTransport::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    run_until_idle();
    if (done()) return true;
    std::unique_lock lock(impl_->mu);
    if (!impl_->cv.wait_until(lock, deadline, [&] { return !impl_->tasks.empty(); })) {
      lock.unlock();
      run_until_idle();
      return done();
    }
  }
}

void InProcessTransport::advance(std::chrono::milliseconds d) {
  const TimePoint target = now_ + d;
  run_until_idle();
  while (!impl_->timers.empty() && impl_->timers.begin()->first <= target) {
    now_ = std::max(now_, impl_->timers.begin()->first);
    run_until_idle();
  }
  now_ = target;
  run_until_idle();
}

void InProcessClient::send(std::string data, bool binary) {
  if (closed_) return;
  transport_->deliver(*this, std::move(data), binary);
}

void InProcessClient::close() {
  if (closed_) return;
  transport_->client_closed(*this);
}

std::vector<Frame> InProcessClient::take() {
  std::vector<Frame> out;
  out.swap(inbox_);
  inbox_bytes_ = 0;
  return out;
}

}  // namespace realtime
