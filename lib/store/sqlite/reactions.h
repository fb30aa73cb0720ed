// Reactions in the SQLite store (realtime/reaction_store.h): the two
// writes run on the writer thread like writes.h's, the summary read on a
// reader like reads.h's.
#pragma once

#include <string>
#include <vector>

#include "realtime/store.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

Result<bool> write_add_reaction(Db& db, const std::string& id, const std::string& user,
                                const std::string& emoji, std::size_t max_emojis);
Result<bool> write_remove_reaction(Db& db, const std::string& id, const std::string& user,
                                   const std::string& emoji);
Result<std::vector<MessageReactions>> read_reactions(Db& db, const std::vector<std::string>& ids,
                                                     const std::string& viewer, std::size_t list_users);

}  // namespace realtime::sqlite
