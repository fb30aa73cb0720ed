// The words of message search, internal to librealtime: store.h defines a
// word as a run of ASCII letters and digits or non-ASCII bytes, compared
// without ASCII case. Stores that match in memory (memory) or build an
// index outside the database (PostgreSQL) split text with this one rule,
// so every backend finds the same messages. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace realtime::detail {

// True for the bytes a word is made of.
inline bool is_search_word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

// The words of `text` in order, ASCII letters lower-cased, repeats kept.
std::vector<std::string> search_words(std::string_view text);

}  // namespace realtime::detail
