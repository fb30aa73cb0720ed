// chatd's attachments in a shared realtime::AttachmentStore (a cluster; see
// attachments.h): the same checks and answers as the disk files, with the
// bytes, refs and quota in the store, so that any node serves any request.
// Loop thread; reading a spooled body runs on the worker, everything else
// is the store's asynchronous calls.
//
// What differs from the disk files:
// - The quota is checked on the headers against the store's usage plus
//   this node's admitted uploads, and again by the store when the file is
//   put (atomically, whichever node puts): uploads in flight on other
//   nodes are not seen on the headers, only when they are stored.
// - Free space is checked for the spool only (this node's disk).
// - Pending refs are settled by any node's sweep (at start and hourly),
//   once they are older than kPendingGrace: a send on another live node
//   is never settled under it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "attachment_meta.h"
#include "attachments.h"
#include "file_util.h"
#include "realtime/random.h"

namespace chatd {
namespace {

using realtime::Result;
using realtime::Status;

// A pending ref younger than this may belong to a send still in flight
// on another node (sends last the store's request timeout at most).
constexpr auto kPendingGrace = std::chrono::minutes(5);
// Files the sweep removes, and pending refs it settles, each time.
constexpr std::size_t kSweepBatch = 1000;
constexpr std::size_t kSettleBatch = 200;
constexpr auto kSweepEvery = std::chrono::hours(1);

std::int64_t now_ms() { return realtime::SystemClock{}.now().time_since_epoch().count(); }

UploadRefusal quota_refusal(std::uint64_t quota) {
  std::string text = "your attachments would pass your storage quota of ";
  text += std::to_string(quota);
  text += " bytes; delete messages with attachments to make room";
  return UploadRefusal{413, "quota_exceeded", std::move(text)};
}

UploadRefusal busy(const Status& s) {
  return UploadRefusal{503, "unavailable", s.message().empty() ? std::string("attachment storage unavailable; retry") : s.message()};
}

// `length` bytes of `path` from `offset`; nullopt if they cannot be read.
std::optional<std::string> read_range(const std::string& path, std::uint64_t offset, std::uint64_t length) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    const ssize_t r = ::pread(fd, out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  if (got != length) return std::nullopt;
  return out;
}

}  // namespace

void Attachments::admit_shared(const std::string& owner, std::uint64_t length,
                               std::function<void(std::optional<UploadRefusal>)> done) {
  std::weak_ptr<char> alive = alive_;
  // Free space for the spool, on the worker; then the quota from the store.
  auto after_free = [this, alive, owner, length, done](std::optional<std::uint64_t> free) {
    if (alive.expired()) return;
    if (!free || *free < opt_.min_free_bytes + reserved_total_ + length)
      return done(UploadRefusal{507, "unavailable", "the server is low on disk space: uploads are refused for now"});
    auto reserve = [this, owner, length, done] {
      reservations_.emplace(owner, Reservation{length, loop_.now() + opt_.upload_timeout + std::chrono::seconds(10)});
      reserved_total_ += length;
      done(std::nullopt);
    };
    if (opt_.quota_bytes == 0 || owner.empty()) return reserve();
    shared_->usage(owner, [this, alive, owner, length, done, reserve](Result<std::uint64_t> used) {
      if (alive.expired()) return;
      if (!used.ok()) return done(busy(used.status()));
      if (*used + reserved_by(owner) + length > opt_.quota_bytes) return done(quota_refusal(opt_.quota_bytes));
      reserve();
    });
  };
  const bool queued = worker_.run([dir = spool_, after_free]() -> std::function<void()> {
    const auto free = free_bytes(dir);
    return [after_free, free] { after_free(free); };
  });
  if (!queued) done(UploadRefusal{503, "unavailable", "too many attachment operations queued; retry"});
}

void Attachments::store_shared(std::shared_ptr<const Upload> up,
                               std::function<void(std::variant<realtime::Attachment, UploadRefusal>)> done) {
  std::weak_ptr<char> alive = alive_;
  const bool queued = worker_.run([this, alive, up, opt = opt_, done]() -> std::function<void()> {
    auto checked = check_upload(*up, opt);
    std::optional<std::string> bytes;
    if (const auto* c = std::get_if<Checked>(&checked)) bytes = read_range(up->body_file, c->offset, c->length);
    return [this, alive, up, checked = std::move(checked), bytes = std::move(bytes), done]() mutable {
      if (alive.expired()) return;
      if (const auto* r = std::get_if<UploadRefusal>(&checked)) return done(*r);
      if (!bytes) return done(UploadRefusal{500, "internal", "the upload's body is gone"});
      const Checked& c = std::get<Checked>(checked);
      // This node's other uploads of the owner, admitted and not stored yet,
      // count against the quota as on one node.
      std::uint64_t quota = 0;
      if (opt_.quota_bytes != 0 && !up->owner.empty()) {
        const std::uint64_t others = reserved_by(up->owner);
        if (others + c.length > opt_.quota_bytes) return done(quota_refusal(opt_.quota_bytes));
        quota = opt_.quota_bytes - others;
      }
      realtime::AttachmentRecord rec{realtime::random_token(16), up->room, up->owner, c.name, c.mime, c.length, now_ms()};
      realtime::Attachment att{std::string(kAttachmentUrlPrefix) + rec.id, rec.name, static_cast<std::int64_t>(rec.size), rec.mime};
      shared_->put(std::move(rec), std::move(*bytes), quota, [this, alive, att, done](Status s) {
        if (alive.expired()) return;
        if (s.ok()) return done(att);
        if (s.code() == realtime::StatusCode::payload_too_large) return done(quota_refusal(opt_.quota_bytes));
        if (s.code() == realtime::StatusCode::unavailable) return done(busy(s));
        log_.warn("attachment not stored", {{"error", s.message()}});
        done(UploadRefusal{500, "internal", "could not store the attachment"});
      });
    };
  });
  if (!queued) done(UploadRefusal{503, "unavailable", "too many attachment operations queued; retry"});
}

void Attachments::find_shared(const std::string& id, std::function<void(Result<StoredAttachment>)> done) {
  shared_->get(id, [id, done](Result<realtime::AttachmentRecord> rec) {
    if (!rec.ok()) return done(rec.status());
    done(StoredAttachment{id, rec->room, rec->mime, {}});
  });
}

void Attachments::read(const std::string& id, std::function<void(Result<std::string>)> done) {
  if (!shared_) return done(Status::internal("attachment files are read by the transport"));
  shared_->read(id, std::move(done));
}

void Attachments::before_store_shared(const std::string& id, const realtime::NewMessage& m,
                                      std::function<void(Status)> proceed) {
  // Committed before the store sees the message: a crash can leave this
  // pending ref (settled by a sweep), never a stored message whose file
  // a removal could take.
  shared_->add_ref(id, m.room, m.sender_id, m.created_at.time_since_epoch().count(), kMaxRefs,
                   [proceed](Status s) { proceed(s); });
}

void Attachments::after_store_shared(const std::string& id, const realtime::NewMessage& m, const std::string& msg) {
  // Lost (a crash, the store unreachable): the ref stays pending until a sweep settles it.
  shared_->settle_ref(id, m.sender_id, m.created_at.time_since_epoch().count(), msg, [this, id](Status s) {
    if (!s.ok()) log_.warn("attachment ref left pending", {{"attachment", id}, {"error", s.message()}});
  });
}

void Attachments::forget_shared(std::map<std::string, std::vector<std::string>> dead) {
  for (auto& [id, msgs] : dead) {
    shared_->remove_refs(id, std::move(msgs), [this, id = id](Status s) {
      if (!s.ok()) log_.warn("attachment refs not updated; the next sweeps will", {{"attachment", id}, {"error", s.message()}});
    });
  }
}

void Attachments::record_settled_shared(const std::string& id, std::vector<std::pair<Pending, std::string>> found,
                                        std::vector<Pending> gone) {
  auto logged = [this, id](Status s) {
    if (!s.ok()) log_.warn("attachment: pending ref kept", {{"attachment", id}, {"error", s.message()}});
  };
  for (const auto& [p, msg] : found) shared_->settle_ref(id, p.sender, p.at, msg, logged);
  for (const Pending& p : gone) shared_->settle_ref(id, p.sender, p.at, "", logged);
}

// At start and hourly, on every node: unclaimed files go (one DELETE in
// the store, safe when nodes run it together), old pending refs are
// settled against the history, and a page of refs is checked against the
// message store.
void Attachments::sweep_shared() {
  std::weak_ptr<char> alive = alive_;
  const std::int64_t now = now_ms();
  const std::int64_t cutoff = now - std::chrono::milliseconds(opt_.unclaimed_ttl).count();
  shared_->remove_unclaimed(cutoff, kSweepBatch, [this, alive](Result<std::size_t> n) {
    if (alive.expired()) return;
    if (!n.ok()) log_.warn("attachments: unclaimed sweep failed", {{"error", n.status().message()}});
    else if (*n != 0) log_.info("attachments: removed unclaimed uploads", {{"files", std::to_string(*n)}});
  });
  const std::int64_t grace = std::chrono::milliseconds(kPendingGrace).count();
  shared_->pending_refs(now - grace, kSettleBatch, [this, alive](Result<std::vector<realtime::PendingAttachmentRef>> refs) {
    if (alive.expired() || !refs.ok()) return;
    std::map<std::string, Unsettled> by_file;
    for (auto& r : *refs) {
      auto& u = by_file[r.id];
      u.room = r.room;
      u.pending.push_back({r.sender, r.at});
    }
    for (auto& [id, u] : by_file) settle(id, u.room, std::move(u.pending), std::nullopt, 0);
  });
  shared_->message_refs(verify_cursor_, kVerifyPerSweep, [this, alive](Result<std::vector<realtime::AttachmentMessageRef>> refs) {
    if (alive.expired() || !refs.ok()) return;
    // From where the last sweep stopped, wrapping around after the last page.
    verify_cursor_ = refs->size() < kVerifyPerSweep || refs->empty() ? 0 : refs->back().cursor;
    std::map<std::string, std::vector<std::string>> batch;
    for (auto& r : *refs) batch[r.id].push_back(std::move(r.msg));
    verify(std::move(batch));
  });
  sweep_timer_ = loop_.set_timer(std::chrono::duration_cast<std::chrono::milliseconds>(kSweepEvery), [this, alive] {
    if (alive.expired()) return;
    sweep_timer_ = 0;
    sweep_shared();
  });
}

}  // namespace chatd
