// Outbox, Notifications and the webhook channel (notifications.h).
#include "notifications.h"

#include <algorithm>

#include "http_client.h"
#include "realtime/digest.h"
#include "realtime/json.h"
#include "realtime/random.h"

namespace chatd {
namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string key_of(const realtime::AwayNotice& n) {
  std::string key = n.user_id;
  key += '\n';
  key += n.room;
  return key;
}

}  // namespace

Outbox::Outbox(std::string channel, OutboxOptions options, Deliver deliver, Log& log)
    : channel_(std::move(channel)),
      options_(options),
      deliver_(std::move(deliver)),
      log_(log) {
  for (int i = 0; i < std::max(1, options_.senders); ++i) threads_.emplace_back([this] { run(); });
}

Outbox::~Outbox() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Outbox::add(const realtime::AwayNotice& notice) {
  {
    std::lock_guard lock(mu_);
    Entry e;
    e.batch.latest = notice;
    e.batch.first_seq = notice.seq;
    e.batch.messages = 1;
    e.due = Clock::now() + options_.window;
    put(key_of(notice), std::move(e));
  }
  cv_.notify_one();
}

Outbox::Entry Outbox::take(std::map<std::string, Entry>::iterator it) {
  Entry e = std::move(it->second);
  by_order_.erase(e.order);
  by_due_.erase({e.due, it->first});
  entries_.erase(it);
  return e;
}

void Outbox::put(std::string key, Entry e) {
  if (auto it = entries_.find(key); it != entries_.end()) {
    // One delivery for both: the newest notice, every message counted,
    // the earlier due time.
    Entry& old = it->second;
    if (e.batch.latest.seq >= old.batch.latest.seq) old.batch.latest = std::move(e.batch.latest);
    old.batch.first_seq = std::min(old.batch.first_seq, e.batch.first_seq);
    old.batch.messages += e.batch.messages;
    // A merge always brings a message the earlier attempts did not carry,
    // so it is a new delivery with a new id and its own attempts: a
    // receiver that already has the failed attempt's id (its answer was
    // lost) would drop the retry as a repeat, and the new message with it.
    old.batch.id.clear();
    old.batch.attempt = 1;
    old.batch.reached.clear();
    if (e.due < old.due) {
      by_due_.erase({old.due, key});
      old.due = e.due;
      by_due_.emplace(old.due, key);
    }
    return;
  }
  if (entries_.size() >= options_.max_queue && !by_order_.empty()) {
    take(entries_.find(by_order_.begin()->second));
    ++stats_.dropped;
    const auto now = Clock::now();
    if (now - last_drop_log_ > std::chrono::seconds(10)) {
      last_drop_log_ = now;
      log_.warn("notification queue full: dropped the oldest", {{"channel", channel_},
                                                                 {"max_queue", std::to_string(options_.max_queue)},
                                                                 {"dropped_total", std::to_string(stats_.dropped)}});
    }
  }
  e.order = next_order_++;
  by_order_.emplace(e.order, key);
  by_due_.emplace(e.due, key);
  entries_.emplace(std::move(key), std::move(e));
}

Outbox::Stats Outbox::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.queued = entries_.size();
  return s;
}

std::set<std::pair<Outbox::Clock::time_point, std::string>>::iterator Outbox::next_free() {
  // Each key in flight has at most one entry, so this passes at most
  // in_flight_.size() (< senders) entries.
  auto it = by_due_.begin();
  while (it != by_due_.end() && in_flight_.contains(it->second)) ++it;
  return it;
}

void Outbox::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto next = next_free();
    if (next == by_due_.end()) {
      // Nothing, or only entries whose key another sender has out: a new
      // entry or that delivery's end wakes this one.
      cv_.wait(lock);
      continue;
    }
    if (const Clock::time_point due = next->first; due > Clock::now()) {
      // A copy: while this one waits, another sender may take that entry.
      cv_.wait_until(lock, due);
      continue;
    }
    std::string key = next->second;
    Entry e = take(entries_.find(key));
    if (e.batch.id.empty()) e.batch.id = realtime::random_token(16);
    in_flight_.insert(key);
    lock.unlock();
    const Outcome outcome = deliver_(e.batch);
    lock.lock();
    in_flight_.erase(key);
    // An entry of this key that came meanwhile may go now; and whoever
    // waits gets to look again.
    cv_.notify_all();
    if (outcome == Outcome::delivered) {
      ++stats_.delivered;
    } else if (outcome == Outcome::retry && e.batch.attempt < options_.attempts) {
      ++stats_.retried;
      const int shift = std::min(e.batch.attempt - 1, 20);
      const std::chrono::milliseconds backoff = std::min(options_.retry_max, options_.retry_base * (std::int64_t{1} << shift));
      ++e.batch.attempt;
      e.due = Clock::now() + backoff;
      put(std::move(key), std::move(e));
    } else {
      ++stats_.failed;
      log_.warn("notification not delivered: giving up", {{"channel", channel_},
                                                          {"user", e.batch.latest.user_id},
                                                          {"room", e.batch.latest.room},
                                                          {"attempts", std::to_string(e.batch.attempt)}});
    }
  }
}

