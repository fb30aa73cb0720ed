// Unit tests of the chat payload parsers (lib/chat/payloads.h): for each
// event, every field's error (code and message, as clients see them), the
// order in which problems are answered, and what a good payload becomes.
#include "chat/payloads.h"

#include <gtest/gtest.h>

#include <string>

namespace realtime::chat {
namespace {

Json J(std::string_view text) {
  auto j = Json::parse(text);
  EXPECT_TRUE(j.ok()) << text;
  return j.ok() ? std::move(j).value() : Json::object();
}

// "code: message" of a failed parse, or "ok".
template <class T>
std::string error_of(const Result<T>& r) {
  if (r.ok()) return "ok";
  std::string out(code_name(r.status().code()));
  out += ": ";
  out += r.status().message();
  return out;
}

Actor user(std::string id) {
  Actor a;
  a.identity.user_id = std::move(id);
  return a;
}

Actor service() {
  Actor a;
  a.service = true;
  return a;
}

TEST(PayloadFields, RequiredStringMissingNullOrWrongType) {
  EXPECT_EQ(error_of(required_string(J("{}"), "to")), "bad_request: to is required");
  EXPECT_EQ(error_of(required_string(J(R"({"to":null})"), "to")), "bad_request: to is required");
  EXPECT_EQ(error_of(required_string(J(R"({"to":5})"), "to")), "bad_request: to must be a string");
  EXPECT_EQ(*required_string(J(R"({"to":""})"), "to"), "");
}

TEST(PayloadFields, OptionalFieldsAbsentOrNullAreNullopt) {
  EXPECT_FALSE(*optional_string(J(R"({"a":null})"), "a"));
  EXPECT_FALSE(*optional_int(J("{}"), "a"));
  EXPECT_FALSE(*optional_bool(J(R"({"a":null})"), "a"));
  EXPECT_EQ(error_of(optional_string(J(R"({"a":[]})"), "a")), "bad_request: a must be a string");
  EXPECT_EQ(error_of(optional_bool(J(R"({"a":"true"})"), "a")), "bad_request: a must be a boolean");
}

TEST(PayloadFields, IntegersMayBeWholeDoublesWithinRange) {
  EXPECT_EQ(**optional_int(J(R"({"n":7})"), "n"), 7);
  EXPECT_EQ(**optional_int(J(R"({"n":7.0})"), "n"), 7);
  EXPECT_EQ(**optional_int(J(R"({"n":-3e3})"), "n"), -3000);
  EXPECT_EQ(error_of(optional_int(J(R"({"n":7.5})"), "n")), "bad_request: n must be an integer");
  EXPECT_EQ(error_of(optional_int(J(R"({"n":1e16})"), "n")), "bad_request: n must be an integer");
  EXPECT_EQ(error_of(optional_int(J(R"({"n":"7"})"), "n")), "bad_request: n must be an integer");
  EXPECT_EQ(error_of(optional_int(J(R"({"n":true})"), "n")), "bad_request: n must be an integer");
}

TEST(PayloadFields, RoomIdFollowsTheIdRule) {
  EXPECT_EQ(error_of(required_room_id(J("{}"))), "bad_request: room is required");
  EXPECT_EQ(error_of(required_room_id(J(R"({"room":1})"))), "bad_request: room must be a string");
  EXPECT_EQ(error_of(required_room_id(J(R"({"room":"a b"})"))), "bad_request: room is not a valid room id");
  EXPECT_EQ(error_of(required_room_id(J(R"({"room":""})"))), "bad_request: room is not a valid room id");
  EXPECT_EQ(*required_room_id(J(R"({"room":"r_1"})")), "r_1");
}

TEST(PayloadAttachment, EachFieldsError) {
  EXPECT_EQ(error_of(parse_attachment(J("[]"))), "bad_request: attachment must be an object");
  EXPECT_EQ(error_of(parse_attachment(J("{}"))), "bad_request: attachment.url is required");
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":3})"))), "bad_request: attachment.url is required");
  const std::string bad_url = "bad_request: attachment.url must be /api/attachments/{id} or an http(s) URL";
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"/api/attachments/../../etc"})"))), bad_url);
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"ftp://x/y"})"))), bad_url);
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"https://x/a b"})"))), bad_url);
  EXPECT_EQ(error_of(parse_attachment(Json::object({{"url", "https://x/" + std::string(2048, 'a')}}))), bad_url);
  const std::string types = "bad_request: attachment fields have wrong types";
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"https://x/a","name":1})"))), types);
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"https://x/a","mime":1})"))), types);
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"https://x/a","size":"1"})"))), types);
  const std::string range = "bad_request: attachment name, size or mime out of range";
  EXPECT_EQ(error_of(parse_attachment(J(R"({"url":"https://x/a","size":-1})"))), range);
  EXPECT_EQ(error_of(parse_attachment(Json::object({{"url", "https://x/a"}, {"name", std::string(513, 'n')}}))), range);
  EXPECT_EQ(error_of(parse_attachment(Json::object({{"url", "https://x/a"}, {"mime", std::string(256, 'm')}}))), range);

  auto local = parse_attachment(J(R"({"url":"/api/attachments/AAAAAAAAAAAAAAAAAAAAAA","name":"a.png","size":3})"));
  ASSERT_TRUE(local.ok()) << error_of(local);
  EXPECT_EQ(local->name, "a.png");
  EXPECT_EQ(local->size, 3);
  EXPECT_EQ(local->mime, "");
}

TEST(PayloadRoomCreate, EachFieldsErrorInOrder) {
  const ChatOptions o;
  const Actor ann = user("ann");
  EXPECT_EQ(error_of(parse_room_create(J("{}"), ann, o)), "bad_request: kind is required");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"chat"})"), ann, o)),
            "bad_request: kind must be direct, group or session");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","title":1})"), ann, o)),
            "bad_request: title must be a string");
  EXPECT_EQ(error_of(parse_room_create(Json::object({{"kind", "group"}, {"title", std::string(201, 't')}}), ann, o)),
            "bad_request: title too long");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","id":1})"), ann, o)), "bad_request: id must be a string");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","id":"a/b"})"), ann, o)),
            "bad_request: id is not a valid room id");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","reuse":1})"), ann, o)),
            "bad_request: reuse must be a boolean");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","members":{}})"), ann, o)),
            "bad_request: members must be an array");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","members":[1]})"), ann, o)),
            "bad_request: members entries are user ids or {userId, role}");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","members":[{"userId":"b","role":1}]})"), ann, o)),
            "bad_request: member role must be a string");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","members":[""]})"), ann, o)),
            "bad_request: member user ids are 1 to 128 bytes");
  EXPECT_EQ(error_of(parse_room_create(Json::object({{"kind", "group"},
                                                     {"members", Json::array({Json::object({{"userId", "b"},
                                                                                            {"role", std::string(65, 'r')}})})}}),
                                       ann, o)),
            "bad_request: member role too long");
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"direct","members":["ann"]})"), ann, o)),
            "bad_request: a direct room has exactly two members");
  // The first problem wins: title before id before members.
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","title":1,"id":1,"members":1})"), ann, o)),
            "bad_request: title must be a string");
}

