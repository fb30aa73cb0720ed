// Connection keeping and health of the PostgreSQL store (see link.h).
// Store threads only, except Health, which any thread may read.
#include "store/postgres/link.h"

#include "store/postgres/conninfo.h"

namespace realtime::pg {

Health::Health(std::size_t links, Executor& exec, std::function<void(const Status&)> on_change)
    : states_(links), exec_(exec), on_change_(std::move(on_change)) {}

void Health::set(std::size_t i, const Status& s) {
  std::lock_guard lock(mu_);
  states_[i] = s;
  bool ok = true;
  Status first;
  for (const auto& st : states_) {
    if (!st.ok()) {
      ok = false;
      first = st;
      break;
    }
  }
  if (ok == ok_) return;
  ok_ = ok;
  if (on_change_) exec_.post([cb = on_change_, first] { cb(first); });
}

Status Health::get() const {
  std::lock_guard lock(mu_);
  for (const auto& st : states_)
    if (!st.ok()) return st;
  return {};
}

Status at_server(const PostgresStoreOptions& o, const Status& why) {
  std::string where = describe_server(o.conninfo);
  if (where.empty()) where = "(connection string does not parse)";
  return Status(why.code(), redact("PostgreSQL at " + where + ": " + why.message(), o.conninfo));
}

Link::Link(const PostgresStoreOptions& o, Role role, Health& health, std::size_t index)
    : o_(o), role_(role), health_(health), index_(index), jitter_(static_cast<unsigned>(index) * 7919u + 1u) {}

Conn* Link::get() {
  if (conn_ && conn_->connected()) {
    last_used_ = SteadyClock::now();
    return &*conn_;
  }
  conn_.reset();
  if (SteadyClock::now() < next_attempt_) return nullptr;
  const auto deadline = SteadyClock::now() + o_.connect_timeout;
  auto c = Conn::open(o_.conninfo, deadline);
  if (!c.ok()) {
    failed(c.status());
    return nullptr;
  }
  if (Status s = configure(*c, o_, role_, deadline); !s.ok()) {
    failed(s);
    return nullptr;
  }
  adopt(std::move(*c));
  return &*conn_;
}

void Link::adopt(Conn c) {
  conn_.emplace(std::move(c));
  backoff_ = std::chrono::milliseconds{0};
  next_attempt_ = {};
  last_used_ = SteadyClock::now();
  health_.set(index_, {});
}

void Link::failed(const Status& why) {
  // Doubling pauses with +-20% jitter, so that processes cut off together
  // do not all come back in the same instant.
  backoff_ = backoff_.count() == 0 ? std::chrono::milliseconds{50}
                                   : std::min(backoff_ * 2, std::max(o_.reconnect_max, std::chrono::milliseconds{50}));
  const auto spread = std::uniform_int_distribution<long>(-backoff_.count() / 5, backoff_.count() / 5)(jitter_);
  next_attempt_ = SteadyClock::now() + backoff_ + std::chrono::milliseconds{spread};
  health_.set(index_, at_server(o_, Status::unavailable(why.message())));
}

void Link::broken(const Status& why) {
  conn_.reset();
  next_attempt_ = {};
  health_.set(index_, at_server(o_, Status::unavailable(why.message())));
}

void Link::probe() {
  if (!conn_ || !conn_->connected()) {
    (void)get();
    return;
  }
  if (SteadyClock::now() - last_used_ < o_.probe_interval) return;
  last_used_ = SteadyClock::now();
  Pipeline p;
  p.add(Query::probe, {});
  auto r = conn_->run(p, SteadyClock::now() + o_.request_timeout);
  if (!r.ok()) broken(r.status());
}

}  // namespace realtime::pg
