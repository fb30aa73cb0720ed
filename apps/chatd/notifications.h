// chatd's notifications for members who are away (realtime/notifier.h):
// the chat services of every loop hand their notices to one Notifications,
// which puts each in the outbox of every channel configured (a signed
// webhook; Web Push). An Outbox coalesces notices per (user, room) within
// a window, so a burst of messages makes one delivery, and delivers on
// threads of its own (`senders` of them, so that one slow receiver does not
// hold up everyone's notices; one (user, room) is never sent twice at once)
// with retries and exponential backoff: the loops never wait on the network.
//
// Bounded: an outbox holds at most max_queue (user, room) entries; one
// more drops the oldest, counted on /metrics and logged. notify() is
// thread-safe (every loop calls it) and takes a mutex for a moment only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "log.h"
#include "realtime/notifier.h"

namespace chatd {

struct OutboxOptions {
  std::chrono::milliseconds window{2000};      // notices for one (user, room) within it make one delivery
  std::size_t max_queue = 10000;               // (user, room) entries waiting; past it the oldest is dropped
  int attempts = 5;                            // deliveries tried before giving up
  std::chrono::milliseconds retry_base{1000};  // first retry after this, then doubling...
  std::chrono::milliseconds retry_max{60000};  // ...up to this
  int senders = 1;                             // deliveries under way at once, each on its thread
};

// What one delivery tells: the newest notice of a (user, room), and how
// many messages it stands for.
struct NoticeBatch {
  realtime::AwayNotice latest;
  std::int64_t first_seq = 0;
  std::size_t messages = 0;
  std::string id;   // the same on every attempt: receivers drop repeats by it
  int attempt = 1;  // 1 for the first
  // Where the channel delivered this batch already (Web Push: endpoints
  // that took it), so that a retry goes to the rest only. A merge with a
  // new message clears it: the new message is for every one.
  std::vector<std::string> reached;
};

class Outbox {
 public:
  enum class Outcome { delivered, retry, give_up };
  // Runs on one of the outbox's threads, several at once with senders > 1;
  // may block (up to its own timeout). May add to `batch.reached`.
  using Deliver = std::function<Outcome(NoticeBatch& batch)>;
  struct Stats {
    std::uint64_t delivered = 0, retried = 0, failed = 0, dropped = 0;
    std::size_t queued = 0;
  };

  Outbox(std::string channel, OutboxOptions options, Deliver deliver, Log& log);
  // Stops the threads after the deliveries under way (bounded by their
  // timeout); what is still queued is dropped.
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void add(const realtime::AwayNotice& notice);
  Stats stats() const;
  const std::string& channel() const { return channel_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    NoticeBatch batch;
    Clock::time_point due;
    std::uint64_t order = 0;  // arrival: the smallest is the oldest
  };
  void run();
  // Puts `e` in under its key, merged with what is there; drops the
  // oldest entry when full. Under mu_.
  void put(std::string key, Entry e);
  // The entry due first whose key is not being delivered (by_due_.end()
  // if none). Skips at most `senders` entries. Under mu_.
  std::set<std::pair<Clock::time_point, std::string>>::iterator next_free();

  std::string channel_;
  OutboxOptions options_;
  Deliver deliver_;
  Log& log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Takes an entry out of entries_ and both indexes. Under mu_.
  Entry take(std::map<std::string, Entry>::iterator it);
  std::map<std::string, Entry> entries_;  // by user + '\n' + room
  // Indexes of entries_, so that neither the loop (dropping the oldest)
  // nor the sender (the next due) scans the queue.
  std::map<std::uint64_t, std::string> by_order_;
  std::set<std::pair<Clock::time_point, std::string>> by_due_;
  std::set<std::string> in_flight_;  // keys being delivered now
  std::uint64_t next_order_ = 0;
  Stats stats_;
  Clock::time_point last_drop_log_{};
  bool stopping_ = false;
  std::vector<std::thread> threads_;  // last: start when the rest is ready
};

// The Notifier the chat services are given: every notice to every outbox.
class Notifications final : public realtime::Notifier {
 public:
  void add(std::unique_ptr<Outbox> outbox) { outboxes_.push_back(std::move(outbox)); }
  bool empty() const { return outboxes_.empty(); }
  void notify(const realtime::AwayNotice& notice) override;
  // Prometheus text of every outbox's counters (/metrics); any thread.
  std::string metrics() const;

 private:
  std::vector<std::unique_ptr<Outbox>> outboxes_;
};

// The webhook channel (--webhook-url): a POST of the batch as JSON, signed
// X-Chatd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t "." body)>.
struct WebhookOptions {
  std::string url;
  std::string secret;  // never logged
  std::chrono::milliseconds timeout{5000};
};
Outbox::Deliver webhook_delivery(WebhookOptions options, Log& log);
// The body a webhook POSTs for `batch` (docs/operations.md shows it).
std::string webhook_body(const NoticeBatch& batch);
// The X-Chatd-Signature value for `body` at `unix_seconds`.
std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body);

}  // namespace chatd