TEST(PayloadRoomCreate, MemberLimitsAreTooLarge) {
  ChatOptions o;
  o.max_members_per_create = 2;
  o.max_members_per_room = 3;
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","members":["b","c","d"]})"), user("ann"), o)),
            "payload_too_large: members has more than 2 entries");
  o.max_members_per_room = 2;
  // The creator counts: ann + b + c is one too many.
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","members":["b","c"]})"), user("ann"), o)),
            "payload_too_large: a room has at most 2 members");
}

TEST(PayloadRoomCreate, CreatorIsOwnerAndMembersAreDeduplicated) {
  auto r = parse_room_create(J(R"({"kind":"group","members":["bob",{"userId":"ann"},{"userId":"bob","role":"x"},
                                    {"userId":"cy","role":""}],"createdBy":5})"),
                             user("ann"), ChatOptions{});
  ASSERT_TRUE(r.ok()) << error_of(r);  // a user's createdBy is not read
  EXPECT_EQ(r->creator, "ann");
  ASSERT_EQ(r->members.size(), 3u);
  EXPECT_EQ(r->members[0].user_id, "ann");
  EXPECT_EQ(r->members[0].role, "owner");
  EXPECT_EQ(r->members[1].user_id, "bob");
  EXPECT_EQ(r->members[1].role, "member");
  EXPECT_EQ(r->members[2].role, "member");
  EXPECT_FALSE(r->reuse);
  EXPECT_FALSE(r->id);
}

