// Tests of the multipart/form-data reader: the file part's name, type and
// exact byte range, whether the body is small or spans many search windows.
#include "multipart.h"

#include <gtest/gtest.h>

namespace chatd {
namespace {

struct Parsed {
  std::string filename, mime, bytes;
};

realtime::Result<Parsed> parse_multipart(std::string_view type, std::string_view body) {
  StringSource source(body);
  auto f = find_multipart_file(type, source);
  if (!f.ok()) return f.status();
  return Parsed{f->filename, f->mime, source.read(f->offset, static_cast<std::size_t>(f->length))};
}

const std::string kType = "multipart/form-data; boundary=----b0und";

std::string body_with(const std::string& parts) { return parts + "------b0und--\r\n"; }

TEST(Multipart, FindsTheFilePartWithNameTypeAndExactBytes) {
  const std::string payload("\x89PNG\r\n\x00\x01--", 10);
  auto f = parse_multipart(kType, body_with("------b0und\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nhi\r\n"
                                            "------b0und\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.png\"\r\n"
                                            "Content-Type: image/png\r\n\r\n" + payload + "\r\n"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->filename, "cat.png");
  EXPECT_EQ(f->mime, "image/png");
  EXPECT_EQ(f->bytes, payload) << "binary bytes, CRLF and dashes inside the file are kept";
}

TEST(Multipart, QuotedBoundaryAndAPartNamedFileWithoutFilename) {
  auto f = parse_multipart("multipart/form-data; boundary=\"xyz\"",
                           "--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--xyz--");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->bytes, "abc");
  EXPECT_EQ(f->mime, "application/octet-stream");
}

TEST(Multipart, AFileLargerThanTheSearchWindowIsFoundByRange) {
  std::string payload(200 * 1024 + 3, 'x');
  payload[70 * 1024] = '-';  // near-misses of the delimiter inside the file
  payload.replace(130 * 1024, 9, "\r\n------b0");
  const std::string body = body_with("------b0und\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
                                     "Content-Type: application/octet-stream; x=\"y\"\r\n\r\n" + payload + "\r\n");
  StringSource source(body);
  auto f = find_multipart_file(kType, source);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->length, payload.size());
  EXPECT_EQ(source.read(f->offset, static_cast<std::size_t>(f->length)), payload);
  EXPECT_EQ(f->mime, "application/octet-stream; x=\"y\"") << "the type is kept as sent, checked later";
}

TEST(Multipart, MalformedBodiesAreBadRequests) {
  for (const auto& [type, body] : std::vector<std::pair<std::string, std::string>>{
           {"multipart/form-data", "--x\r\n\r\n"},
           {kType, "no delimiter at all"},
           {kType, "------b0und\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nunterminated"},
           {kType, "------b0und\r\nno blank line"},
           {kType, body_with("------b0und\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n")},
       }) {
    auto f = parse_multipart(type, body);
    ASSERT_FALSE(f.ok()) << body;
    EXPECT_EQ(f.status().code(), realtime::StatusCode::bad_request);
  }
}

}  // namespace
}  // namespace chatd
