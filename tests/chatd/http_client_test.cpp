// is_public_address() (http_client.h): what a Web Push request may connect
// to. Push endpoints come from users, so everything inward is refused.
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace chatd {
namespace {

bool is_public(const std::string& ip) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    v4->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), &v4->sin_addr), 1) << ip;
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    v6->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr), 1) << ip;
  }
  return is_public_address(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(HttpClient, PublicAddressesOnly) {
  for (const char* ip : {"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                         "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1",
                         "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
                         "::ffff:10.0.0.1"})
    EXPECT_FALSE(is_public(ip)) << ip;
  for (const char* ip : {"142.250.74.10", "172.32.0.1", "100.128.0.1", "8.8.8.8", "2a00:1450:4001::200e",
                         "::ffff:8.8.8.8"})
    EXPECT_TRUE(is_public(ip)) << ip;
}

}  // namespace
}  // namespace chatd
