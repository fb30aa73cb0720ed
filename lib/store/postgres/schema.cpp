// Migrations and session settings of the PostgreSQL store (see schema.h).
#include "store/postgres/schema.h"

#include <array>
#include <string_view>

namespace realtime::pg {
namespace {

// kMigrations[v] takes a schema from version v to v + 1. Append, never
// edit: databases in the field are at every earlier version.
//
// Text that is compared or sorted (ids) uses the "C" collation: byte
// order, like the other stores, whatever the database's locale.
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {
    R"sql(
CREATE TABLE rooms(
  rid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  kind smallint NOT NULL,
  title text NOT NULL,
  status smallint NOT NULL,
  created_by text NOT NULL,
  created_at bigint NOT NULL,
  started_at bigint,
  ended_at bigint,
  join_secret text NOT NULL,
  -- The seq of the room's newest message: appends lock this row, so it is
  -- also the room's lock (see docs/store.md).
  last_seq bigint NOT NULL DEFAULT 0
) WITH (fillfactor = 70);
CREATE TABLE members(
  rid bigint NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  role text NOT NULL,
  pos bigint NOT NULL,
  PRIMARY KEY (rid, user_id)
);
CREATE INDEX members_by_user ON members(user_id, rid);
CREATE TABLE reads(
  rid bigint NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  PRIMARY KEY (rid, user_id)
);
CREATE TABLE last_seen(
  rid bigint NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  PRIMARY KEY (rid, user_id)
);
CREATE TABLE messages(
  rid bigint NOT NULL,
  seq bigint NOT NULL,
  sender_id text COLLATE "C" NOT NULL,
  sender_name text NOT NULL,
  sender_role text NOT NULL,
  type smallint NOT NULL,
  text text NOT NULL,
  reply_seq bigint,
  att_url text,
  att_name text,
  att_size bigint,
  att_mime text,
  client_msg_id text COLLATE "C",
  created_at bigint NOT NULL,
  edited_at bigint,
  deleted boolean NOT NULL DEFAULT false,
  -- The search index's input: the text's words and the room's lexeme;
  -- NULL once deleted.
  words tsvector,
  PRIMARY KEY (rid, seq)
);
CREATE UNIQUE INDEX messages_by_client_id ON messages(sender_id, client_msg_id)
  WHERE client_msg_id IS NOT NULL;
-- New entries wait in the index's pending list until the store's
-- indexer connection merges them (gin_clean_pending_list), off the
-- writer's path; the limit only matters if the indexer falls behind.
CREATE INDEX messages_words ON messages USING gin (words) WITH (gin_pending_list_limit = 16384);
)sql",
    // 2: session join tokens expire (NULL: a room from before, whose token
    // counts from created_at; see RoomStore::set_join_secret).
    R"sql(
ALTER TABLE rooms ADD COLUMN join_expires_at bigint;
)sql",
    // 3: attachments shared by every process (the PostgreSQL
    // AttachmentStore; docs/store.md). `refs` counts the file's rows in
    // attachment_refs; `doomed` lives only inside the transaction that
    // removes a file's last ref. The bytes are stored out of line and not
    // compressed (most uploads are compressed already).
    R"sql(
CREATE TABLE attachments(
  id text COLLATE "C" PRIMARY KEY,
  room text COLLATE "C" NOT NULL,
  owner text COLLATE "C" NOT NULL,
  name text NOT NULL,
  mime text NOT NULL,
  size bigint NOT NULL,
  created_at bigint NOT NULL,
  refs integer NOT NULL DEFAULT 0,
  doomed boolean NOT NULL DEFAULT false,
  data bytea NOT NULL
);
ALTER TABLE attachments ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX attachments_unclaimed ON attachments(created_at) WHERE refs = 0;
CREATE TABLE attachment_refs(
  ref bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text COLLATE "C" NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
  msg text COLLATE "C",
  sender text COLLATE "C" NOT NULL DEFAULT '',
  at bigint NOT NULL DEFAULT 0
);
CREATE INDEX attachment_refs_by_file ON attachment_refs(id, msg);
CREATE INDEX attachment_refs_pending ON attachment_refs(at) WHERE msg IS NULL;
CREATE TABLE attachment_usage(
  owner text COLLATE "C" PRIMARY KEY,
  bytes bigint NOT NULL
);
)sql",
    // 3 -> 4: emoji reactions (reaction_store.h); `ord` orders a message's
    // emojis by when they were first added.
    R"sql(
CREATE TABLE reactions(
  ord bigint GENERATED ALWAYS AS IDENTITY,
  rid bigint NOT NULL,
  seq bigint NOT NULL,
  emoji text COLLATE "C" NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (rid, seq, emoji, user_id)
);
)sql",
    // 4 -> 5: moderation (moderation_store.h): mutes and slow mode per
    // room, the rooms' audit logs, server-wide bans. Keyed by room id.
    R"sql(
