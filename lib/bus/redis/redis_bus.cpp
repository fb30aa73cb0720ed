// RedisBus (include/realtime/redis_bus.h). One thread owns two hiredis
// connections: `sub` (SUBSCRIBE; messages in) and `pub` (PUBLISH; queued
// messages out). It sleeps in poll() on both sockets and an eventfd that
// publish() and subscribe() ring. Blocking calls on it (connect, a write)
// are bounded by io_timeout; the caller's loop never waits on Redis.
//
// Liveness: a connection that owes a reply for longer than io_timeout is
// dead (a Redis that is stopped or partitioned keeps the TCP connection
// open), and an idle one is PINGed every io_timeout so that such a Redis is
// noticed within about twice that.
#include "realtime/redis_bus.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <charconv>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "bus/bus_state.h"
#include "bus/fanout.h"

namespace realtime {

namespace {

using Clock = std::chrono::steady_clock;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A write to a socket Redis closed raises SIGPIPE in the writing thread;
// this thread keeps it blocked and discards it.
void block_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}
void discard_sigpipe() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  timespec zero{};
  while (sigtimedwait(&set, nullptr, &zero) > 0) {
  }
}

std::string_view str_of(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}

}  // namespace

Result<RedisBusOptions> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return Status::bad_request("a Redis URL starts with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisBusOptions o;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    int n = 0;
    if (!db.empty() && std::from_chars(db.data(), db.data() + db.size(), n).ptr != db.data() + db.size())
      return Status::bad_request("the Redis database must be a number");
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) auth = auth.substr(colon + 1);
    o.password = std::string(auth);
    rest = rest.substr(at + 1);
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return Status::bad_request("the Redis port must be 1-65535");
    o.port = p;
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return Status::bad_request("the Redis URL names no host");
  o.host = std::string(rest);
  return o;
}

class RedisBus::Worker {
 public:
  explicit Worker(RedisBusOptions options)
      : options_(std::move(options)), fanout_(options_.max_queued_bytes), wake_fd_(eventfd(0, EFD_CLOEXEC)) {
    thread_ = std::thread([this] { run(); });
  }

