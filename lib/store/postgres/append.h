// Appends in the PostgreSQL store. The writer runs consecutive appends of
// a batch as one statement (a segment): parallel arrays in, one verdict
// row per message out, seqs taken from each room's counter row that the
// batch has locked. One statement per message would cost a round trip's
// worth of server work each; a segment costs about one row's.
//
// A segment ends before an append that could see an earlier append of the
// same segment: the same (sender, clientMsgId), or a replyTo into a room
// the segment already appends to. Each segment's statement then sees
// everything before it, exactly as one-by-one appends would. Writer
// thread only (construction on the loop).
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "realtime/store.h"
#include "store/postgres/op.h"
#include "store/postgres/values.h"

namespace realtime::pg {

class AppendOp final : public Typed<Appended, WriteOp> {
 public:
  AppendOp(NewMessage msg, Completion<Appended> done);
  const std::string* room() const override { return &msg_.room; }
  AppendOp* as_append() override { return this; }
  // Segments plan appends; these are never called.
  void plan(Pipeline&) override {}
  void take(const Outcome&) override {}

  const NewMessage& msg() const { return msg_; }
  // The replyTo as a key; {0, 0} (matches nothing) when it is not an id.
  std::optional<MessageKey> reply_key() const { return reply_; }
  const std::string& words() const { return words_; }
  // Runs in a segment of its own (its segment failed and is being
  // narrowed down to the call that broke it).
  bool alone = false;

  void answer_from(const Rows& rows, int row);

 private:
  NewMessage msg_;
  std::optional<MessageKey> reply_;
  std::string words_;
};

std::unique_ptr<WriteOp> append_op(NewMessage msg, Completion<Appended> done);

class Segment {
 public:
  // Whether `op` may join this segment (see the file comment).
  bool accepts(const AppendOp& op) const;
  void add(AppendOp* op);
  bool empty() const { return ops_.empty(); }
  const std::vector<AppendOp*>& ops() const { return ops_; }
  // Adds the segment's statement; every op records its position.
  void plan(Pipeline& p);
  // After COMMIT: every op's answer.
  void take(const Outcome& o) const;

 private:
  std::vector<AppendOp*> ops_;
  // What accepts() looks up: the rooms appended to, and "sender\0clientMsgId".
  std::unordered_set<std::string> rooms_, client_ids_;
  std::size_t stmt_ = 0;
};

}  // namespace realtime::pg
