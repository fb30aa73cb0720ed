// How the PostgreSQL store maps its values to SQL and back: message ids,
// times, the search index's words, rows to Room and Message, and which
// strings PostgreSQL can store at all. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "realtime/message.h"
#include "realtime/room.h"
#include "realtime/status.h"
#include "store/postgres/conn.h"

namespace realtime::pg {

// A message is identified by its room's row id and its seq: the id is
// "m<rid>.<seq>", unique for the life of the database (rooms and messages
// are never removed) and needs no index of its own.
struct MessageKey {
  std::int64_t rid = 0;
  std::int64_t seq = 0;
};
std::string message_id(std::int64_t rid, std::int64_t seq);
// nullopt for anything that is not exactly such an id (no leading zeros,
// so one message has one id).
std::optional<MessageKey> parse_message_id(std::string_view id);

std::int64_t to_millis(Timestamp t);
Timestamp from_millis(std::int64_t ms);

// The words of a message as tsvector text: each distinct word (search
// contract: ASCII letters and digits or non-ASCII bytes, ASCII
// lower-cased) as a quoted lexeme. Words longer than PostgreSQL's lexeme
// limit keep their first kMaxWordBytes (cut at a character boundary), and
// distinct words past kMaxWordsBytes in all are left out: the rest of an
// enormous message stays searchable instead of the message failing.
inline constexpr std::size_t kMaxWordBytes = 2000;
inline constexpr std::size_t kMaxWordsBytes = 900'000;
std::string tsvector_words(std::string_view text);
// The tsquery text for a search: every word as a quoted prefix term, all
// required ('w1':* & 'w2':*); "" when the query has no word.
std::string tsquery_words(std::string_view query);

// Ids and other indexed strings longer than this are refused: a btree
// entry must fit a third of a page.
inline constexpr std::size_t kMaxKeyBytes = 1024;
// `bad_request` naming `field` unless PostgreSQL can store `s` in a text
// column: valid UTF-8 without NUL (and at most kMaxKeyBytes for a key).
Status storable(std::string_view field, std::string_view s);
Status storable_key(std::string_view field, std::string_view s);

// A message from columns [col, col + kMessageCols) of a row.
Message read_message(const Rows& r, int row, int col, std::string room);
// A room from the rows of load_room / find_direct_room (one per member,
// member columns NULL for a room without members); nullopt for no rows.
std::optional<Room> read_room(const Rows& r);

}  // namespace realtime::pg
