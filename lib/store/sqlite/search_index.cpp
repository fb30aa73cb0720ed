// The room-scoped search index's token format (see search_index.h).
// Called on the writer thread and the search thread; no shared state.
#include "store/sqlite/search_index.h"

#include <string>

namespace realtime::sqlite {
namespace {

// Appends `key` + word for every word of `text`; `quote` wraps each as an
// FTS5 prefix term ("..."*) instead of separating them with spaces.
std::string keyed_words(std::int64_t rid, std::string_view text, bool quote) {
  const std::string key = room_key(rid);
  std::string out;
  bool in_word = false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      if (!in_word) {
        if (!out.empty()) out.push_back(' ');
        if (quote) out.push_back('"');
        out += key;
      }
      out.push_back(ch);
      in_word = true;
    } else if (in_word) {
      if (quote) out += "\"*";
      in_word = false;
    }
  }
  if (in_word && quote) out += "\"*";
  return out;
}

void terms_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[1]));
  const std::string terms = search_terms(
      sqlite3_value_int64(argv[0]),
      text == nullptr ? std::string_view()
                      : std::string_view(text, static_cast<std::size_t>(sqlite3_value_bytes(argv[1]))));
  sqlite3_result_text64(ctx, terms.data(), terms.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

bool is_word_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

std::string room_key(std::int64_t rid) {
  const std::string digits = std::to_string(rid);
  std::string key(1, static_cast<char>('a' + digits.size() - 1));
  return key.append(digits);
}

std::string search_terms(std::int64_t rid, std::string_view text) { return keyed_words(rid, text, false); }

std::string search_match(std::int64_t rid, std::string_view query) { return keyed_words(rid, query, true); }

Status register_search_functions(Db& db) {
  const int rc = sqlite3_create_function_v2(db.handle(), "chat_search_terms", 2,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, nullptr,
                                            terms_function, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status{} : db.error("cannot register chat_search_terms");
}

}  // namespace realtime::sqlite
