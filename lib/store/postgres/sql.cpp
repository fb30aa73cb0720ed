// The SQL of every statement of the PostgreSQL store (see sql.h).
//
// Conventions that the statements rely on:
// - Refusals (unknown room, taken id, not a member...) never raise an
//   error: a statement reports them in its rows and writes nothing. A
//   server error therefore means a real failure, and the writer can retry
//   or fail a whole batch (see writer.cpp) without guessing.
// - Times are integer milliseconds since the epoch, enums small integers,
//   message ids "m<rid>.<seq>" (ids.h).
// - `words` is the search index's input: the message's words, quoted as
//   tsvector lexemes, plus the lexeme '#<rid>' that scopes a search to its
//   room inside the GIN index (words.h).
#include "store/postgres/sql.h"

#include <array>

namespace realtime::pg {
namespace {

#define MESSAGE_COLS REALTIME_PG_MESSAGE_COLS
// MESSAGE_COLS by name, for a subquery that selected them.
#define MESSAGE_NAMES                                                                                   \
  "rid, seq, sender_id, sender_name, sender_role, type, text, reply_seq, att_url, att_name, att_size, " \
  "att_mime, client_msg_id, created_at, edited_at, deleted"
// MESSAGE_COLS' types, all NULL.
#define MESSAGE_NULLS                                                                                       \
  "NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::smallint, NULL::text, NULL::bigint, " \
  "NULL::text, NULL::text, NULL::bigint, NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::boolean"
#define ROOM_COLS REALTIME_PG_ROOM_COLS

// The words of a message (quoted lexemes in $n) plus its room's lexeme;
// NULL when it has no words, so that it has no index entries at all.
#define WORDS_OF(words, rid) \
  "CASE WHEN " words " = '' THEN NULL ELSE (" words " || ' ''#' || " rid " || '''')::tsvector END"

// How many messages after a user's read pointer are unread for them:
// not theirs, not deleted. $user is the user id parameter.
#define UNREAD_OF(rid, user)                                                                       \
  "(SELECT count(*) FROM messages u WHERE u.rid = " rid " AND u.seq > coalesce((SELECT seq FROM " \
  "reads WHERE rid = " rid " AND user_id = " user "), 0) AND u.sender_id <> " user " AND NOT u.deleted)"

#include "store/postgres/attachment_sql.inc"
#include "store/postgres/moderation_sql.inc"

constexpr std::array<const char*, kQueryCount> kText = {
    // begin
    "BEGIN",
    // begin_snapshot
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    // commit
    "COMMIT",
    // rollback
    "ROLLBACK",
    // probe
    "SELECT 1",
    // lock_rooms: the batch takes every room it writes to before anything
    // else, in one order, so that two processes' batches never deadlock on
    // rooms and every later statement of the batch reads the rooms' last
    // seq after the lock (read committed takes a new snapshot per
    // statement).
    "SELECT rid FROM rooms WHERE id = ANY($1::text[]) ORDER BY rid FOR NO KEY UPDATE",
    // append: a segment of appends, in call order, as parallel arrays (an
    // empty array stands for all NULLs: unnest pads it). Verdicts: 0
    // stored, 1 no such room, 2 duplicate clientMsgId in the same room, 3
    // clientMsgId used in another room, 4 bad replyTo. Stored messages take
    // the room's next seqs in input order, and the room's counter moves
    // by as many. A duplicate's row carries the stored message. Rows come
    // in no particular order (ord says whose they are): sorting and
    // joining 4096 rows back into input order cost more than the insert.
    "WITH input AS ("
    "  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::text[],"
    "                       $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::bigint[], $12::text[],"
    "                       $13::text[], $14::bigint[], $15::text[])"
    "    WITH ORDINALITY AS t(room, sender, name, role, type, text, reply_rid, reply_seq,"
    "                         att_url, att_name, att_size, att_mime, cmid, created, words, ord)"
    // Each room once, not once per message; locked in rid order, which
    // also reads its newest last_seq (read committed re-reads a row it
    // waited for): a batch of one segment needs no lock_rooms before it.
    "), room AS MATERIALIZED ("
    "  SELECT r.id, r.rid, r.last_seq FROM rooms r WHERE r.id IN (SELECT u.room FROM unnest($1::text[]) u(room))"
    "  ORDER BY r.rid FOR NO KEY UPDATE"
    "), judged AS ("
    "  SELECT i.*, r.rid, r.last_seq, p.rid AS prior_rid, p.seq AS prior_seq,"
    "    CASE WHEN r.rid IS NULL THEN 1"
    "         WHEN p.rid = r.rid THEN 2"
    "         WHEN p.rid IS NOT NULL THEN 3"
    "         WHEN i.reply_seq IS NOT NULL AND (i.reply_rid IS DISTINCT FROM r.rid"
    "              OR i.reply_seq < 1 OR i.reply_seq > r.last_seq) THEN 4"
    "         ELSE 0 END AS verdict"
    "  FROM input i LEFT JOIN room r ON r.id = i.room"
    "  LEFT JOIN LATERAL (SELECT rid, seq FROM messages WHERE i.cmid IS NOT NULL"
    "                     AND sender_id = i.sender AND client_msg_id = i.cmid LIMIT 1) p ON true"
    "), numbered AS ("
    "  SELECT j.*, j.last_seq + row_number() OVER (PARTITION BY j.rid ORDER BY j.ord) AS new_seq"
    "  FROM judged j WHERE j.verdict = 0"
    "), bump AS ("
    "  UPDATE rooms r SET last_seq = n.top"
    "  FROM (SELECT rid, max(new_seq) AS top FROM numbered GROUP BY rid) n WHERE r.rid = n.rid"
    "), ins AS ("
    "  INSERT INTO messages(rid, seq, sender_id, sender_name, sender_role, type, text, reply_seq,"
    "                       att_url, att_name, att_size, att_mime, client_msg_id, created_at, words)"
    "  SELECT rid, new_seq, sender, name, role, type, text, reply_seq, att_url, att_name, att_size,"
    "         att_mime, cmid, created, " WORDS_OF("words", "rid") " FROM numbered"
    ")"
    " SELECT n.ord, 0, n.rid, n.new_seq, " MESSAGE_NULLS " FROM numbered n"
    " UNION ALL"
    " SELECT j.ord, j.verdict, j.rid, 0, d.* FROM judged j"
    " LEFT JOIN LATERAL (SELECT " MESSAGE_COLS " FROM messages m"
    "                    WHERE j.verdict = 2 AND m.rid = j.prior_rid AND m.seq = j.prior_seq) d ON true"
    " WHERE j.verdict <> 0",
    // create_room: nothing at all when the id is taken (no rows back).
    // Duplicate members keep the first role; pos is the input position.
    "WITH room AS ("
    "  INSERT INTO rooms(id, kind, title, status, created_by, created_at, started_at, ended_at, join_secret,"
    "                    join_expires_at)"
    "  VALUES ($1, $2::smallint, $3, $4::smallint, $5, $6::bigint, $7::bigint, $8::bigint, $9, $12::bigint)"
    "  ON CONFLICT (id) DO NOTHING RETURNING rid"
    "), mem AS ("
    "  INSERT INTO members(rid, user_id, role, pos)"
    "  SELECT room.rid, t.user_id, t.role, t.pos - 1"
    "  FROM room, unnest($10::text[], $11::text[]) WITH ORDINALITY AS t(user_id, role, pos)"
    "  ORDER BY t.pos ON CONFLICT DO NOTHING RETURNING user_id"
    "), rd AS ("
    "  INSERT INTO reads(rid, user_id, seq) SELECT room.rid, mem.user_id, 0 FROM room, mem"
    ") SELECT rid FROM room",
    // load_room
    "SELECT " ROOM_COLS " FROM rooms r LEFT JOIN members mb ON mb.rid = r.rid"
    " WHERE r.id = $1 ORDER BY mb.pos, mb.user_id",
    // add_member: (room found, member added). The read pointer starts at
    // the room's last seq, replacing one a non-member's read left.
    "WITH r AS (SELECT rid, last_seq FROM rooms WHERE id = $1), ins AS ("
    "  INSERT INTO members(rid, user_id, role, pos)"
    "  SELECT r.rid, $2, $3, coalesce((SELECT max(pos) + 1 FROM members WHERE rid = r.rid), 0) FROM r"
    "  ON CONFLICT DO NOTHING RETURNING rid"
    "), rd AS ("
    "  INSERT INTO reads(rid, user_id, seq) SELECT r.rid, $2, r.last_seq FROM r, ins"
    "  ON CONFLICT (rid, user_id) DO UPDATE SET seq = EXCLUDED.seq"
    ") SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM ins)",
    // remove_member: (room found, member removed)
    "WITH r AS (SELECT rid FROM rooms WHERE id = $1), del AS ("
    "  DELETE FROM members m USING r WHERE m.rid = r.rid AND m.user_id = $2 RETURNING m.rid"
    "), rd AS ("
    "  DELETE FROM reads d USING del WHERE d.rid = del.rid AND d.user_id = $2"
    ") SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM del)",
    // update_session: no row for an unknown room
    "UPDATE rooms SET status = $2::smallint, started_at = $3::bigint, ended_at = $4::bigint"
    " WHERE id = $1 RETURNING rid",
    // set_join_secret: no row for an unknown room
    "UPDATE rooms SET join_secret = $2, join_expires_at = $3::bigint WHERE id = $1 RETURNING rid",
    // mark_read: (last seq or NULL for no room, current pointer, new
    // pointer when it moved). Never moves a pointer back, even past a
    // concurrent move.
    "WITH r AS (SELECT rid, last_seq FROM rooms WHERE id = $1),"
    " cur AS (SELECT d.seq FROM reads d, r WHERE d.rid = r.rid AND d.user_id = $2), up AS ("
    "  INSERT INTO reads(rid, user_id, seq) SELECT r.rid, $2, $3::bigint FROM r"
    "  WHERE $3::bigint BETWEEN 0 AND r.last_seq AND $3::bigint > coalesce((SELECT seq FROM cur), 0)"
    "  ON CONFLICT (rid, user_id) DO UPDATE SET seq = greatest(reads.seq, EXCLUDED.seq) RETURNING seq"
    ") SELECT (SELECT last_seq FROM r), (SELECT seq FROM cur), (SELECT seq FROM up)",
    // set_last_seen: no row for an unknown room
    "INSERT INTO last_seen(rid, user_id, at) SELECT rid, $2, $3::bigint FROM rooms WHERE id = $1"
    " ON CONFLICT (rid, user_id) DO UPDATE SET at = GREATEST(last_seen.at, EXCLUDED.at) RETURNING 1",
    // edit_message: the edited message and its room id; no row when it
    // does not exist or is deleted
    "UPDATE messages m SET text = $3, edited_at = $4::bigint, words = " WORDS_OF("$5::text", "m.rid")
    " WHERE m.rid = $1::bigint AND m.seq = $2::bigint AND NOT m.deleted"
    " RETURNING " MESSAGE_COLS ", (SELECT id FROM rooms WHERE rid = m.rid)",
    // delete_message: load_message follows it in the same transaction
    "UPDATE messages SET text = '', att_url = NULL, att_name = NULL, att_size = NULL, att_mime = NULL,"
    " deleted = true, words = NULL WHERE rid = $1::bigint AND seq = $2::bigint AND NOT deleted",
    // load_message
    "SELECT " MESSAGE_COLS ", r.id FROM messages m JOIN rooms r ON r.rid = m.rid"
    " WHERE m.rid = $1::bigint AND m.seq = $2::bigint",
    // room_exists
    "SELECT rid FROM rooms WHERE id = $1",
    // find_direct_room: the newest direct room of exactly these two
    "SELECT " ROOM_COLS " FROM rooms r LEFT JOIN members mb ON mb.rid = r.rid WHERE r.rid = ("
    "  SELECT r2.rid FROM members ma JOIN rooms r2 ON r2.rid = ma.rid"
    "  WHERE ma.user_id = $1 AND r2.kind = $3::smallint"
    "  AND EXISTS (SELECT 1 FROM members m2 WHERE m2.rid = r2.rid AND m2.user_id = $2)"
    "  AND (SELECT count(*) FROM members m3 WHERE m3.rid = r2.rid) = 2"
    "  ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1"
    ") ORDER BY mb.pos, mb.user_id",
    // list_rooms: room columns (members come from list_members), the
    // newest message (deleted or not) and the user's unread count
    "SELECT r.rid, r.id, r.kind, r.title, r.status, r.created_by, r.created_at, r.started_at,"
    " r.ended_at, r.join_secret, r.join_expires_at, lm.*, " UNREAD_OF("r.rid", "$1") " FROM members me"
    " JOIN rooms r ON r.rid = me.rid"
    " LEFT JOIN LATERAL (SELECT " MESSAGE_COLS " FROM messages m WHERE m.rid = r.rid"
    "                    ORDER BY m.seq DESC LIMIT 1) lm ON true"
    " WHERE me.user_id = $1",
    // list_members
    "SELECT mm.rid, mm.user_id, mm.role FROM members me JOIN members mm ON mm.rid = me.rid"
    " WHERE me.user_id = $1 ORDER BY mm.rid, mm.pos, mm.user_id",
    // history_before: one row of NULLs for an existing room without any
    // message in the window, none for an unknown room
    "SELECT m.* FROM rooms r LEFT JOIN LATERAL (SELECT " MESSAGE_COLS " FROM messages m"
    " WHERE m.rid = r.rid AND m.seq > $2::bigint AND m.seq < $3::bigint"
    " ORDER BY m.seq DESC LIMIT $4::bigint) m ON true WHERE r.id = $1",
    // history_after
    "SELECT m.* FROM rooms r LEFT JOIN LATERAL (SELECT " MESSAGE_COLS " FROM messages m"
    " WHERE m.rid = r.rid AND m.seq > $2::bigint AND m.seq < $3::bigint"
    " ORDER BY m.seq LIMIT $4::bigint) m ON true WHERE r.id = $1",
    // search: $2 is the user's words as prefix terms, joined to the
    // room's lexeme so that the GIN index lookup stays inside the room.
    // The planner cannot tell a rare word from a common one (it estimates
    // every prefix query alike) and would walk the room's messages newest
    // first, filtering: instant for a common word, the whole room for a
    // rare one. So the search looks at the newest 1000 messages first and
    // asks the index for older matches only when those did not fill the
    // page (`+ 0` on rid and seq, and OFFSET 0, leave the planner no other
    // index to turn that lookup back into a walk with). Rows only;
    // room_exists says whether the room exists.
    "WITH r AS MATERIALIZED ("
    "  SELECT rid, ($2::text || ' & ''#' || rid || '''')::tsquery AS q FROM rooms WHERE id = $1"
    "), recent AS MATERIALIZED ("
    "  SELECT m.* FROM r, LATERAL (SELECT " MESSAGE_COLS ", m.words FROM messages m WHERE m.rid = r.rid"
    "                              ORDER BY m.seq DESC LIMIT 1000) m"
    "), hits AS MATERIALIZED ("
    "  SELECT h.* FROM recent h, r WHERE h.words @@ r.q AND NOT h.deleted"
    "), older AS ("
    "  SELECT o.* FROM (SELECT " MESSAGE_COLS ", m.words FROM r, messages m"
    "                   WHERE m.words @@ r.q AND m.rid + 0 = r.rid AND NOT m.deleted"
    "                   AND m.seq + 0 < (SELECT coalesce(min(seq), 9223372036854775807) FROM recent) OFFSET 0) o"
    "  WHERE (SELECT count(*) FROM hits) < $3::bigint"
    ") SELECT " MESSAGE_NAMES " FROM (SELECT * FROM hits UNION ALL SELECT * FROM older) s"
    " ORDER BY seq DESC LIMIT $3::bigint",
    // read_state_head
    "SELECT r.last_seq, " UNREAD_OF("r.rid", "$2") " FROM rooms r WHERE r.id = $1",
    // read_state_reads: members only
    "SELECT rd.user_id, rd.seq FROM rooms r JOIN reads rd ON rd.rid = r.rid"
    " JOIN members mb ON mb.rid = rd.rid AND mb.user_id = rd.user_id WHERE r.id = $1 ORDER BY rd.user_id",
    // read_state_seen
    "SELECT ls.user_id, ls.at FROM rooms r JOIN last_seen ls ON ls.rid = r.rid"
    " WHERE r.id = $1 ORDER BY ls.user_id",
    // clean_index
    "SELECT gin_clean_pending_list('messages_words'::regclass)",
    ATTACHMENT_QUERIES
    // react_lock: $1 rid, $2 seq; no row for an unknown message
    "SELECT deleted FROM messages WHERE rid = $1::bigint AND seq = $2::bigint FOR NO KEY UPDATE",
    // react_add: $3 emoji, $4 user, $5 the distinct-emoji limit. A new
    // statement after react_lock: it sees what the lock waited for.
    "WITH m AS (SELECT deleted FROM messages WHERE rid = $1::bigint AND seq = $2::bigint),"
    " have AS (SELECT count(DISTINCT emoji) AS n, coalesce(bool_or(emoji = $3), false) AS known FROM reactions"
    "          WHERE rid = $1::bigint AND seq = $2::bigint),"
    " ins AS (INSERT INTO reactions(rid, seq, emoji, user_id) SELECT $1::bigint, $2::bigint, $3, $4 FROM m, have"
    "         WHERE NOT m.deleted AND (have.known OR have.n < $5::bigint) ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT (SELECT n FROM have), (SELECT known FROM have), (SELECT count(*) FROM ins)",
    // react_remove: whether the message exists, and whether a row went
    "WITH del AS (DELETE FROM reactions WHERE rid = $1::bigint AND seq = $2::bigint AND emoji = $3 AND user_id = $4"
    "             RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM messages WHERE rid = $1::bigint AND seq = $2::bigint), (SELECT count(*) FROM del)",
    // react_summary: $1 rids, $2 seqs, $3 viewer, $4 reactors listed (at
    // least 1, so every emoji has a row); emojis by first reaction
    "SELECT rid, seq, emoji, user_id, n, k FROM ("
    "  SELECT r.rid, r.seq, r.emoji, r.user_id, count(*) OVER w AS n, min(r.ord) OVER w AS first,"
    "    row_number() OVER (PARTITION BY r.rid, r.seq, r.emoji ORDER BY r.ord) AS k"
    "  FROM reactions r JOIN unnest($1::bigint[], $2::bigint[]) AS q(rid, seq) ON r.rid = q.rid AND r.seq = q.seq"
    "  WINDOW w AS (PARTITION BY r.rid, r.seq, r.emoji)) x"
    " WHERE k <= $4::bigint OR user_id = $3 ORDER BY rid, seq, first, k",
    MODERATION_QUERIES
};

constexpr std::array<const char*, kQueryCount> kNames = {
    "rt0",  "rt1",  "rt2",  "rt3",  "rt4",  "rt5",  "rt6",  "rt7",  "rt8",  "rt9",  "rt10", "rt11", "rt12", "rt13",
    "rt14", "rt15", "rt16", "rt17", "rt18", "rt19", "rt20", "rt21", "rt22", "rt23", "rt24", "rt25", "rt26", "rt27",
    "rt28", "rt29", "rt30", "rt31", "rt32", "rt33", "rt34", "rt35", "rt36", "rt37", "rt38", "rt39", "rt40", "rt41",
    "rt42", "rt43", "rt44", "rt45", "rt46", "rt47", "rt48", "rt49", "rt50", "rt51", "rt52",
};

// A statement added to Query without its text here would be a null entry.
static_assert(kText.back() != nullptr && kNames.back() != nullptr, "one text and one name per Query");

}  // namespace

const char* query_text(Query q) { return kText[static_cast<std::size_t>(q)]; }
const char* query_name(Query q) { return kNames[static_cast<std::size_t>(q)]; }

}  // namespace realtime::pg
