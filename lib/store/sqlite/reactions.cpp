// Reactions of the SQLite store (see reactions.h).
#include "store/sqlite/reactions.h"

#include <algorithm>
#include <map>

#include "store/sqlite/rows.h"

namespace realtime::sqlite {
namespace {

Status no_message(const std::string& id) { return Status::not_found("no message " + id); }

// Whether message `mid` exists and whether it is deleted.
Result<std::optional<bool>> deleted_flag(Db& db, std::int64_t mid) {
  Stmt s = db.prepare("SELECT deleted FROM messages WHERE mid = ?1");
  s.bind(1, mid);
  if (s.step()) return std::optional<bool>(s.int64(0) != 0);
  if (!s.status().ok()) return s.status();
  return std::optional<bool>();
}

}  // namespace

Result<bool> write_add_reaction(Db& db, const std::string& id, const std::string& user,
                                const std::string& emoji, std::size_t max_emojis) {
  const auto mid = parse_message_id(id);
  if (!mid) return no_message(id);
  auto deleted = deleted_flag(db, *mid);
  if (!deleted.ok()) return deleted.status();
  if (!*deleted || **deleted) return no_message(id);
  // The writer thread is the only writer: the count and the insert below
  // are one step for every other call.
  Stmt known = db.prepare("SELECT 1 FROM reactions WHERE mid = ?1 AND emoji = ?2 LIMIT 1");
  known.bind(1, *mid).bind(2, emoji);
  const bool emoji_there = known.step();
  if (!known.status().ok()) return known.status();
  if (!emoji_there) {
    Stmt n = db.prepare("SELECT count(DISTINCT emoji) FROM reactions WHERE mid = ?1");
    n.bind(1, *mid);
    if (!n.step()) return n.status();
    if (static_cast<std::size_t>(n.int64(0)) >= max_emojis)
      return Status::conflict("message " + id + " has " + std::to_string(max_emojis) +
                              " different reactions already");
  }
  Stmt ins = db.prepare("INSERT OR IGNORE INTO reactions(mid, emoji, user_id) VALUES(?1, ?2, ?3)");
  ins.bind(1, *mid).bind(2, emoji).bind(3, user);
  if (Status s = ins.run(); !s.ok()) return s;
  return db.changes() == 1;
}

Result<bool> write_remove_reaction(Db& db, const std::string& id, const std::string& user,
                                   const std::string& emoji) {
  const auto mid = parse_message_id(id);
  if (!mid) return no_message(id);
  auto deleted = deleted_flag(db, *mid);
  if (!deleted.ok()) return deleted.status();
  if (!*deleted) return no_message(id);
  Stmt del = db.prepare("DELETE FROM reactions WHERE mid = ?1 AND emoji = ?2 AND user_id = ?3");
  del.bind(1, *mid).bind(2, emoji).bind(3, user);
  if (Status s = del.run(); !s.ok()) return s;
  return db.changes() == 1;
}

Result<std::vector<MessageReactions>> read_reactions(Db& db, const std::vector<std::string>& ids,
                                                     const std::string& viewer, std::size_t list_users) {
  // One query for the whole page: per (message, emoji) its count and its
  // first reactors by row id (at least one row, so that every emoji
  // shows), plus the viewer's own rows for `me`.
  std::string mids = "[";
  std::map<std::int64_t, MessageReactions> found;
  for (const auto& id : ids) {
    const auto mid = parse_message_id(id);
    if (!mid || found.contains(*mid)) continue;
    if (mids.size() > 1) mids += ',';
    mids += std::to_string(*mid);
    found[*mid].message_id = id;
  }
  mids += ']';
  std::vector<MessageReactions> out;
  if (found.empty()) return out;
  Stmt s = db.prepare(
      "SELECT mid, emoji, user_id, n, k FROM ("
      "  SELECT mid, emoji, user_id, count(*) OVER w AS n, min(id) OVER w AS first,"
      "    row_number() OVER (PARTITION BY mid, emoji ORDER BY id) AS k"
      "  FROM reactions WHERE mid IN (SELECT value FROM json_each(?1))"
      "  WINDOW w AS (PARTITION BY mid, emoji))"
      " WHERE k <= ?2 OR user_id = ?3 ORDER BY mid, first, k");
  s.bind(1, mids).bind(2, static_cast<std::int64_t>(std::max<std::size_t>(list_users, 1))).bind(3, viewer);
  while (s.step()) {
    auto& mr = found[s.int64(0)];
    std::string emoji = s.text(1);
    if (mr.reactions.empty() || mr.reactions.back().emoji != emoji)
      mr.reactions.push_back(ReactionCount{std::move(emoji), s.int64(3), false, {}});
    ReactionCount& c = mr.reactions.back();
    std::string user = s.text(2);
    if (!viewer.empty() && user == viewer) c.me = true;
    if (static_cast<std::size_t>(s.int64(4)) <= list_users) c.users.push_back(std::move(user));
  }
  if (!s.status().ok()) return s.status();
  for (const auto& id : ids) {
    const auto mid = parse_message_id(id);
    if (!mid) continue;
    auto it = found.find(*mid);
    if (it == found.end() || it->second.reactions.empty() || it->second.message_id != id) continue;
    out.push_back(std::move(it->second));
    found.erase(it);
  }
  return out;
}

}  // namespace realtime::sqlite
