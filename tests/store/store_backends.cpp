// The backends the store tests run against in one process: memory and
// SQLite (PostgreSQL has its own binary, store_backends_pg.cpp). Test thread.
#include <gtest/gtest.h>

#include "realtime/memory_store.h"
#include "realtime/sqlite_store.h"
#include "store_test_util.h"

namespace realtime::testing {

std::vector<Backend> all_backends() {
  return {
      {"memory", [](Executor& e, const std::string&) { return make_memory_store(e); }},
      {"sqlite",
       [](Executor& e, const std::string& dir) -> std::unique_ptr<Store> {
         SqliteStoreOptions o;
         o.path = dir + "/chat.db";
         // Tests care about behaviour, not power-cut durability: skip the
         // fsyncs so the suite stays fast on a shared disk.
         o.synchronous = SqliteSync::normal;
         auto s = open_sqlite_store(o, e);
         if (!s.ok()) {
           ADD_FAILURE() << s.status().to_string();
           return nullptr;
         }
         return std::move(*s);
       }},
  };
}

}  // namespace realtime::testing