TEST(PayloadRoomCreate, ServiceNamesTheCreator) {
  EXPECT_EQ(error_of(parse_room_create(J(R"({"kind":"group","createdBy":5})"), service(), ChatOptions{})),
            "bad_request: createdBy must be a string");
  EXPECT_EQ(error_of(parse_room_create(Json::object({{"kind", "group"}, {"createdBy", std::string(129, 'u')}}),
                                       service(), ChatOptions{})),
            "bad_request: createdBy is invalid");
  auto none = parse_room_create(J(R"({"kind":"group","members":["b"]})"), service(), ChatOptions{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->creator, "");
  ASSERT_EQ(none->members.size(), 1u);
  auto named = parse_room_create(J(R"({"kind":"direct","createdBy":"a","members":["b"],"id":"d1","reuse":true})"),
                                 service(), ChatOptions{});
  ASSERT_TRUE(named.ok()) << error_of(named);
  EXPECT_EQ(named->members[0].user_id, "a");
  EXPECT_EQ(named->kind, RoomKind::direct);
  EXPECT_EQ(*named->id, "d1");
  EXPECT_TRUE(named->reuse);
}

TEST(PayloadRoomJoin, EachFieldsError) {
  EXPECT_EQ(error_of(parse_room_join(J("{}"))), "bad_request: room is required");
  EXPECT_EQ(error_of(parse_room_join(J(R"({"room":"r","joinToken":1})"))), "bad_request: joinToken must be a string");
  EXPECT_EQ(error_of(parse_room_join(J(R"({"room":"r","afterSeq":"1"})"))), "bad_request: afterSeq must be an integer");
  EXPECT_EQ(error_of(parse_room_join(J(R"({"room":"r","afterSeq":-1})"))), "bad_request: afterSeq must not be negative");
  auto j = parse_room_join(J(R"({"room":"r","joinToken":"t","afterSeq":0})"));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j->join_token, "t");
  EXPECT_EQ(*j->after_seq, 0);
}

TEST(PayloadRoomRef, RoomOnly) {
  EXPECT_EQ(error_of(parse_room_ref(J(R"({"room":null})"))), "bad_request: room is required");
  EXPECT_EQ(parse_room_ref(J(R"({"room":"r"})"))->room, "r");
}

TEST(PayloadRoomsList, EachFieldsErrorAndTheClamp) {
  EXPECT_EQ(error_of(parse_rooms_list(J(R"({"limit":"5"})"))), "bad_request: limit must be an integer");
  EXPECT_EQ(error_of(parse_rooms_list(J(R"({"cursor":5})"))), "bad_request: cursor must be a string");
  for (const char* bad : {"", "12", "x.r", "12.", "12.a b", "1.5.r/"})
    EXPECT_EQ(error_of(parse_rooms_list(Json::object({{"cursor", bad}}))), "bad_request: cursor is not one rooms:list gave")
        << bad;
  EXPECT_EQ(parse_rooms_list(J("{}"))->limit, 1000u);
  EXPECT_EQ(parse_rooms_list(J(R"({"limit":0})"))->limit, 1u);
  EXPECT_EQ(parse_rooms_list(J(R"({"limit":5000})"))->limit, 1000u);
  auto c = parse_rooms_list(J(R"({"cursor":"-17.r_1"})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->cursor->activity_ms, -17);
  EXPECT_EQ(c->cursor->room, "r_1");
}

TEST(PayloadMembers, AddAndRemoveFieldErrors) {
  EXPECT_EQ(error_of(parse_member_add(J(R"({"userId":"b"})"))), "bad_request: room is required");
  EXPECT_EQ(error_of(parse_member_add(J(R"({"room":"r"})"))), "bad_request: userId is required");
  EXPECT_EQ(error_of(parse_member_add(J(R"({"room":"r","userId":""})"))), "bad_request: userId must be 1 to 128 bytes");
  EXPECT_EQ(error_of(parse_member_add(J(R"({"room":"r","userId":"b","role":2})"))), "bad_request: role must be a string");
  EXPECT_EQ(error_of(parse_member_add(Json::object({{"room", "r"}, {"userId", "b"}, {"role", std::string(65, 'r')}}))),
            "bad_request: role too long");
  EXPECT_EQ(parse_member_add(J(R"({"room":"r","userId":"b","role":""})"))->member.role, "member");
  EXPECT_EQ(parse_member_add(J(R"({"room":"r","userId":"b","role":"mod"})"))->member.role, "mod");

  EXPECT_EQ(error_of(parse_member_remove(J(R"({"room":"r","userId":7})"))), "bad_request: userId must be a string");
  EXPECT_EQ(error_of(parse_member_remove(Json::object({{"room", "r"}, {"userId", std::string(129, 'u')}}))),
            "bad_request: userId must be 1 to 128 bytes");
  EXPECT_EQ(parse_member_remove(J(R"({"room":"r","userId":"b"})"))->user_id, "b");
}

TEST(PayloadMessageSend, EachFieldsErrorInOrder) {
  auto send = [](const Json& p) { return error_of(parse_message_send(p, 10)); };
  EXPECT_EQ(send(J(R"({"text":"hi"})")), "bad_request: room is required");
  EXPECT_EQ(send(J(R"({"room":"r","text":1})")), "bad_request: text must be a string");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","type":1})")), "bad_request: type must be a string");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","type":"system"})")), "bad_request: type must be text, image or file");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","type":"video"})")), "bad_request: type must be text, image or file");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","replyTo":1})")), "bad_request: replyTo must be a string");
  EXPECT_EQ(send(Json::object({{"room", "r"}, {"text", "hi"}, {"replyTo", std::string(129, 'm')}})),
            "bad_request: replyTo is not a message id");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","clientMsgId":1})")), "bad_request: clientMsgId must be a string");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","clientMsgId":""})")), "bad_request: clientMsgId must be 1 to 128 characters");
  EXPECT_EQ(send(Json::object({{"room", "r"}, {"text", "hi"}, {"clientMsgId", std::string(129, 'c')}})),
            "bad_request: clientMsgId must be 1 to 128 characters");
  EXPECT_EQ(send(J(R"({"room":"r","text":"hi","attachment":"x"})")), "bad_request: attachment must be an object");
  EXPECT_EQ(send(J(R"({"room":"r","type":"image"})")), "bad_request: image and file messages need an attachment");
  EXPECT_EQ(send(J(R"({"room":"r","text":"12345678901"})")), "payload_too_large: text is longer than 10 characters");
  EXPECT_EQ(send(J(R"({"room":"r","text":"  "})")), "bad_request: text is empty");
  EXPECT_EQ(send(J(R"({"room":"r"})")), "bad_request: text is empty");
  EXPECT_EQ(send(Json::object({{"room", "r"}, {"text", "\xff"}})), "bad_request: text is not valid UTF-8");
}

