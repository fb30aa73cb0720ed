// chatd's attachment files (see attachments.h): startup, uploads, quota
// and free space, downloads; attachment_refs.cpp keeps the refs. Public
// calls run on the loop; each hands its disk work to the worker as one job
// (jobs run one at a time, in order, so two updates of one metadata file
// never interleave) and finishes in a continuation back on the loop.
#include "attachments.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <system_error>

#include "realtime/base64.h"
#include "attachment_meta.h"
#include "file_util.h"
#include "media_type.h"
#include "multipart.h"
#include "realtime/random.h"
#include "realtime/utf8.h"

namespace chatd {
namespace {

using realtime::Result;
using realtime::Status;
namespace fs = std::filesystem;

constexpr std::size_t kMaxNameBytes = 255;
constexpr auto kSweepEvery = std::chrono::hours(1);

std::int64_t now_ms() { return realtime::SystemClock{}.now().time_since_epoch().count(); }

UploadRefusal refusal(int status, std::string code, std::string message) {
  return UploadRefusal{status, std::move(code), std::move(message)};
}

UploadRefusal refusal_of(const Status& s) {
  switch (s.code()) {
    case realtime::StatusCode::bad_request: return refusal(400, "bad_request", s.message());
    case realtime::StatusCode::payload_too_large: return refusal(413, "payload_too_large", s.message());
    case realtime::StatusCode::unavailable: return refusal(507, "unavailable", s.message());
    default: return refusal(500, "internal", s.message());
  }
}

UploadRefusal low_on_space() {
  return refusal(507, "unavailable", "the server is low on disk space: uploads are refused for now");
}

// A spooled body read by ranges (for the multipart reader).
class FileBody final : public BodySource {
 public:
  FileBody(const fs::path& path, std::uint64_t size) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)), size_(size) {}
  ~FileBody() override {
    if (fd_ >= 0) ::close(fd_);
  }
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  bool ok() const { return fd_ >= 0; }
  std::uint64_t size() const override { return size_; }
  std::string read(std::uint64_t offset, std::size_t n) const override {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
  }

 private:
  int fd_;
  std::uint64_t size_;
};

}  // namespace

std::variant<Attachments::Checked, UploadRefusal> Attachments::check_upload(const Upload& u, const AttachmentOptions& opt) {
  Checked c;
  c.name = u.name;
  c.length = u.body_size;
  std::string type = u.content_type.empty() ? std::string("application/octet-stream") : u.content_type;
  auto essence = normalize_media_type(type);
  if (essence.ok() && media_type_essence(*essence) == "multipart/form-data") {
    FileBody body(u.body_file, u.body_size);
    if (!body.ok()) return refusal(500, "internal", "the upload's body is gone");
    auto part = find_multipart_file(type, body);
    if (!part.ok()) return refusal_of(part.status());
    type = part->mime;
    if (!part->filename.empty()) c.name = part->filename;
    c.offset = part->offset;
    c.length = part->length;
    c.whole = false;
  }
  auto mime = normalize_media_type(type);
  if (!mime.ok()) return refusal(400, "bad_request", "invalid attachment type: " + mime.status().message());
  c.mime = *mime;
  const std::string_view plain = media_type_essence(c.mime);
  if (!opt.types.empty() &&
      std::none_of(opt.types.begin(), opt.types.end(), [&](const std::string& p) { return plain.starts_with(p); }))
    return refusal(400, "bad_request", "attachment type " + std::string(plain) + " is not allowed");
  if (c.length == 0) return refusal(400, "bad_request", "empty upload");
  if (c.length > opt.max_bytes) return refusal(413, "payload_too_large", "attachment too large");
  if (c.name.empty()) c.name = "file";
  if (!realtime::is_valid_utf8(c.name)) return refusal(400, "bad_request", "the file name is not valid UTF-8");
  // Cut on a character: half a character would make the stored name, and
  // so the metadata, invalid.
  c.name = std::string(realtime::utf8_prefix(c.name, kMaxNameBytes));
  return c;
}

Attachments::Attachments(AttachmentOptions options, realtime::BlockingWorker& worker, realtime::EventLoop& loop,
                         realtime::Store& store, Log& log)
    : opt_(std::move(options)), spool_(opt_.dir / ".spool"), worker_(worker), loop_(loop), store_(store), log_(log),
      shared_(opt_.shared) {
  for (auto& t : opt_.types)
    for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
}

Attachments::~Attachments() {
  if (sweep_timer_ != 0) loop_.cancel_timer(sweep_timer_);
}

bool Attachments::valid_id(std::string_view id) { return valid_attachment_id(id); }

std::optional<std::string> Attachments::id_of_url(std::string_view url) {
  if (!url.starts_with(kAttachmentUrlPrefix)) return std::nullopt;
  return std::string(url.substr(kAttachmentUrlPrefix.size()));
}

std::uint64_t Attachments::usage(const std::string& owner) const {
  auto it = usage_.find(owner);
  return it == usage_.end() ? 0 : it->second;
}