void Notifications::notify(const realtime::AwayNotice& notice) {
  for (auto& o : outboxes_) o->add(notice);
}

std::string Notifications::metrics() const {
  std::string out;
  auto family = [&](const char* name, const char* help, const char* type, auto value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    for (const auto& o : outboxes_) {
      const Outbox::Stats s = o->stats();
      out += name;
      out += "{channel=\"";
      out += o->channel();
      out += "\"} ";
      out += std::to_string(value(s));
      out += '\n';
    }
  };
  if (outboxes_.empty()) return out;
  family("chatd_notifications_delivered_total", "Notifications of away members delivered, by channel.", "counter",
         [](const Outbox::Stats& s) { return s.delivered; });
  family("chatd_notifications_retried_total", "Deliveries that failed and were tried again later.", "counter",
         [](const Outbox::Stats& s) { return s.retried; });
  family("chatd_notifications_failed_total", "Notifications given up (attempts spent, or refused for good).", "counter",
         [](const Outbox::Stats& s) { return s.failed; });
  family("chatd_notifications_dropped_total", "Notifications dropped because the channel's queue was full.", "counter",
         [](const Outbox::Stats& s) { return s.dropped; });
  family("chatd_notifications_queued", "(user, room) notifications waiting to be delivered.", "gauge",
         [](const Outbox::Stats& s) { return s.queued; });
  return out;
}

std::string webhook_body(const NoticeBatch& b) {
  const realtime::AwayNotice& n = b.latest;
  return realtime::Json::object({{"type", "message.away"},
                                 {"id", b.id},
                                 {"userId", n.user_id},
                                 {"room", n.room},
                                 {"roomTitle", n.room_title},
                                 {"messages", b.messages},
                                 {"firstSeq", static_cast<long long>(b.first_seq)},
                                 {"lastSeq", static_cast<long long>(n.seq)},
                                 {"messageId", n.message_id},
                                 {"senderId", n.sender_id},
                                 {"senderName", n.sender_name},
                                 {"text", n.preview},
                                 {"at", realtime::format_iso8601(n.at)}})
      .dump();
}

std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body) {
  std::string signed_text = std::to_string(unix_seconds);
  signed_text += '.';
  signed_text += body;
  std::string out = "t=";
  out += std::to_string(unix_seconds);
  out += ",v1=";
  out += hex(realtime::hmac_sha256(secret, signed_text));
  return out;
}

Outbox::Deliver webhook_delivery(WebhookOptions options, Log& log) {
  http_client_init();
  return [options = std::move(options), &log](const NoticeBatch& batch) {
    HttpCall call;
    call.method = "POST";
    call.url = options.url;
    call.timeout = options.timeout;
    call.max_bytes = 16 * 1024;  // the answer is not read; a receiver's chatter is cut short
    call.body = webhook_body(batch);
    const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
    auto header = [](std::string_view name, std::string_view value) {
      std::string h(name);
      h += ": ";
      h += value;
      return h;
    };
    call.headers = {"Content-Type: application/json", "X-Chatd-Event: message.away",
                    header("X-Chatd-Delivery", batch.id),
                    header("X-Chatd-Signature", webhook_signature(options.secret, now, call.body))};
    auto answer = http_call(call);
    // No answer, or one too long to read: not known to have arrived.
    const long status = answer.ok() ? answer->status : 0;
    if (status >= 200 && status < 300) return Outbox::Outcome::delivered;
    std::string why;
    if (answer.ok()) {
      why = "HTTP ";
      why += std::to_string(status);
    } else {
      why = answer.status().message();
    }
    log.info("webhook delivery failed", {{"attempt", std::to_string(batch.attempt)}, {"cause", why}});
    // Transport failures, 5xx, 408 and 429 may pass; other answers will not.
    if (status == 0 || status >= 500 || status == 408 || status == 429) return Outbox::Outcome::retry;
    return Outbox::Outcome::give_up;
  };
}

}  // namespace chatd