TEST(PayloadMessageSend, AGoodPayloadBecomesTheNewMessage) {
  auto m = parse_message_send(J(R"({"room":"r","type":"image","replyTo":"m1","clientMsgId":"é",
                                    "attachment":{"url":"https://x/a.png"}})"),
                              10);
  ASSERT_TRUE(m.ok()) << error_of(m);  // an attachment carries a blank message
  EXPECT_EQ(m->room, "r");
  EXPECT_EQ(m->type, MessageType::image);
  EXPECT_EQ(m->text, "");
  EXPECT_EQ(*m->reply_to, "m1");
  EXPECT_EQ(*m->client_msg_id, "é");
  EXPECT_EQ(m->attachment->url, "https://x/a.png");
  EXPECT_EQ(m->sender_id, "");  // the operation's to fill
}

TEST(PayloadMessageEditDelete, EachFieldsError) {
  EXPECT_EQ(error_of(parse_message_edit(J(R"({"text":"x"})"), 10)), "bad_request: id is required");
  EXPECT_EQ(error_of(parse_message_edit(J(R"({"id":"","text":"x"})"), 10)), "bad_request: id is not a message id");
  EXPECT_EQ(error_of(parse_message_edit(Json::object({{"id", std::string(129, 'i')}, {"text", "x"}}), 10)),
            "bad_request: id is not a message id");
  EXPECT_EQ(error_of(parse_message_edit(J(R"({"id":"m"})"), 10)), "bad_request: text is required");
  EXPECT_EQ(error_of(parse_message_edit(J(R"({"id":"m","text":" "})"), 10)), "bad_request: text is empty");
  EXPECT_EQ(error_of(parse_message_edit(J(R"({"id":"m","text":"12345678901"})"), 10)),
            "payload_too_large: text is longer than 10 characters");
  EXPECT_EQ(parse_message_edit(J(R"({"id":"m","text":"ok"})"), 10)->text, "ok");
  EXPECT_EQ(error_of(parse_message_ref(J(R"({"id":3})"))), "bad_request: id must be a string");
  EXPECT_EQ(parse_message_ref(J(R"({"id":"m"})"))->id, "m");
}

