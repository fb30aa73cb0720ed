// The room-scoped full-text index of the SQLite store (schema version 2).
// Every word of a message is indexed as one FTS5 token that starts with
// its room's key ("c123" for room row id 123: a letter giving the number
// of digits, then the digits), so the prefix term of a search names only
// tokens of that room and FTS5 reads only that room's part of the index.
// Pure functions plus an SQL function for the migration; called on the
// writer thread (index upkeep, open) and the search thread (queries).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/sqlite/db.h"

namespace realtime::sqlite {

// A word is a run of ASCII letters and digits or non-ASCII bytes: the rule
// of store.h's search contract, and how FTS5's ascii tokenizer splits text.
bool is_word_byte(unsigned char c);

// The room's key: prefix-free (its first letter fixes its length), so no
// token of one room starts with another room's key.
std::string room_key(std::int64_t rid);

// What the index stores for a message of room `rid`: each word of `text`
// behind the room's key, separated by spaces. Empty when `text` has no word.
std::string search_terms(std::int64_t rid, std::string_view text);

// The FTS5 MATCH expression for a user's query in room `rid`: each word
// as a quoted prefix term behind the room's key, so FTS syntax in the
// input is never interpreted. Empty when the query has no word.
std::string search_match(std::int64_t rid, std::string_view query);

// Registers chat_search_terms(rid, text) (= search_terms) on `db`, for the
// migration that rebuilds the index in SQL. Direct-only: a schema or
// trigger in a foreign file cannot call it.
Status register_search_functions(Db& db);

}  // namespace realtime::sqlite
