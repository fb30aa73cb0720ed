// The backends every store test runs against, and TempDir. Test thread.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "realtime/memory_store.h"
#include "realtime/sqlite_store.h"
#include "store_test_util.h"

namespace realtime::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/realtime-store-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

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