CREATE TABLE mutes(
  room text COLLATE "C" NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  until bigint NOT NULL,
  PRIMARY KEY(room, user_id)
);
CREATE TABLE slow_modes(
  room text COLLATE "C" PRIMARY KEY,
  seconds integer NOT NULL
);
CREATE TABLE audit(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  room text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  detail text NOT NULL
);
CREATE INDEX audit_by_room ON audit(room, id);
CREATE TABLE bans(
  user_id text COLLATE "C" PRIMARY KEY,
  reason text NOT NULL,
  by_whom text NOT NULL,
  at bigint NOT NULL,
  until bigint
);
)sql",
};

// Locks the schema against concurrent migration until the transaction
// ends: one key per schema name, so schemas of one database migrate apart.
constexpr std::string_view kLock =
    "BEGIN; SELECT pg_advisory_xact_lock(1919251299, hashtext(coalesce(current_schema(), '')))";

Status in(const std::string& where, const Status& s) {
  return Status(s.code(), "PostgreSQL " + where + ": " + s.message());
}

}  // namespace

Status configure(Conn& c, const PostgresStoreOptions& o, Role role, SteadyClock::time_point deadline) {
  auto enc = c.script("SHOW server_encoding", deadline);
  if (!enc.ok()) return enc.status();
  const std::string encoding = Rows(enc->get()).size() > 0 ? Rows(enc->get()).text(0, 0) : "";
  if (encoding != "UTF8") {
    return Status::internal("the database's encoding is " + encoding +
                            ": chatd needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')");
  }
  const auto ms = o.request_timeout.count();
  std::string sql = "SET client_encoding = 'UTF8'; SET default_transaction_isolation = 'read committed';";
  // The statements are short and run again and again; JIT compiling one
  // whose plan the planner costs high (a segment over 10,000 rooms) took
  // longer than running it: 150 us per message instead of 30.
  sql += "SET jit = off;";
  // The server gives up on work the store has stopped waiting for.
  sql += "SET statement_timeout = " + std::to_string(ms) + ";";
  sql += "SET idle_in_transaction_session_timeout = " + std::to_string(2 * ms) + ";";
  if (role == Role::writer) sql += "SET synchronous_commit = '" + o.synchronous_commit + "';";
  if (auto r = c.script(sql, deadline); !r.ok()) return r.status();
  return c.enter_pipeline();
}

Status migrate(Conn& c, const std::string& where, SteadyClock::time_point deadline) {
  auto fail = [&](const Status& s) {
    if (c.connected()) (void)c.script("ROLLBACK", deadline);
    return in(where, s);
  };
  if (auto r = c.script(std::string(kLock), deadline); !r.ok()) return fail(r.status());
  auto state = c.script(
      "SELECT current_schema(), "
      "(SELECT count(*) FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
      " WHERE n.nspname = current_schema() AND k.relkind IN ('r', 'p', 'v', 'm', 'f')), "
      "to_regclass(quote_ident(current_schema()) || '.realtime_schema_migrations') IS NOT NULL",
      deadline);
  if (!state.ok()) return fail(state.status());
  Rows st(state->get());
  if (st.size() != 1 || st.null(0, 0)) {
    return fail(Status::internal("the connection's search_path names no existing schema to create tables in"));
  }
  const std::string schema = st.text(0, 0);
  const std::int64_t tables = st.int64(0, 1);
  const bool ours = st.boolean(0, 2);
  int version = 0;
  if (ours) {
    auto v = c.script("SELECT coalesce(max(version), 0) FROM realtime_schema_migrations", deadline);
    if (!v.ok()) return fail(v.status());
    version = static_cast<int>(Rows(v->get()).int64(0, 0));
  } else if (tables > 0) {
    return fail(Status::internal("schema " + schema + " holds " + std::to_string(tables) +
                                 " tables that chatd did not create; give chatd an empty schema or database"));
  } else {
    auto r = c.script(
        "CREATE TABLE realtime_schema_migrations(version integer PRIMARY KEY, "
        "applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT "
        "coalesce(current_setting('application_name', true), ''))",
        deadline);
    if (!r.ok()) return fail(r.status());
  }
  if (version > kSchemaVersion) {
    return fail(Status::internal("schema " + schema + " is at version " + std::to_string(version) +
                                 ", newer than this build supports (" + std::to_string(kSchemaVersion) +
                                 "); use a newer chatd"));
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    std::string sql(kMigrations[static_cast<std::size_t>(v)]);
    sql += "; INSERT INTO realtime_schema_migrations(version) VALUES (" + std::to_string(v + 1) + ")";
    if (auto r = c.script(sql, deadline); !r.ok()) {
      return fail(Status::internal("cannot migrate schema " + schema + " to version " + std::to_string(v + 1) +
                                   ": " + r.status().message()));
    }
  }
  if (auto r = c.script("COMMIT", deadline); !r.ok()) return fail(r.status());
  return {};
}

}  // namespace realtime::pg
