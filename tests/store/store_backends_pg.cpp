// The PostgreSQL backend of the store tests (see pg_backend.h): the
// conformance suite's store_conformance_pg_test runs every case on it.
// Test thread only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "pg_backend.h"
#include "store_test_util.h"

namespace realtime::testing {

PgCluster& pg_test_cluster() {
  static std::unique_ptr<PgCluster> cluster = [] {
    auto c = PgCluster::start({});
    if (!c.ok()) {
      std::fprintf(stderr, "cannot start a throwaway PostgreSQL: %s\n", c.status().to_string().c_str());
      std::abort();
    }
    return std::move(*c);
  }();
  return *cluster;
}

std::string pg_test_conninfo(const std::string& schema) {
  return "host=127.0.0.1 port=" + std::to_string(pg_test_cluster().port()) +
         " user=postgres dbname=postgres options='-c search_path=" + schema + "'";
}

PostgresStoreOptions pg_test_options(std::string* schema) {
  static int counter = 0;
  const std::string name = cat("t", ++counter, "_", getpid());
  if (Status s = pg_test_cluster().exec("CREATE SCHEMA " + name); !s.ok()) ADD_FAILURE() << s.to_string();
  if (schema != nullptr) *schema = name;
  PostgresStoreOptions o;
  o.conninfo = pg_test_conninfo(name);
  o.readers = 1;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.request_timeout = std::chrono::milliseconds(5000);
  o.start_timeout = std::chrono::milliseconds(10000);
  o.reconnect_max = std::chrono::milliseconds(200);
  o.probe_interval = std::chrono::milliseconds(200);
  return o;
}

std::vector<Backend> all_backends() {
  return {
      {"postgres",
       [](Executor& e, const std::string&) -> std::unique_ptr<Store> {
         auto s = open_postgres_store(pg_test_options(), e);
         if (!s.ok()) {
           ADD_FAILURE() << s.status().to_string();
           return nullptr;
         }
         return std::move(*s);
       }},
  };
}

}  // namespace realtime::testing
