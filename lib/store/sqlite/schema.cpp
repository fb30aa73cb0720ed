// Schema, migrations and connection setup of the SQLite store (see
// schema.h). Runs on the thread calling open_sqlite_store(), or on the
// writer thread reopening the file after a fault.
#include "store/sqlite/schema.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

#include "store/sqlite/search_index.h"

namespace realtime::sqlite {
namespace {

// migrations[i] takes a database from user_version i to i + 1. Append,
// never edit: files in the field are at every earlier version.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE rooms(
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind INTEGER NOT NULL,
  title TEXT NOT NULL,
  status INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER,
  join_secret TEXT NOT NULL
);
CREATE TABLE members(
  rid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  role TEXT NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY(rid, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, rid);
CREATE TABLE reads(
  rid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(rid, user_id)
) WITHOUT ROWID;
CREATE TABLE last_seen(
  rid INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(rid, user_id)
) WITHOUT ROWID;
CREATE TABLE messages(
  mid INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  sender_id TEXT NOT NULL,
  sender_name TEXT NOT NULL,
  sender_role TEXT NOT NULL,
  type INTEGER NOT NULL,
  text TEXT NOT NULL,
  reply_to INTEGER,
  att_url TEXT,
  att_name TEXT,
  att_size INTEGER,
  att_mime TEXT,
  client_msg_id TEXT,
  created_at INTEGER NOT NULL,
  edited_at INTEGER,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_by_seq ON messages(rid, seq);
CREATE UNIQUE INDEX messages_by_client_id ON messages(sender_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
-- The ascii tokenizer splits words exactly as store.h's search contract
-- and the memory store do (ASCII letters and digits, any non-ASCII byte),
-- folding ASCII case only; each query term is then one token, so the
-- index needs no positions (detail=none: about half the insert cost).
CREATE VIRTUAL TABLE messages_fts USING fts5(
  text, content='messages', content_rowid='mid',
  tokenize='ascii', detail='none');
)sql",
    // 1 -> 2: session join tokens expire. NULL for rooms made before: the
    // chat service counts their lifetime from created_at.
    R"sql(
ALTER TABLE rooms ADD COLUMN join_expires_at INTEGER;
)sql",
    // 2 -> 3: room-scoped search. Version 1 indexed the text alone, so a
    // search read every room's matches before filtering by room. Now each
    // word is indexed behind its room's key (search_index.h); the index is
    // contentless (it stores tokens, not text: the text is in messages)
    // and keeps no column sizes (nothing ranks). Rebuilt from messages.
    R"sql(
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
  terms, content='', columnsize=0, tokenize='ascii', detail='none');
INSERT INTO messages_fts(rowid, terms)
  SELECT mid, terms FROM (SELECT mid, chat_search_terms(rid, text) AS terms FROM messages WHERE deleted = 0)
  WHERE terms != '';
)sql",
    // 3 -> 4: emoji reactions (reaction_store.h). The row id orders a
    // message's emojis by when they were first added.
    R"sql(
CREATE TABLE reactions(
  id INTEGER PRIMARY KEY,
  mid INTEGER NOT NULL,
  emoji TEXT NOT NULL,
  user_id TEXT NOT NULL
);
CREATE UNIQUE INDEX reactions_by_message ON reactions(mid, emoji, user_id);
)sql",
    // 4 -> 5: moderation (moderation_store.h): mutes and slow mode per
    // room, the rooms' audit logs, server-wide bans. Keyed by room id.
    R"sql(
CREATE TABLE mutes(
  room TEXT NOT NULL,
  user_id TEXT NOT NULL,
  until INTEGER NOT NULL,
  PRIMARY KEY(room, user_id)
) WITHOUT ROWID;
CREATE TABLE slow_modes(
  room TEXT PRIMARY KEY,
  seconds INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE audit(
  id INTEGER PRIMARY KEY,
  room TEXT NOT NULL,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_by_room ON audit(room, id);
CREATE TABLE bans(
  user_id TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  by_whom TEXT NOT NULL,
  at INTEGER NOT NULL,
  until INTEGER
) WITHOUT ROWID;
)sql",
};

Status with_path(const Status& s, const std::string& path) {
  return Status::internal(fmt::format("cannot open {}: {}", path, s.message()));
}

// The connection's last error, worded for whoever has to fix the file.
Status open_error(const Db& db, const std::string& path) {
  const int code = sqlite3_extended_errcode(db.handle());
  std::string hint;
  if ((code & 0xff) == SQLITE_CANTOPEN) hint = " (does the directory exist, and is it writable?)";
  if ((code & 0xff) == SQLITE_READONLY) hint = " (is the directory writable?)";
  return Status::internal(fmt::format("cannot open {}: {} (sqlite code {}){}", path,
                                      sqlite3_errmsg(db.handle()), code, hint));
}

