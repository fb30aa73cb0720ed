// The refs of chatd's attachment files (see attachments.h): which messages
// use a file, kept true as messages are stored and deleted, settled after
// a crash against the room's history, and checked against the store a
// batch at a time by the hourly sweep, which also removes unclaimed
// uploads. Loop thread; the disk work runs on the worker.
#include <algorithm>
#include <memory>

#include "attachment_meta.h"
#include "attachments.h"

namespace chatd {
namespace {

using realtime::Result;
using realtime::Status;
namespace fs = std::filesystem;

// How far back the history is read to settle a pending ref after a crash.
constexpr int kSettlePages = 50;

std::int64_t epoch_ms(realtime::Timestamp t) { return t.time_since_epoch().count(); }
std::int64_t now_ms() { return epoch_ms(realtime::SystemClock{}.now()); }

}  // namespace

void Attachments::before_store(const realtime::NewMessage& m, std::function<void(Status)> proceed) {
  auto id = m.attachment ? id_of_url(m.attachment->url) : std::nullopt;
  if (!id) return proceed({});  // no attachment, or someone else's http(s) URL
  if (!valid_id(*id)) return proceed(Status::bad_request("attachment.url names no attachment"));
  if (shared_) return before_store_shared(*id, m, std::move(proceed));
  const Pending p{m.sender_id, epoch_ms(m.created_at)};
  const bool queued = worker_.run([dir = opt_.dir, id = *id, room = m.room, p, proceed]() -> std::function<void()> {
    Status s;
    auto meta = load_meta(dir, id);
    if (!meta) {
      s = Status::not_found("no such attachment: upload it first");
    } else if (meta->room != room) {
      s = Status::bad_request("the attachment was uploaded to another room");
    } else if (meta->refs) {  // (metadata without refs is never removed: nothing to record)
      if (meta->refs->size() >= kMaxRefs) {
        s = Status::bad_request("the attachment is used by too many messages");
      } else {
        // Durable before the store sees the message: a crash can leave
        // this pending ref (settled at the next start), never a stored
        // message that the file does not know of.
        meta->refs->push_back(AttachmentRef{"", p.sender, p.at});
        s = save_meta(dir, id, *meta, true);
      }
    }
    return [s, proceed] { proceed(s); };
  });
  if (!queued) proceed(Status::unavailable("too many attachment operations queued; retry"));
}

void Attachments::after_store(const realtime::NewMessage& m, const Result<realtime::Appended>& result) {
  auto id = m.attachment ? id_of_url(m.attachment->url) : std::nullopt;
  if (!id || !valid_id(*id)) return;
  const Pending p{m.sender_id, epoch_ms(m.created_at)};
  const std::string msg = result.ok() ? result->message.id : std::string();
  if (shared_) return after_store_shared(*id, m, msg);
  const bool queued = worker_.run([dir = opt_.dir, id = *id, p, msg]() -> std::function<void()> {
    auto meta = load_meta(dir, id);
    if (!meta || !meta->refs) return [] {};
    auto& refs = *meta->refs;
    auto it = std::find_if(refs.begin(), refs.end(), [&](const AttachmentRef& r) { return r.pending_for(p.sender, p.at); });
    if (it == refs.end()) return [] {};
    // A retry (the same clientMsgId) names a message that may hold its ref already.
    const bool known = !msg.empty() && std::any_of(refs.begin(), refs.end(), [&](const AttachmentRef& r) { return r.msg == msg; });
    if (msg.empty() || known) {
      refs.erase(it);
    } else {
      *it = AttachmentRef{msg, "", 0};
    }
    // Not fsynced: lost, the ref stays pending and the next start settles it.
    (void)save_meta(dir, id, *meta, false);
    return [] {};
  });
  if (!queued) log_.warn("attachment ref left pending (worker queue full)", {{"attachment", *id}});
}

void Attachments::deleted(const realtime::Message& before) {
  auto id = before.attachment ? id_of_url(before.attachment->url) : std::nullopt;
  if (!id || !valid_id(*id)) return;
  forget({{*id, {before.id}}});
}

// Drops the refs of the given messages; a file left without refs goes.
void Attachments::forget(std::map<std::string, std::vector<std::string>> dead) {
  if (shared_) return forget_shared(std::move(dead));
  std::weak_ptr<char> alive = alive_;
  const bool queued = worker_.run([this, alive, dir = opt_.dir, dead = std::move(dead)]() -> std::function<void()> {
    std::vector<std::pair<std::string, std::uint64_t>> freed;  // owner, bytes
    for (const auto& entry : dead) {
      const std::string& id = entry.first;
      const std::vector<std::string>& msgs = entry.second;
      auto meta = load_meta(dir, id);
      if (!meta || !meta->refs) continue;
      auto& refs = *meta->refs;
      const auto before = refs.size();
      std::erase_if(refs, [&](const AttachmentRef& r) { return std::find(msgs.begin(), msgs.end(), r.msg) != msgs.end() && !r.msg.empty(); });
      if (refs.size() == before) continue;
      if (refs.empty()) {
        remove_attachment_files(dir, id);
        freed.emplace_back(meta->owner, meta->size);
      } else {
        (void)save_meta(dir, id, *meta, true);
      }
    }
    return [this, alive, freed] {
      if (alive.expired()) return;
      for (const auto& [owner, bytes] : freed) add_usage(owner, -static_cast<std::int64_t>(bytes));
    };
  });
  if (!queued) log_.warn("attachment refs not updated (worker queue full); the next sweeps will");
}

// Looks the pending refs' messages up in the room's newest history, a page
// at a time: found, the ref names the message; older than the page (or the
// room's start) reached without it, the message was never stored.
void Attachments::settle(std::string id, std::string room, std::vector<Pending> pending,
                         std::optional<std::int64_t> before, int pages) {
  realtime::HistoryQuery q;
  q.before = before;
  q.limit = 200;
  std::weak_ptr<char> alive = alive_;
  store_.history(room, q, [this, alive, id, room, pending, pages](Result<realtime::HistoryPage> page) {
    if (alive.expired()) return;
    if (!page.ok()) {
      log_.warn("attachment: pending refs kept", {{"attachment", id}, {"error", page.status().message()}});
      return;
    }
    const std::string url = std::string(kAttachmentUrlPrefix) + id;
    std::vector<std::pair<Pending, std::string>> found;
    std::vector<Pending> still;
    for (const Pending& p : pending) {
      auto m = std::find_if(page->messages.begin(), page->messages.end(), [&](const realtime::Message& x) {
        return x.attachment && x.attachment->url == url && x.sender_id == p.sender && epoch_ms(x.created_at) == p.at;
      });
      if (m != page->messages.end()) {
        found.emplace_back(p, m->id);
      } else {
        still.push_back(p);
      }
    }
    std::int64_t newest_pending = 0;
    for (const Pending& p : still) newest_pending = std::max(newest_pending, p.at);
    // A minute of slack for a clock that stepped back.
    const bool passed = page->messages.empty() || !page->has_more ||
                        epoch_ms(page->messages.front().created_at) < newest_pending - 60'000;
    std::vector<Pending> gone = passed ? still : std::vector<Pending>{};
    if (!found.empty() || !gone.empty()) record_settled(id, std::move(found), std::move(gone));
    if (!passed && !still.empty()) {
      if (pages + 1 >= kSettlePages) {
        log_.warn("attachment: pending refs kept (message not found in the newest history)", {{"attachment", id}});
        return;
      }
      settle(id, room, std::move(still), page->messages.front().seq, pages + 1);
    }
  });
}

void Attachments::record_settled(const std::string& id, std::vector<std::pair<Pending, std::string>> found,
                                 std::vector<Pending> gone) {
  if (shared_) return record_settled_shared(id, std::move(found), std::move(gone));
  const bool queued = worker_.run([dir = opt_.dir, id, found, gone]() -> std::function<void()> {
    auto meta = load_meta(dir, id);
    if (!meta || !meta->refs) return [] {};
    for (auto& r : *meta->refs) {
      for (const auto& [p, msg] : found)
        if (r.pending_for(p.sender, p.at)) r = AttachmentRef{msg, "", 0};
    }
    std::erase_if(*meta->refs, [&](const AttachmentRef& r) {
      return std::any_of(gone.begin(), gone.end(), [&](const Pending& p) { return r.pending_for(p.sender, p.at); });
    });
    (void)save_meta(dir, id, *meta, true);
    return [] {};
  });
  (void)queued;  // not queued: the refs stay pending until the next start
}

// Hourly (and at start): removes uploads no message used within the
// unclaimed time, and checks a batch of refs against the store.
void Attachments::sweep() {
  if (shared_) return sweep_shared();
  std::weak_ptr<char> alive = alive_;
  const auto ttl = std::chrono::milliseconds(opt_.unclaimed_ttl).count();
  const bool queued = worker_.run([this, alive, dir = opt_.dir, ttl, after = verify_after_]() -> std::function<void()> {
    std::vector<std::pair<std::string, std::uint64_t>> freed;
    std::map<std::string, std::vector<std::string>> batch;
    std::size_t refs_in_batch = 0;
    std::string last;
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.ends_with(".json") && valid_id(name.substr(0, name.size() - 5))) ids.push_back(name.substr(0, name.size() - 5));
    }
    std::sort(ids.begin(), ids.end());
    const std::int64_t cutoff = now_ms() - ttl;
    // From where the last sweep stopped, wrapping around once.
    auto first = std::upper_bound(ids.begin(), ids.end(), after);
    std::rotate(ids.begin(), first, ids.end());
    for (const std::string& id : ids) {
      auto meta = load_meta(dir, id);
      if (!meta || !meta->refs) continue;
      if (meta->refs->empty()) {
        if (meta->created < cutoff) {
          remove_attachment_files(dir, id);
          freed.emplace_back(meta->owner, meta->size);
        }
        continue;
      }
      if (refs_in_batch >= kVerifyPerSweep) continue;
      for (const AttachmentRef& r : *meta->refs) {
        if (r.msg.empty()) continue;
        batch[id].push_back(r.msg);
        ++refs_in_batch;
      }
      last = id;
    }
    return [this, alive, freed, batch = std::move(batch), last]() mutable {
      if (alive.expired()) return;
      for (const auto& [owner, bytes] : freed) add_usage(owner, -static_cast<std::int64_t>(bytes));
      verify_after_ = last;
      verify(std::move(batch));
      schedule_sweep();
    };
  });
  if (!queued) schedule_sweep();
}

void Attachments::verify(std::map<std::string, std::vector<std::string>> refs) {
  struct Tally {
    std::size_t left = 0;
    std::map<std::string, std::vector<std::string>> dead;
  };
  auto tally = std::make_shared<Tally>();
  for (const auto& [id, msgs] : refs) tally->left += msgs.size();
  if (tally->left == 0) return;
  std::weak_ptr<char> alive = alive_;
  for (const auto& [id, msgs] : refs) {
    for (const std::string& msg : msgs) {
      store_.get_message(msg, [this, alive, tally, id = id, msg](Result<realtime::Message> m) {
        if (alive.expired()) return;
        // Only a sure answer frees a file: a store error keeps the ref.
        const bool dead = (!m.ok() && m.status().code() == realtime::StatusCode::not_found) || (m.ok() && m->deleted);
        if (dead) tally->dead[id].push_back(msg);
        if (--tally->left == 0 && !tally->dead.empty()) forget(std::move(tally->dead));
      });
    }
  }
}

}  // namespace chatd
