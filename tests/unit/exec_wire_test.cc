// `airlock exec`'s request format (sandbox/exec_wire.h): decoded in place by init without allocating;
// everything that does not add up is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "sandbox/exec_wire.h"

using namespace airlock;

namespace {

ExecMessage Sample() {
  ExecMessage m;
  m.argv = {"/bin/sh", "-c", "echo hi"};
  m.env = {"PATH=/usr/bin", "HOME=/home/sandbox"};
  m.exec = {"/bin/sh"};
  m.cwd = "/tmp";
  m.umask = 027;
  m.terminal = 5;
  return m;
}

bool DecodeInit(std::string msg, DecodedExec* out = nullptr, size_t nptrs = 64) {
  std::vector<char*> ptrs(nptrs);
  DecodedExec d;
  bool ok = DecodeExecInPlace(kExecInitMagic, msg.data(), msg.size(), ptrs.data(), ptrs.size(), &d);
  if (out != nullptr) *out = d;
  return ok;
}

void SetHeader(std::string& msg, size_t offset, uint32_t value) { std::memcpy(msg.data() + offset, &value, sizeof value); }

}  // namespace

TEST(ExecWire, RoundTrip) {
  std::string msg = EncodeExec(kExecInitMagic, Sample());
  std::vector<char*> ptrs(64);
  DecodedExec d;
  ASSERT_TRUE(DecodeExecInPlace(kExecInitMagic, msg.data(), msg.size(), ptrs.data(), ptrs.size(), &d));
  EXPECT_STREQ(d.argv[0], "/bin/sh");
  EXPECT_STREQ(d.argv[2], "echo hi");
  EXPECT_EQ(d.argv[3], nullptr);
  EXPECT_STREQ(d.envp[1], "HOME=/home/sandbox");
  EXPECT_EQ(d.envp[2], nullptr);
  ASSERT_EQ(d.execc, 1u);
  EXPECT_STREQ(d.exec[0], "/bin/sh");
  EXPECT_STREQ(d.cwd, "/tmp");
  EXPECT_EQ(d.umask, 027);
  EXPECT_EQ(d.terminal, 5u);
  ExecMessage back;
  ASSERT_TRUE(DecodeExec(kExecInitMagic, EncodeExec(kExecInitMagic, Sample()), &back));
  EXPECT_EQ(back.argv, Sample().argv);
  EXPECT_EQ(back.env, Sample().env);
}

TEST(ExecWire, TheOtherHopsMagicIsRefused) {
  EXPECT_FALSE(DecodeInit(EncodeExec(kExecClientMagic, Sample())));
  ExecMessage m = Sample();
  m.exec.clear();  // a client's request has no exec candidates; init's must
  ExecMessage out;
  EXPECT_TRUE(DecodeExec(kExecClientMagic, EncodeExec(kExecClientMagic, m), &out));
  EXPECT_FALSE(DecodeInit(EncodeExec(kExecInitMagic, m)));
}

TEST(ExecWire, MalformedMessagesAreRefused) {
  const std::string good = EncodeExec(kExecInitMagic, Sample());
  EXPECT_FALSE(DecodeInit(good.substr(0, 10)));                 // shorter than the header
  EXPECT_FALSE(DecodeInit(good.substr(0, good.size() - 1)));    // strings_bytes does not add up
  EXPECT_FALSE(DecodeInit(good + "x"));
  std::string no_nul = good;
  no_nul.back() = 'x';                                          // last string unterminated
  EXPECT_FALSE(DecodeInit(no_nul));
  std::string many = good;
  SetHeader(many, offsetof(ExecHeader, argc), 0x7fffffff);      // counts beyond the message
  EXPECT_FALSE(DecodeInit(many));
  std::string none = good;
  SetHeader(none, offsetof(ExecHeader, argc), 0);               // no command
  EXPECT_FALSE(DecodeInit(none));
  std::string tty = good;
  SetHeader(tty, offsetof(ExecHeader, terminal), 8);            // only stdio 0-2 can be a terminal
  EXPECT_FALSE(DecodeInit(tty));
  std::string um = good;
  SetHeader(um, offsetof(ExecHeader, umask), 01000);
  EXPECT_FALSE(DecodeInit(um));
  EXPECT_FALSE(DecodeInit(good, nullptr, 4));                   // more strings than pointers
  ExecMessage rel = Sample();
  rel.cwd = "tmp";                                              // cwd must be absolute (or empty)
  EXPECT_FALSE(DecodeInit(EncodeExec(kExecInitMagic, rel)));
  ExecMessage empty = Sample();
  empty.argv[0] = "";
  EXPECT_FALSE(DecodeInit(EncodeExec(kExecInitMagic, empty)));
  EXPECT_FALSE(DecodeInit(std::string(kMaxExecMessage + 1, '\0')));
}