  ~Worker() {
    stop_ = true;
    wake();
    thread_.join();
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  SubscriptionId subscribe(std::string channel, EventLoop& loop, Handler handler) {
    auto added = fanout_.add(std::move(channel), loop, std::move(handler));
    if (added.first_of_channel) {
      channels_changed_ = true;
      wake();
    }
    return added.id;
  }

  void unsubscribe(SubscriptionId id) {
    if (!fanout_.remove(id).empty()) {
      channels_changed_ = true;
      wake();
    }
  }

  void publish(std::string_view channel, std::string_view payload) {
    ++published_;
    const std::size_t bytes = channel.size() + payload.size();
    if (state_.get() == State::down) return fanout_.drop(1);
    {
      std::lock_guard lock(mu_);
      if (out_bytes_ + bytes > options_.max_publish_queue_bytes) {
        fanout_.drop(1);
        return;
      }
      out_.emplace_back(std::string(channel), std::string(payload));
      out_bytes_ += bytes;
    }
    wake();
  }

  State state() const { return state_.get(); }

  SubscriptionId watch_state(EventLoop& loop, StateHandler handler) { return state_.watch(loop, std::move(handler)); }
  void unwatch_state(SubscriptionId id) { state_.unwatch(id); }

  BusStats stats() const { return {published_.load(), fanout_.delivered(), fanout_.dropped()}; }

 private:
  // One of the two connections and what it owes.
  struct Link {
    Context ctx;
    std::size_t owed = 0;             // replies not yet read
    Clock::time_point owed_since{};   // when the oldest of them was asked for
    Clock::time_point last_io{};      // last write or reply
  };

  void wake() {
    const std::uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
  }

  // Going down drops what waits to be published: it would reach nodes
  // that have since resynchronised from the store.
  void set_state(State s) {
    if (!state_.set(s) || s != State::down) return;
    std::size_t lost = 0;
    {
      std::lock_guard lock(mu_);
      lost = out_.size();
      out_.clear();
      out_bytes_ = 0;
    }
    fanout_.drop(lost);
  }

  Context connect_one() {
    Context c(redisConnectWithTimeout(options_.host.c_str(), options_.port, to_timeval(options_.io_timeout)));
    if (!c || c->err != 0) return nullptr;
    if (redisSetTimeout(c.get(), to_timeval(options_.io_timeout)) != REDIS_OK) return nullptr;
    if (!options_.password.empty()) {
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "AUTH %b", options_.password.data(),
                                                    options_.password.size())));
      if (!r || r->type == REDIS_REPLY_ERROR) return nullptr;
    }
    // A stopped Redis still completes TCP handshakes (the kernel does):
    // only an answer says that it serves.
    Reply pong(static_cast<redisReply*>(redisCommand(c.get(), "PING")));
    if (!pong || pong->type == REDIS_REPLY_ERROR) return nullptr;
    return c;
  }

  bool connect_both() {
    sub_ = {};
    pub_ = {};
    subscribed_.clear();
    channels_changed_ = true;  // a new connection subscribes everything again
    sub_.ctx = connect_one();
    if (!sub_.ctx) return false;
    pub_.ctx = connect_one();
    if (!pub_.ctx) return false;
    sub_.last_io = pub_.last_io = Clock::now();
    return true;
  }

  // Sends what is in hiredis's output buffer; false when the link broke.
  bool flush(Link& link) {
    int done = 0;
    while (!done) {
      if (redisBufferWrite(link.ctx.get(), &done) != REDIS_OK) return false;
    }
    link.last_io = Clock::now();
    return true;
  }

  void ask(Link& link, const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(link.ctx.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
    if (link.owed++ == 0) link.owed_since = Clock::now();
  }

  // (UN)SUBSCRIBE what the fanout's channels and Redis's differ by, when
  // they may differ.
  bool sync_subscriptions() {
    if (!channels_changed_.exchange(false)) return true;
    std::vector<std::string> want = fanout_.channels();
    std::set<std::string> wanted(want.begin(), want.end());
    std::vector<std::string_view> add{"SUBSCRIBE"}, drop{"UNSUBSCRIBE"};
    for (const auto& ch : wanted)
      if (subscribed_.count(ch) == 0) add.push_back(ch);
    for (const auto& ch : subscribed_)
      if (wanted.count(ch) == 0) drop.push_back(ch);
    if (add.size() == 1 && drop.size() == 1) return true;
    // Each channel is confirmed by a reply of its own.
    if (add.size() > 1) {
      ask(sub_, add);
      sub_.owed += add.size() - 2;
    }
    if (drop.size() > 1) {
      ask(sub_, drop);
      sub_.owed += drop.size() - 2;
    }
    subscribed_ = std::move(wanted);
    return flush(sub_);
  }

  bool send_publishes() {
    std::deque<std::pair<std::string, std::string>> batch;
    {
      std::lock_guard lock(mu_);
      batch.swap(out_);
      out_bytes_ = 0;
    }
    if (batch.empty()) return true;
    for (const auto& [channel, payload] : batch) ask(pub_, {"PUBLISH", channel, payload});
    return flush(pub_);
  }

  // Reads what arrived; false when the link broke.
  bool read(Link& link, bool deliver) {
    if (redisBufferRead(link.ctx.get()) != REDIS_OK) return false;
    link.last_io = Clock::now();
    for (;;) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(link.ctx.get(), &raw) != REDIS_OK) return false;
      if (raw == nullptr) return true;
      Reply r(static_cast<redisReply*>(raw));
      if (deliver && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && str_of(r->element[0]) == "message") {
        fanout_.deliver(str_of(r->element[1]), str_of(r->element[2]));
        continue;
      }
      if (link.owed > 0 && --link.owed > 0) link.owed_since = Clock::now();
    }
  }

  // PINGs an idle link; false when one has owed a reply for too long.
  bool keep_alive(Link& link, Clock::time_point now) {
    if (link.owed > 0) return now - link.owed_since < options_.io_timeout;
    if (now - link.last_io >= options_.io_timeout) {
      ask(link, {"PING"});
      return flush(link);
    }
    return true;
  }

  void run() {
    block_sigpipe();
    auto backoff = options_.reconnect_min;
    while (!stop_) {
      if (!sub_.ctx || !pub_.ctx) {
        if (!connect_both()) {
          set_state(State::down);
          sleep_or_wake(backoff);
          backoff = std::min(backoff * 2, options_.reconnect_max);
          continue;
        }
        backoff = options_.reconnect_min;
      }
      if (!serve()) {
        discard_sigpipe();
        sub_ = {};
        pub_ = {};
        set_state(State::down);
      }
    }
  }

  // Until a link breaks or the bus stops: false when a link broke.
  bool serve() {
    if (!sync_subscriptions()) return false;
    set_state(State::up);
    while (!stop_) {
      pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {sub_.ctx->fd, POLLIN, 0}, {pub_.ctx->fd, POLLIN, 0}};
      const int wait_ms = static_cast<int>(std::max<std::int64_t>(options_.io_timeout.count() / 4, 10));
      if (poll(fds, 3, wait_ms) < 0 && errno != EINTR) return false;
      if (fds[0].revents & POLLIN) {
        std::uint64_t n = 0;
        (void)!::read(wake_fd_, &n, sizeof n);
      }
      if (stop_) return true;
      if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !read(sub_, true)) return false;
      if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) && !read(pub_, false)) return false;
      if (!sync_subscriptions() || !send_publishes()) return false;
      const auto now = Clock::now();
      if (!keep_alive(sub_, now) || !keep_alive(pub_, now)) return false;
    }
    return true;
  }

  void sleep_or_wake(std::chrono::milliseconds d) {
    const auto until = Clock::now() + d;
    while (!stop_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return;
      pollfd fd{wake_fd_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) > 0) {
        std::uint64_t n = 0;
        (void)!::read(wake_fd_, &n, sizeof n);
      }
    }
  }

  const RedisBusOptions options_;
  bus_detail::Fanout fanout_;
  const int wake_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> published_{0};
  bus_detail::BusStateCell state_{State::down};
  // A channel got its first or lost its last subscription since the thread
  // last compared the fanout's channels with Redis's (not on every wake:
  // a node may hold thousands of channels).
  std::atomic<bool> channels_changed_{true};

  mutable std::mutex mu_;
  std::deque<std::pair<std::string, std::string>> out_;  // under mu_
  std::size_t out_bytes_ = 0;                            // under mu_

  // The thread's own.
  Link sub_, pub_;
  std::set<std::string> subscribed_;
  std::thread thread_;
};

RedisBus::RedisBus(RedisBusOptions options) : worker_(std::make_unique<Worker>(std::move(options))) {}
RedisBus::~RedisBus() = default;

Bus::SubscriptionId RedisBus::subscribe(std::string channel, EventLoop& loop, Handler handler) {
  return worker_->subscribe(std::move(channel), loop, std::move(handler));
}
void RedisBus::unsubscribe(SubscriptionId id) { worker_->unsubscribe(id); }
void RedisBus::publish(std::string_view channel, std::string_view payload) { worker_->publish(channel, payload); }
Bus::State RedisBus::state() const { return worker_->state(); }
Bus::SubscriptionId RedisBus::watch_state(EventLoop& loop, StateHandler handler) {
  return worker_->watch_state(loop, std::move(handler));
}
void RedisBus::unwatch_state(SubscriptionId id) { worker_->unwatch_state(id); }
BusStats RedisBus::stats() const { return worker_->stats(); }

}  // namespace realtime
