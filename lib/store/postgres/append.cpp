// Appends, one segment per statement (see append.h). Writer thread.
#include "store/postgres/append.h"

#include <algorithm>

namespace realtime::pg {
namespace {

// Columns of the append statement's rows: ord, verdict, rid, new seq,
// then the stored message for a duplicate.
constexpr int kStoredCol = 4;

Status check(const NewMessage& m) {
  for (const Status& s : {storable_key("room", m.room), storable_key("senderId", m.sender_id),
                          storable("senderName", m.sender_name), storable("senderRole", m.sender_role),
                          storable("text", m.text)}) {
    if (!s.ok()) return s;
  }
  if (m.client_msg_id) {
    if (Status s = storable_key("clientMsgId", *m.client_msg_id); !s.ok()) return s;
  }
  if (m.attachment) {
    for (const auto* v : {&m.attachment->url, &m.attachment->name, &m.attachment->mime}) {
      if (Status s = storable("attachment", *v); !s.ok()) return s;
    }
  }
  return {};
}

}  // namespace

AppendOp::AppendOp(NewMessage msg, Completion<Appended> done) : Typed(std::move(done)), msg_(std::move(msg)) {
  if (Status s = check(msg_); !s.ok()) {
    refuse(std::move(s));
    return;
  }
  if (msg_.reply_to) reply_ = parse_message_id(*msg_.reply_to).value_or(MessageKey{0, 0});
  words_ = tsvector_words(msg_.text);
}

std::unique_ptr<WriteOp> append_op(NewMessage msg, Completion<Appended> done) {
  return std::make_unique<AppendOp>(std::move(msg), std::move(done));
}

void AppendOp::answer_from(const Rows& rows, int row) {
  switch (rows.int64(row, 1)) {
    case 0: {
      Message m;
      m.id = message_id(rows.int64(row, 2), rows.int64(row, 3));
      m.room = msg_.room;
      m.seq = rows.int64(row, 3);
      m.sender_id = msg_.sender_id;
      m.sender_name = msg_.sender_name;
      m.sender_role = msg_.sender_role;
      m.type = msg_.type;
      m.text = msg_.text;
      m.reply_to = msg_.reply_to;
      m.attachment = msg_.attachment;
      m.client_msg_id = msg_.client_msg_id;
      m.created_at = msg_.created_at;
      return answer(Appended{std::move(m), false});
    }
    case 1:
      return answer(Status::not_found("no room " + msg_.room));
    case 2:
      return answer(Appended{read_message(rows, row, kStoredCol, msg_.room), true});
    case 3:
      return answer(Status::conflict("clientMsgId " + msg_.client_msg_id.value_or("") + " was used in another room"));
    default:
      return answer(Status::bad_request("replyTo names no message of room " + msg_.room));
  }
}

namespace {

std::string client_key(const NewMessage& m) { return m.sender_id + '\0' + *m.client_msg_id; }

}  // namespace

bool Segment::accepts(const AppendOp& op) const {
  if (ops_.empty()) return true;
  if (op.alone || ops_.front()->alone) return false;
  const NewMessage& m = op.msg();
  if (m.client_msg_id && client_ids_.count(client_key(m)) > 0) return false;
  if (m.reply_to && rooms_.count(m.room) > 0) return false;
  return true;
}

void Segment::add(AppendOp* op) {
  ops_.push_back(op);
  const NewMessage& m = op->msg();
  rooms_.insert(m.room);
  if (m.client_msg_id) client_ids_.insert(client_key(m));
}

void Segment::plan(Pipeline& p) {
  ArrayText room, sender, name, role, type, text, reply_rid, reply_seq, att_url, att_name, att_size, att_mime,
      cmid, created, words;
  for (const AppendOp* op : ops_) {
    const NewMessage& m = op->msg();
    room.add(m.room);
    sender.add(m.sender_id);
    name.add(m.sender_name);
    role.add(m.sender_role);
    type.add(static_cast<std::int64_t>(m.type));
    text.add(m.text);
    const auto reply = op->reply_key();
    reply_rid.add(reply ? std::optional<std::int64_t>(reply->rid) : std::nullopt);
    reply_seq.add(reply ? std::optional<std::int64_t>(reply->seq) : std::nullopt);
    const auto& a = m.attachment;
    att_url.add(a ? std::optional<std::string>(a->url) : std::nullopt);
    att_name.add(a ? std::optional<std::string>(a->name) : std::nullopt);
    att_size.add(a ? std::optional<std::int64_t>(a->size) : std::nullopt);
    att_mime.add(a ? std::optional<std::string>(a->mime) : std::nullopt);
    cmid.add(m.client_msg_id);
    created.add(to_millis(m.created_at));
    words.add(op->words());
  }
  Params params;
  for (ArrayText* a : {&room, &sender, &name, &role, &type, &text, &reply_rid, &reply_seq, &att_url, &att_name,
                       &att_size, &att_mime, &cmid, &created, &words}) {
    params.add(a->take());
  }
  stmt_ = p.add(Query::append, std::move(params));
  for (AppendOp* op : ops_) {
    op->first = stmt_;
  }
}

void Segment::take(const Outcome& o) const {
  const Rows rows = o.rows(stmt_);
  for (int i = 0; i < rows.size(); ++i) {
    const auto ord = rows.int64(i, 0);
    if (ord >= 1 && static_cast<std::size_t>(ord) <= ops_.size()) ops_[static_cast<std::size_t>(ord - 1)]->answer_from(rows, i);
  }
}

}  // namespace realtime::pg
