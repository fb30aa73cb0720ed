// Reactions in the PostgreSQL store (realtime/reaction_store.h): the two
// writes as WriteOps of the writer's batches, the summary as a ReadOp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "realtime/store.h"
#include "store/postgres/op.h"

namespace realtime::pg {

std::unique_ptr<WriteOp> add_reaction_op(std::string id, std::string user, std::string emoji,
                                         std::size_t max_emojis, Completion<bool> done);
std::unique_ptr<WriteOp> remove_reaction_op(std::string id, std::string user, std::string emoji,
                                            Completion<bool> done);
std::unique_ptr<ReadOp> reactions_op(std::vector<std::string> ids, std::string viewer, std::size_t list_users,
                                     Completion<std::vector<MessageReactions>> done);

}  // namespace realtime::pg
