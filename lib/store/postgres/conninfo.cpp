// Describing and redacting libpq connection strings (see conninfo.h).
#include "store/postgres/conninfo.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <memory>

namespace realtime::pg {
namespace {

// The string's settings, nullopt-free: absent keys are not in the map.
bool parse(const std::string& conninfo, std::map<std::string, std::string>& out) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  if (opts == nullptr) return false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && *o->val != '\0') out[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  return true;
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string value(const std::map<std::string, std::string>& m, const char* key, const char* env,
                  std::string fallback) {
  auto it = m.find(key);
  return it != m.end() ? it->second : env_or(env, std::move(fallback));
}

// A password the string seems to carry when libpq cannot parse it: the
// "user:password@" of a URI, or the value after "password=".
std::string guess_password(const std::string& s) {
  if (auto scheme = s.find("://"); scheme != std::string::npos) {
    const auto at = s.find('@', scheme + 3);
    const auto colon = s.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      return s.substr(colon + 1, at - colon - 1);
    }
  }
  if (auto p = s.find("password"); p != std::string::npos) {
    auto eq = s.find('=', p);
    if (eq == std::string::npos) return {};
    auto b = s.find_first_not_of(" \t'", eq + 1);
    if (b == std::string::npos) return {};
    auto e = s.find_first_of(" \t'", b);
    return s.substr(b, e == std::string::npos ? std::string::npos : e - b);
  }
  return {};
}

}  // namespace

std::string describe_server(const std::string& conninfo) {
  std::map<std::string, std::string> m;
  if (!parse(conninfo, m)) return "";
  std::string host = value(m, "host", "PGHOST", "");
  if (host.empty()) host = value(m, "hostaddr", "PGHOSTADDR", "localhost");
  return host + ":" + value(m, "port", "PGPORT", "5432");
}

std::string describe(const std::string& conninfo) {
  std::map<std::string, std::string> m;
  if (!parse(conninfo, m)) return "";
  const std::string user = value(m, "user", "PGUSER", "");
  std::string db = value(m, "dbname", "PGDATABASE", user);
  return describe_server(conninfo) + "/" + db + (user.empty() ? "" : " (user " + user + ")");
}

std::string redact(std::string text, const std::string& conninfo) {
  std::map<std::string, std::string> m;
  std::string password;
  if (parse(conninfo, m)) {
    if (auto it = m.find("password"); it != m.end()) password = it->second;
  } else {
    password = guess_password(conninfo);
  }
  if (password.empty()) return text;
  for (auto p = text.find(password); p != std::string::npos; p = text.find(password, p + 3)) {
    text.replace(p, password.size(), "***");
  }
  return text;
}

}  // namespace realtime::pg
