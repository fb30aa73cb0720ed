// Request bodies for the lws transport, from the headers to the handler.
// On the headers: the route's limit is checked and the deadline for the
// whole body armed; the route's admission decides before a byte is read
// (the socket is not read until it does); then the memory budget (total
// and per client address) must have room. The bytes go to memory, or for
// a spooling route to a file on the file thread with at most a window of
// them in memory (reading pauses while the disk catches up). Loop thread.
#include <algorithm>
#include <cstdio>

#include "realtime/random.h"
#include "transport/lws/impl.h"

namespace realtime {
namespace {

// A spooled body's bytes in memory at most: what it reserves in the budget.
// Reading pauses at half of it; one lws read (64 KiB) fits in the rest.
constexpr std::size_t kSpoolWindow = 256 * 1024;
// Bytes that may arrive with the headers while a route decides (one lws
// read: its service buffer is 64 KiB).
constexpr std::size_t kBeforeAdmission = 64 * 1024;

// An unguessable name for an upload's spool file.
std::string spool_name() { return random_token(16) + ".part"; }

}  // namespace

BlockingWorker& LwsTransport::Impl::files() {
  if (!files_) files_ = std::make_unique<BlockingWorker>(*this);
  return *files_;
}

bool LwsTransport::Impl::begin_body(WsiState& st, std::size_t limit, std::chrono::milliseconds timeout) {
  if (st.body.length > limit) {
    refuse(st, lws_detail::error_response(413, "payload_too_large", "request body too large"));
    return false;
  }
  // One deadline for the whole body: lws's own timeout restarts with every
  // chunk, so a client that drips a byte at a time would never meet it.
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  st.body.deadline = set_timer(timeout, [this, weak] {
    auto token = weak.lock();
    WsiState* s = token ? request_state(token) : nullptr;
    if (s == nullptr) return;
    s->body.deadline = 0;
    if (s->body.complete || s->answered) return;
    s->body.timed_out = true;
    refuse(*s, lws_detail::error_response(408, "bad_request", "the request body did not arrive in time"));
  });
  return true;
}

bool LwsTransport::Impl::reserve_body(WsiState& st, bool spooled) {
  if (!st.body.expected) return true;
  const std::size_t want = spooled ? std::min(st.body.length, kSpoolWindow) : st.body.length;
  switch (budget_.reserve(st.request.remote_address, want)) {
    case lws_detail::BodyBudget::Verdict::total_full:
      refuse(st, lws_detail::error_response(503, "unavailable", "too many request bodies in progress; retry later"));
      return false;
    case lws_detail::BodyBudget::Verdict::address_full:
      refuse(st, lws_detail::error_response(429, "rate_limited",
                                            "too many request bodies in progress from your address; retry later"));
      return false;
    case lws_detail::BodyBudget::Verdict::ok:
      break;
  }
  st.body.reserved = want;
  return true;
}

void LwsTransport::Impl::ask_admission(WsiState& st, const HttpAdmission& admit) {
  st.body.admitted = false;
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  auto decided = std::make_shared<bool>(false);
  admit(st.request, [this, weak, decided](std::optional<HttpResponse> refusal) {
    if (*decided) return;
    *decided = true;
    auto token = weak.lock();
    if (WsiState* s = token ? request_state(token) : nullptr) on_admitted(*s, std::move(refusal));
  });
  // Until the route decides, the socket is not read: what lws had already
  // read with the headers is all that can arrive.
  if (!*decided) update_rx(st);
}

void LwsTransport::Impl::on_admitted(WsiState& st, std::optional<HttpResponse> refusal) {
  if (st.answered || st.body.admitted) return;
  if (refusal) {
    refuse(st, std::move(*refusal));
    return;
  }
  const bool spooled = st.body.route != nullptr && !st.body.route->spool_dir.empty();
  if (!reserve_body(st, spooled)) return;
  st.body.admitted = true;
  if (spooled) {
    std::weak_ptr<lws_detail::RequestToken> weak = st.token;
    st.body.spool = lws_detail::BodySpool::create(files(), st.body.route->spool_dir + "/" + spool_name(), [this, weak] {
      auto token = weak.lock();
      if (WsiState* s = token ? request_state(token) : nullptr) update_rx(*s);
    });
    // Bytes that came with the headers, before the route said yes.
    if (!st.request.body.empty() && !st.body.spool->write(std::exchange(st.request.body, {}))) {
      refuse(st, lws_detail::error_response(503, "unavailable", "cannot store the request body now"));
      return;
    }
  }
  update_rx(st);
  if (!st.body.expected || st.body.complete) finish_body(st);
}

int LwsTransport::Impl::on_http_body(WsiState& st, const char* data, std::size_t len) {
  // A refused request, or bytes after an unframed one: dropped unread.
  if (st.answered || !st.body.expected || st.body.complete) return 0;
  st.body.received += len;
  if (st.body.spool) {
    if (!st.body.spool->write(std::string_view(data, len))) {
      refuse(st, lws_detail::error_response(503, "unavailable", "cannot store the request body now"));
      return 0;
    }
    update_rx(st);
    return 0;
  }
  // In memory; never past what the budget granted (the Content-Length), or
  // before the admission, past what lws read with the headers (the socket
  // is not read meanwhile: this is a guard, not a limit anyone meets).
  const std::size_t allowed = st.body.admitted ? st.body.reserved : kBeforeAdmission;
  if (st.request.body.size() + len > allowed) {
    refuse(st, lws_detail::error_response(503, "unavailable", "request body larger than its reservation"));
    return 0;
  }
  st.request.body.append(data, len);
  return 0;
}

int LwsTransport::Impl::on_http_body_done(WsiState& st) {
  set_wsi_timeout(st.wsi, NO_PENDING_TIMEOUT, 0);
  if (st.draining) return -1;  // a refused body has all come in: close now
  if (st.answered || !st.body.expected || st.body.complete) return 0;
  st.body.complete = true;
  if (st.body.deadline != 0) cancel_timer(st.body.deadline);
  st.body.deadline = 0;
  update_rx(st);
  if (st.body.admitted) finish_body(st);
  return 0;
}

void LwsTransport::Impl::finish_body(WsiState& st) {
  if (!st.body.spool) {
    st.request.body_size = st.request.body.size();
    run_request(st);
    return;
  }
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  const bool queued = st.body.spool->finish([this, weak](Status written) {
    auto token = weak.lock();
    WsiState* s = token ? request_state(token) : nullptr;
    if (s == nullptr || s->answered) return;
    if (!written.ok()) {
      const bool full = written.code() == StatusCode::unavailable;
      return refuse(*s, lws_detail::error_response(full ? 507 : 500, full ? "unavailable" : "internal",
                                                   written.message()));
    }
    s->request.body_file = s->body.spool->path();
    s->request.body_size = s->body.received;
    run_request(*s);
  });
  if (!queued) refuse(st, lws_detail::error_response(503, "unavailable", "cannot store the request body now"));
}

void LwsTransport::Impl::update_rx(WsiState& st) {
  const bool pause = st.body.expected && !st.body.complete && !st.answered &&
                     (!st.body.admitted || (st.body.spool && st.body.spool->in_flight() >= kSpoolWindow / 2));
  if (pause == st.body.paused) return;
  st.body.paused = pause;
  lws_rx_flow_control(st.wsi, pause ? 0 : 1);
  // Outside lws's callbacks (an admission or a write completing), lws only
  // notices the change on its next service.
  lws_timeouts_changed_ = true;
}

void LwsTransport::Impl::end_request(WsiState& st) {
  if (st.body.deadline != 0) cancel_timer(st.body.deadline);
  if (st.body.reserved != 0) budget_.release(st.request.remote_address, st.body.reserved);
  st.body = {};  // a spool goes with it, and removes its file
  st.file = {};
  std::string().swap(st.request.body);
  if (st.token) {
    st.token->wsi = nullptr;
    st.token.reset();
  }
}

}  // namespace realtime
