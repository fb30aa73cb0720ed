// Reactions of the PostgreSQL store (see reactions.h). An add locks its
// message's row first, so adds to one message from every process run one
// at a time and the distinct-emoji limit holds; each statement refuses
// by its rows, never by an error (sql.cpp's convention). Two batches that
// lock the same messages in another order may deadlock: PostgreSQL aborts
// one, and the writer runs that batch again (a lost race, conn.h).
#include "store/postgres/reactions.h"

#include <algorithm>
#include <map>
#include <utility>

#include "store/postgres/values.h"

namespace realtime::pg {
namespace {

Status no_message(const std::string& id) { return Status::not_found("no message " + id); }

class ReactionWrite : public Typed<bool, WriteOp> {
 public:
  ReactionWrite(std::string id, std::string user, std::string emoji, Completion<bool> done)
      : Typed(std::move(done)), id_(std::move(id)), user_(std::move(user)), emoji_(std::move(emoji)) {
    key_ = parse_message_id(id_);
    Status s = key_ ? storable_key("userId", user_) : no_message(id_);
    if (s.ok()) s = storable_key("emoji", emoji_);
    if (!s.ok()) refuse(std::move(s));
  }

 protected:
  std::string id_, user_, emoji_;
  std::optional<MessageKey> key_;
};

class AddReaction final : public ReactionWrite {
 public:
  AddReaction(std::string id, std::string user, std::string emoji, std::size_t max, Completion<bool> done)
      : ReactionWrite(std::move(id), std::move(user), std::move(emoji), std::move(done)), max_(max) {}
  void plan(Pipeline& p) override {
    first = p.add(Query::react_lock, Params().add(key_->rid).add(key_->seq));
    p.add(Query::react_add, Params().add(key_->rid).add(key_->seq).add(emoji_).add(user_).add(
                                static_cast<std::int64_t>(std::min<std::size_t>(max_, 1u << 30))));
  }
  void take(const Outcome& o) override {
    const Rows lock = o.rows(first);
    if (lock.size() == 0 || lock.boolean(0, 0)) return answer(no_message(id_));
    const Rows r = o.rows(first + 1);
    if (r.int64(0, 2) == 1) return answer(true);
    if (!r.boolean(0, 1) && static_cast<std::size_t>(r.int64(0, 0)) >= max_)
      return answer(Status::conflict("message " + id_ + " has " + std::to_string(max_) +
                                     " different reactions already"));
    answer(false);
  }

 private:
  std::size_t max_;
};

class RemoveReaction final : public ReactionWrite {
 public:
  using ReactionWrite::ReactionWrite;
  void plan(Pipeline& p) override {
    first = p.add(Query::react_remove, Params().add(key_->rid).add(key_->seq).add(emoji_).add(user_));
  }
  void take(const Outcome& o) override {
    const Rows r = o.rows(first);
    if (!r.boolean(0, 0)) return answer(no_message(id_));
    answer(r.int64(0, 1) == 1);
  }
};

class Summary final : public Typed<std::vector<MessageReactions>, ReadOp> {
 public:
  Summary(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
          Completion<std::vector<MessageReactions>> done)
      : Typed(std::move(done)), ids_(std::move(ids)), viewer_(std::move(viewer)), list_(list_users) {}

  bool run(Conn& c, SteadyClock::time_point deadline) override {
    std::map<std::pair<std::int64_t, std::int64_t>, MessageReactions> found;
    ArrayText rids, seqs;
    for (const auto& id : ids_) {
      const auto key = parse_message_id(id);
      if (!key || found.contains({key->rid, key->seq})) continue;
      found[{key->rid, key->seq}].message_id = id;
      rids.add(key->rid);
      seqs.add(key->seq);
    }
    std::vector<MessageReactions> out;
    if (found.empty() || !storable("viewer", viewer_).ok()) {
      answer(std::move(out));
      return true;
    }
    Pipeline p;
    p.add(Query::react_summary,
          Params()
              .add(rids.take())
              .add(seqs.take())
              .add(viewer_)
              .add(static_cast<std::int64_t>(std::clamp<std::size_t>(list_, 1, 1u << 20))));
    auto o = c.run(p, deadline);
    if (!c.connected()) return false;
    if (!o.ok()) {
      answer(o.status());
      return true;
    }
    if (o->error) {
      answer(server_error(*o->error));
      return true;
    }
    const Rows r = o->rows(0);
    for (int i = 0; i < r.size(); ++i) {
      auto& mr = found[{r.int64(i, 0), r.int64(i, 1)}];
      std::string emoji = r.text(i, 2);
      if (mr.reactions.empty() || mr.reactions.back().emoji != emoji)
        mr.reactions.push_back(ReactionCount{std::move(emoji), r.int64(i, 4), false, {}});
      ReactionCount& rc = mr.reactions.back();
      std::string user = r.text(i, 3);
      if (!viewer_.empty() && user == viewer_) rc.me = true;
      if (static_cast<std::size_t>(r.int64(i, 5)) <= list_) rc.users.push_back(std::move(user));
    }
    for (const auto& id : ids_) {
      const auto key = parse_message_id(id);
      if (!key) continue;
      auto it = found.find({key->rid, key->seq});
      if (it == found.end() || it->second.reactions.empty()) continue;
      out.push_back(std::move(it->second));
      found.erase(it);
    }
    answer(std::move(out));
    return true;
  }

 private:
  std::vector<std::string> ids_;
  std::string viewer_;
  std::size_t list_;
};

}  // namespace

std::unique_ptr<WriteOp> add_reaction_op(std::string id, std::string user, std::string emoji,
                                         std::size_t max_emojis, Completion<bool> done) {
  return std::make_unique<AddReaction>(std::move(id), std::move(user), std::move(emoji), max_emojis,
                                       std::move(done));
}
std::unique_ptr<WriteOp> remove_reaction_op(std::string id, std::string user, std::string emoji,
                                            Completion<bool> done) {
  return std::make_unique<RemoveReaction>(std::move(id), std::move(user), std::move(emoji), std::move(done));
}
std::unique_ptr<ReadOp> reactions_op(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
                                     Completion<std::vector<MessageReactions>> done) {
  return std::make_unique<Summary>(std::move(ids), std::move(viewer), list_users, std::move(done));
}

}  // namespace realtime::pg
