// The warm-sandbox request format: decoded in place by the sandbox without allocating; everything
// that does not add up is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "pool/pool_wire.h"

using namespace airlock::pool;

namespace {

struct Decoded {
  bool ok = false;
  DecodedRequest req;
  std::vector<char> buf;
  std::vector<char*> ptrs;
};

Decoded Decode(std::string msg, size_t nptrs = 64) {
  Decoded d;
  d.buf.assign(msg.begin(), msg.end());
  d.ptrs.resize(nptrs);
  d.ok = DecodeRequestInPlace(d.buf.data(), d.buf.size(), d.ptrs.data(), d.ptrs.size(), &d.req);
  return d;
}

}  // namespace

TEST(PoolWire, RoundTrip) {
  std::string m = EncodeRequest({"/bin/sh", "-c", "echo hi"}, {"PATH=/usr/bin", "HOME=/home/sandbox"},
                                {"/bin/sh"}, 027, true);
  auto d = Decode(m);
  ASSERT_TRUE(d.ok);
  EXPECT_STREQ(d.req.argv[0], "/bin/sh");
  EXPECT_STREQ(d.req.argv[2], "echo hi");
  EXPECT_EQ(d.req.argv[3], nullptr);
  EXPECT_STREQ(d.req.envp[1], "HOME=/home/sandbox");
  EXPECT_EQ(d.req.envp[2], nullptr);
  ASSERT_EQ(d.req.execc, 1u);
  EXPECT_STREQ(d.req.exec[0], "/bin/sh");
  EXPECT_EQ(d.req.umask, 027);
  EXPECT_EQ(d.req.nfds, static_cast<uint32_t>(kFdNotify + 1));
  // Without the listener channel one fd fewer is expected.
  EXPECT_EQ(Decode(EncodeRequest({"a"}, {}, {"/a"}, 022, false)).req.nfds, static_cast<uint32_t>(kFdNotify));
}

TEST(PoolWire, EmptyEnvironmentIsFine) {
  auto d = Decode(EncodeRequest({"true"}, {}, {"/usr/bin/true", "/bin/true"}, 022, false));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.req.envp[0], nullptr);
  EXPECT_EQ(d.req.execc, 2u);
}

TEST(PoolWire, RefusesWhatDoesNotAddUp) {
  std::string good = EncodeRequest({"/bin/true", "x"}, {"A=1"}, {"/bin/true"}, 022, false);
  EXPECT_FALSE(Decode(good.substr(0, good.size() - 1)).ok) << "truncated";
  EXPECT_FALSE(Decode(good + "extra").ok) << "trailing bytes";
  EXPECT_FALSE(Decode(good.substr(0, sizeof(RequestHeader) - 1)).ok) << "short header";
  EXPECT_FALSE(Decode("").ok);
  std::string bad_magic = good;
  bad_magic[0] ^= 1;
  EXPECT_FALSE(Decode(bad_magic).ok);
  // Counts larger than the strings present.
  RequestHeader h;
  std::memcpy(&h, good.data(), sizeof h);
  RequestHeader more = h;
  more.argc += 1;
  std::string m = good;
  std::memcpy(m.data(), &more, sizeof more);
  EXPECT_FALSE(Decode(m).ok);
  // No argv, no exec candidate, a bogus fd count.
  for (auto mutate : {+[](RequestHeader& x) { x.argc = 0; x.envc += 2; }, +[](RequestHeader& x) { x.execc = 0; },
                      +[](RequestHeader& x) { x.nfds = 9; }, +[](RequestHeader& x) { x.strings_bytes += 1; }}) {
    RequestHeader y = h;
    mutate(y);
    std::string z = good;
    std::memcpy(z.data(), &y, sizeof y);
    EXPECT_FALSE(Decode(z).ok);
  }
  // The last string must be terminated.
  std::string unterminated = good;
  unterminated.back() = 'x';
  EXPECT_FALSE(Decode(unterminated).ok);
  // Not enough room for the pointer arrays.
  EXPECT_FALSE(Decode(good, 3).ok);
}

TEST(PoolWire, EmbeddedNulCannotShiftStrings) {
  std::string arg("a\0b", 3);
  auto d = Decode(EncodeRequest({"/bin/echo", arg, "last"}, {}, {"/bin/echo"}, 022, false));
  ASSERT_TRUE(d.ok);
  EXPECT_STREQ(d.req.argv[1], "a");
  EXPECT_STREQ(d.req.argv[2], "last");
}

TEST(PoolWire, TerminalBitsTravelAndNothingElse) {
  EXPECT_EQ(Decode(EncodeRequest({"a"}, {}, {"/a"}, 022, true)).req.terminal, 0u);
  auto d = Decode(EncodeRequest({"a"}, {}, {"/a"}, 022, true, 5u));  // stdin and stderr are the pty
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.req.terminal, 5u);
  // Only stdio (bits 0-2) can be the terminal.
  EXPECT_FALSE(Decode(EncodeRequest({"a"}, {}, {"/a"}, 022, true, 8u)).ok);
}