TEST(PayloadMessageHistory, CursorsBeforeRoomAndTheClamp) {
  EXPECT_EQ(error_of(parse_message_history(J(R"({"before":"1"})"))), "bad_request: before must be an integer");
  EXPECT_EQ(error_of(parse_message_history(J(R"({"after":0.5})"))), "bad_request: after must be an integer");
  EXPECT_EQ(error_of(parse_message_history(J(R"({"limit":[]})"))), "bad_request: limit must be an integer");
  EXPECT_EQ(error_of(parse_message_history(J("{}"))), "bad_request: room is required");
  auto h = parse_message_history(J(R"({"room":"r","before":9,"limit":1000})"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h->query.before, 9);
  EXPECT_FALSE(h->query.after);
  EXPECT_EQ(h->query.limit, 200);
  EXPECT_EQ(parse_message_history(J(R"({"room":"r"})"))->query.limit, 50);
  EXPECT_EQ(parse_message_history(J(R"({"room":"r","limit":-4})"))->query.limit, 1);
}

TEST(PayloadMessageRead, SeqIsRequiredAndNotNegative) {
  EXPECT_EQ(error_of(parse_message_read(J(R"({"seq":1})"))), "bad_request: room is required");
  EXPECT_EQ(error_of(parse_message_read(J(R"({"room":"r","seq":"1"})"))), "bad_request: seq must be an integer");
  EXPECT_EQ(error_of(parse_message_read(J(R"({"room":"r"})"))), "bad_request: seq is required and must not be negative");
  EXPECT_EQ(error_of(parse_message_read(J(R"({"room":"r","seq":-1})"))),
            "bad_request: seq is required and must not be negative");
  EXPECT_EQ(parse_message_read(J(R"({"room":"r","seq":0})"))->seq, 0);
}

TEST(PayloadMessageSearch, QueryLimitThenRoom) {
  EXPECT_EQ(error_of(parse_message_search(J("{}"))), "bad_request: q is required");
  EXPECT_EQ(error_of(parse_message_search(Json::object({{"q", std::string(257, 'q')}}))), "bad_request: q is too long");
  EXPECT_EQ(error_of(parse_message_search(J(R"({"q":"x","limit":true})"))), "bad_request: limit must be an integer");
  EXPECT_EQ(error_of(parse_message_search(J(R"({"q":"x"})"))), "bad_request: room is required");
  auto s = parse_message_search(J(R"({"q":"x","room":"r","limit":500})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->limit, 100);
  EXPECT_EQ(parse_message_search(J(R"({"q":"x","room":"r"})"))->limit, 20);
}

TEST(PayloadTyping, TypingIsARequiredBoolean) {
  EXPECT_EQ(error_of(parse_typing(J(R"({"typing":true})"))), "bad_request: room is required");
  EXPECT_EQ(error_of(parse_typing(J(R"({"room":"r","typing":1})"))), "bad_request: typing must be a boolean");
  EXPECT_EQ(error_of(parse_typing(J(R"({"room":"r"})"))), "bad_request: typing is required");
  EXPECT_FALSE(parse_typing(J(R"({"room":"r","typing":false})"))->typing);
}

TEST(PayloadRtc, SdpRequiredCandidateMayBeNull) {
  EXPECT_EQ(error_of(parse_rtc_signal(J(R"({"to":"s","sdp":"x"})"), "sdp")), "bad_request: room is required");
  EXPECT_EQ(error_of(parse_rtc_signal(J(R"({"room":"r","sdp":"x"})"), "sdp")), "bad_request: to is required");
  EXPECT_EQ(error_of(parse_rtc_signal(J(R"({"room":"r","to":1})"), "sdp")), "bad_request: to must be a string");
  EXPECT_EQ(error_of(parse_rtc_signal(J(R"({"room":"r","to":"s"})"), "sdp")), "bad_request: sdp is required");
  EXPECT_EQ(error_of(parse_rtc_signal(J(R"({"room":"r","to":"s","sdp":null})"), "sdp")), "bad_request: sdp is required");
  EXPECT_EQ(error_of(parse_rtc_signal(J(R"({"room":"r","to":"s"})"), "candidate")), "bad_request: candidate is required");
  auto end = parse_rtc_signal(J(R"({"room":"r","to":"s","candidate":null})"), "candidate");
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->body.is_null());
  auto offer = parse_rtc_signal(J(R"({"room":"r","to":"s","sdp":{"type":"offer"}})"), "sdp");
  ASSERT_TRUE(offer.ok());
  EXPECT_EQ(offer->body["type"].as_string(), "offer");
}

}  // namespace
}  // namespace realtime::chat