void Attachments::add_usage(const std::string& owner, std::int64_t delta) {
  if (owner.empty()) return;
  auto& u = usage_[owner];
  u = delta < 0 ? u - std::min<std::uint64_t>(u, static_cast<std::uint64_t>(-delta)) : u + static_cast<std::uint64_t>(delta);
  if (u == 0) usage_.erase(owner);
}

realtime::Status Attachments::open() {
  std::error_code ec;
  fs::create_directories(spool_, ec);
  if (ec) return Status::internal("cannot create " + spool_.string() + ": " + ec.message());
  // Bodies a previous run was receiving when it stopped.
  for (const auto& e : fs::directory_iterator(spool_, ec)) fs::remove(e.path(), ec);
  if (shared_) return {};  // the files are in the shared store; only the spool is here
  const std::int64_t unclaimed_before = now_ms() - std::chrono::milliseconds(opt_.unclaimed_ttl).count();
  std::size_t removed = 0;
  for (const auto& e : fs::directory_iterator(opt_.dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".tmp")) {  // a metadata or data file cut short
      fs::remove(e.path(), ec);
      continue;
    }
    std::string id = name;
    const bool is_meta = name.ends_with(".json");
    if (is_meta) id.resize(id.size() - 5);
    if (!valid_id(id)) continue;
    const bool has_data = fs::exists(opt_.dir / id, ec);
    const bool has_meta = fs::exists(opt_.dir / (id + ".json"), ec);
    if (!is_meta) {
      if (!has_meta) {  // stored bytes whose metadata never got written
        fs::remove(e.path(), ec);
        ++removed;
      }
      continue;
    }
    auto meta = load_meta(opt_.dir, id);
    if (!has_data || !meta) {  // its data went first, or it is unreadable: nothing can use it
      if (!has_data) fs::remove(e.path(), ec);
      continue;
    }
    if (meta->refs && meta->refs->empty() && meta->created < unclaimed_before) {
      remove_attachment_files(opt_.dir, id);
      ++removed;
      continue;
    }
    add_usage(meta->owner, static_cast<std::int64_t>(meta->size));
    if (!meta->refs) continue;
    Unsettled u{meta->room, {}};
    for (const AttachmentRef& r : *meta->refs)
      if (r.msg.empty()) u.pending.push_back({r.sender, r.at});
    if (!u.pending.empty()) unsettled_[id] = std::move(u);
  }
  if (ec) return Status::internal("cannot list " + opt_.dir.string() + ": " + ec.message());
  if (removed != 0) log_.info("attachments: removed leftovers", {{"files", std::to_string(removed)}});
  return {};
}

void Attachments::start() {
  if (shared_) return sweep_shared();
  for (auto& [id, u] : std::exchange(unsettled_, {})) settle(id, u.room, std::move(u.pending), std::nullopt, 0);
  sweep();
}

void Attachments::schedule_sweep() {
  std::weak_ptr<char> alive = alive_;
  sweep_timer_ = loop_.set_timer(std::chrono::duration_cast<std::chrono::milliseconds>(kSweepEvery), [this, alive] {
    if (alive.expired()) return;
    sweep_timer_ = 0;
    sweep();
  });
}

// ---- uploads ----

std::uint64_t Attachments::reserved_by(const std::string& owner) const {
  std::uint64_t n = 0;
  auto [b, e] = reservations_.equal_range(owner);
  for (auto it = b; it != e; ++it) n += it->second.bytes;
  return n;
}

void Attachments::release(const std::string& owner, std::uint64_t bytes) {
  auto [b, e] = reservations_.equal_range(owner);
  for (auto it = b; it != e; ++it) {
    if (it->second.bytes != bytes) continue;
    reserved_total_ -= std::min(reserved_total_, bytes);
    reservations_.erase(it);
    return;
  }
}

void Attachments::expire_reservations() {
  // An admitted upload ends by store() or by its deadline; one that ended
  // otherwise (the client went away) is forgotten here.
  const auto now = loop_.now();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expires > now) {
      ++it;
      continue;
    }
    reserved_total_ -= std::min(reserved_total_, it->second.bytes);
    it = reservations_.erase(it);
  }
}

void Attachments::admit(const std::string& owner, std::uint64_t length,
                        std::function<void(std::optional<UploadRefusal>)> done) {
  expire_reservations();
  if (shared_) return admit_shared(owner, length, std::move(done));
  auto over_quota = [this, owner, length] {
    return opt_.quota_bytes != 0 && !owner.empty() && usage(owner) + reserved_by(owner) + length > opt_.quota_bytes;
  };
  auto quota_refusal = [this] {
    return refusal(413, "quota_exceeded",
                   "your attachments would pass your storage quota of " + std::to_string(opt_.quota_bytes) +
                       " bytes; delete messages with attachments to make room");
  };
  if (over_quota()) return done(quota_refusal());
  std::weak_ptr<char> alive = alive_;
  const bool queued = worker_.run([dir = opt_.dir, alive, this, owner, length, done, over_quota,
                                   quota_refusal]() -> std::function<void()> {
    const auto free = free_bytes(dir);
    return [alive, this, free, owner, length, done, over_quota, quota_refusal] {
      if (alive.expired()) return;
      // Another upload may have been admitted meanwhile: both checks again.
      if (!free || *free < opt_.min_free_bytes + reserved_total_ + length) return done(low_on_space());
      if (over_quota()) return done(quota_refusal());
      const auto slack = std::chrono::seconds(10);
      reservations_.emplace(owner, Reservation{length, loop_.now() + opt_.upload_timeout + slack});
      reserved_total_ += length;
      done(std::nullopt);
    };
  });
  if (!queued) done(refusal(503, "unavailable", "too many attachment operations queued; retry"));
}