Status configure(Db& db, const SqliteStoreOptions& o, bool writer) {
  std::string sql = fmt::format("PRAGMA busy_timeout={}; PRAGMA cache_size=-{};",
                                o.busy_timeout.count(), o.cache_kib);
  if (writer) {
    sql += fmt::format("PRAGMA synchronous={};", o.synchronous == SqliteSync::full ? "FULL" : "NORMAL");
    // Checkpoints run in the writer between batches; a bigger WAL means
    // fewer of them during bursts (pages, default 1000).
    sql += "PRAGMA wal_autocheckpoint=4000;";
    // Savepoint journals (the writer's slow path) stay off the disk.
    sql += "PRAGMA temp_store=MEMORY;";
    // The schema declares no foreign keys today; enforcing them costs
    // nothing and lets a test make COMMIT itself fail (a deferred one).
    sql += "PRAGMA foreign_keys=ON;";
    if (o.max_page_count > 0) sql += fmt::format("PRAGMA max_page_count={};", o.max_page_count);
  } else {
    sql += "PRAGMA query_only=1;";
  }
  return db.exec(sql);
}

Status migrate(Db& db, const std::string& path) {
  if (Status s = db.exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto fail = [&](Status s) {
    (void)db.exec("ROLLBACK");
    return s;
  };
  auto version = db.query_int("PRAGMA user_version");
  auto app = db.query_int("PRAGMA application_id");
  auto objects = db.query_int("SELECT count(*) FROM sqlite_schema");
  if (!version.ok()) return fail(version.status());
  if (!app.ok()) return fail(app.status());
  if (!objects.ok()) return fail(objects.status());
  if (*version > kSchemaVersion) {
    return fail(Status::internal(fmt::format(
        "cannot open {}: its schema version {} is newer than this build supports ({}); "
        "use a newer chatd or restore a backup",
        path, *version, kSchemaVersion)));
  }
  const bool fresh = *version == 0 && *objects == 0;
  if (!fresh && *app != kApplicationId) {
    return fail(Status::internal(
        fmt::format("cannot open {}: an SQLite database of another application (application_id {})",
                    path, *app)));
  }
  for (auto v = *version; v < kSchemaVersion; ++v) {
    if (Status s = db.exec(kMigrations[static_cast<std::size_t>(v)]); !s.ok()) {
      return fail(Status::internal(fmt::format("cannot migrate {} to schema {}: {}", path, v + 1,
                                               s.message())));
    }
  }
  if (*version != kSchemaVersion) {
    Status s = db.exec(fmt::format("PRAGMA user_version={}; PRAGMA application_id={};",
                                   kSchemaVersion, kApplicationId));
    if (!s.ok()) return fail(s);
  }
  return db.exec("COMMIT");
}

}  // namespace

Result<Db> open_writer(const SqliteStoreOptions& o, bool create) {
  if (o.path.empty()) return Status::bad_request("SqliteStoreOptions.path is empty");
  auto db = Db::open(o.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0));
  if (!db.ok()) return db.status();
  // Before migrate(): the search index migration calls it.
  if (Status s = register_search_functions(*db); !s.ok()) return with_path(s, o.path);
  // SQLite falls back to read-only on a write-protected file; a store
  // that cannot write must say so now, not on the first message.
  if (sqlite3_db_readonly(db->handle(), "main") == 1) {
    return Status::internal(fmt::format("cannot open {}: the file is read-only", o.path));
  }
  // The first statements read the header: garbage, truncation or an
  // unreadable file are reported here rather than on the first message.
  if (!configure(*db, o, true).ok()) return open_error(*db, o.path);
  {
    auto mode = db->prepare("PRAGMA journal_mode=WAL");
    if (!mode.step()) {
      return mode.status().ok() ? Status::internal("cannot open " + o.path + ": journal_mode gave no row")
                                : open_error(*db, o.path);
    }
    if (mode.text(0) != "wal") {
      return Status::internal(fmt::format("cannot open {}: WAL mode refused (journal_mode is {})",
                                          o.path, mode.text(0)));
    }
  }
  if (Status s = migrate(*db, o.path); !s.ok()) {
    return s.message().starts_with("cannot") ? s : with_path(s, o.path);
  }
  if (o.quick_check_on_open) {
    auto check = db->prepare("PRAGMA quick_check");
    if (!check.step()) return with_path(check.status(), o.path);
    const std::string verdict = check.text(0);
    if (verdict != "ok") {
      return Status::internal(fmt::format("cannot open {}: quick_check failed: {}", o.path, verdict));
    }
  }
  return db;
}

Result<Db> open_reader(const SqliteStoreOptions& o) {
  auto db = Db::open(o.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!db.ok()) return db.status();
  if (!configure(*db, o, false).ok()) return open_error(*db, o.path);
  return db;
}

}  // namespace realtime::sqlite
