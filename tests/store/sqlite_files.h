// SQLite files as another program sees them, for the SQLite store's tests
// and store_search_bench: the version-1 schema exactly as it shipped (a file
// in the field that the migrations must carry over), and SQL run on a file
// directly. Any thread; each call opens its own connection.
#pragma once

#include <sqlite3.h>

#include <string>

namespace realtime::testing {

inline constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE rooms(rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL,
  title TEXT NOT NULL, status INTEGER NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
  started_at INTEGER, ended_at INTEGER, join_secret TEXT NOT NULL);
CREATE TABLE members(rid INTEGER NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, pos INTEGER NOT NULL,
  PRIMARY KEY(rid, user_id)) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, rid);
CREATE TABLE reads(rid INTEGER NOT NULL, user_id TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY(rid, user_id)) WITHOUT ROWID;
CREATE TABLE last_seen(rid INTEGER NOT NULL, user_id TEXT NOT NULL, at INTEGER NOT NULL,
  PRIMARY KEY(rid, user_id)) WITHOUT ROWID;
CREATE TABLE messages(mid INTEGER PRIMARY KEY, rid INTEGER NOT NULL, seq INTEGER NOT NULL,
  sender_id TEXT NOT NULL, sender_name TEXT NOT NULL, sender_role TEXT NOT NULL, type INTEGER NOT NULL,
  text TEXT NOT NULL, reply_to INTEGER, att_url TEXT, att_name TEXT, att_size INTEGER, att_mime TEXT,
  client_msg_id TEXT, created_at INTEGER NOT NULL, edited_at INTEGER, deleted INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX messages_by_seq ON messages(rid, seq);
CREATE UNIQUE INDEX messages_by_client_id ON messages(sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='mid',
  tokenize='ascii', detail='none');
)sql";

// Runs SQL on the file at `path` and returns every value of every row
// joined ("NULL" for a null), "open failed", or "error: <message>".
inline std::string raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    out = "open failed";
  } else {
    char* err = nullptr;
    auto collect = [](void* acc, int n, char** vals, char**) {
      for (int i = 0; i < n; ++i) *static_cast<std::string*>(acc) += vals[i] ? vals[i] : "NULL";
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), collect, &out, &err) != SQLITE_OK) out = std::string("error: ") + err;
    sqlite3_free(err);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace realtime::testing
