// The PostgreSQL side of the store tests: one throwaway server per test
// process (started on first use, stopped at exit), and a fresh schema of
// it for every store a test opens, so tests never see each other's rows.
// Test thread only.
#pragma once

#include <string>

#include "pg_cluster.h"
#include "realtime/postgres_store.h"

namespace realtime::testing {

// The shared server; a test that stops it must start it again.
PgCluster& pg_test_cluster();

// Options for a store on a new, empty schema (its name in *schema), with
// the short timeouts tests want. Unless a test says otherwise, one reader.
PostgresStoreOptions pg_test_options(std::string* schema = nullptr);

// The connection string for `schema` of the shared server.
std::string pg_test_conninfo(const std::string& schema);

}  // namespace realtime::testing