void Attachments::store(Upload upload, std::function<void(std::variant<realtime::Attachment, UploadRefusal>)> done) {
  release(upload.owner, upload.announced);  // admit()'s reservation ends here, whatever follows
  auto up = std::make_shared<const Upload>(std::move(upload));
  if (shared_) return store_shared(std::move(up), std::move(done));
  std::weak_ptr<char> alive = alive_;
  const bool queued = worker_.run([this, alive, up, opt = opt_, done]() -> std::function<void()> {
    auto checked = check_upload(*up, opt);
    const auto free = free_bytes(opt.dir);
    return [this, alive, up, checked = std::move(checked), free, done] {
      if (alive.expired()) return;
      if (const auto* r = std::get_if<UploadRefusal>(&checked)) return done(*r);
      place(up, std::get<Checked>(checked), free, done);
    };
  });
  if (!queued) done(refusal(503, "unavailable", "too many attachment operations queued; retry"));
}

void Attachments::place(std::shared_ptr<const Upload> up, const Checked& c, std::optional<std::uint64_t> free,
                        std::function<void(std::variant<realtime::Attachment, UploadRefusal>)> done) {
  const std::string& owner = up->owner;
  // A raw upload is renamed into place; a multipart part is copied.
  const std::uint64_t extra = c.whole ? 0 : c.length;
  if (!free || *free < opt_.min_free_bytes + reserved_total_ + extra) return done(low_on_space());
  if (opt_.quota_bytes != 0 && !owner.empty() && usage(owner) + reserved_by(owner) + c.length > opt_.quota_bytes)
    return done(refusal(413, "quota_exceeded",
                        "this attachment would pass your storage quota of " + std::to_string(opt_.quota_bytes) +
                            " bytes; delete messages with attachments to make room"));
  add_usage(owner, static_cast<std::int64_t>(c.length));  // now: a concurrent upload must see it
  const AttachmentMeta meta{up->room, owner, c.name, c.mime, c.length, now_ms(), std::vector<AttachmentRef>{}};
  const std::string id = realtime::random_token(16);
  std::weak_ptr<char> alive = alive_;
  const bool queued = worker_.run([this, alive, dir = opt_.dir, up, c, meta, id, done]() -> std::function<void()> {
    const fs::path data = dir / id;
    Status s;
    std::error_code ec;
    if (c.whole) {
      s = sync_file(up->body_file);
      if (s.ok() && (fs::rename(up->body_file, data, ec), ec)) s = Status::internal("cannot move the upload: " + ec.message());
    } else {
      const fs::path part = dir / (id + ".tmp");
      s = copy_range(up->body_file, c.offset, c.length, part);
      if (s.ok() && (fs::rename(part, data, ec), ec)) {
        fs::remove(part, ec);
        s = Status::internal("cannot move the upload into place");
      }
    }
    // The metadata is what makes the attachment exist: written last and
    // durably, or the data goes again (never a half-written file left).
    if (s.ok()) s = save_meta(dir, id, meta, true);
    if (!s.ok()) fs::remove(data, ec);
    return [this, alive, s, id, meta, done] {
      if (alive.expired()) return;
      if (!s.ok()) {
        add_usage(meta.owner, -static_cast<std::int64_t>(meta.size));
        log_.warn("attachment not stored", {{"error", s.message()}});  // the details (paths) stay in the log
        return done(s.code() == realtime::StatusCode::unavailable ? low_on_space()
                                                                    : refusal(500, "internal", "could not store the attachment"));
      }
      done(realtime::Attachment{std::string(kAttachmentUrlPrefix) + id, meta.name, static_cast<std::int64_t>(meta.size), meta.mime});
    };
  });
  if (!queued) {
    add_usage(owner, -static_cast<std::int64_t>(c.length));
    done(refusal(503, "unavailable", "too many attachment operations queued; retry"));
  }
}

void Attachments::find(const std::string& id, std::function<void(Result<StoredAttachment>)> done) {
  if (!valid_id(id)) return done(Status::not_found("no such attachment"));
  if (shared_) return find_shared(id, std::move(done));
  const bool queued = worker_.run([dir = opt_.dir, id, done]() -> std::function<void()> {
    auto meta = load_meta(dir, id);
    return [meta, dir, id, done] {
      if (!meta) return done(Status::not_found("no such attachment"));
      // Checked again: metadata from before types were checked may hold anything.
      auto mime = normalize_media_type(meta->mime);
      done(StoredAttachment{id, meta->room, mime.ok() ? *mime : "application/octet-stream", dir / id});
    };
  });
  if (!queued) done(Status::unavailable("too many attachment operations queued; retry"));
}

}  // namespace chatd
