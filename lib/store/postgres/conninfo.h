// What the PostgreSQL store may say about its connection string: which
// server it names, and any text with the password masked. Every message
// the store builds from libpq goes through redact(), so a password given
// in the URL never reaches a log. Pure functions; any thread.
#pragma once

#include <string>

namespace realtime::pg {

// "host:port/dbname (user name)" as libpq would resolve it from the string
// and the PG* environment; "" when the string does not parse.
std::string describe(const std::string& conninfo);

// "host:port" only (the part of describe() errors name).
std::string describe_server(const std::string& conninfo);

// `text` with every occurrence of the password that `conninfo` carries
// replaced by "***" (the string's own password, or one it seems to hold
// when it does not parse).
std::string redact(std::string text, const std::string& conninfo);

}  // namespace realtime::pg
