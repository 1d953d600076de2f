// The scan's input broker (scan/input_broker.h) over a real socketpair: the host side opens what its own
// list names and nothing else; a malformed request or an index out of range ends the service.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "scan/input_broker.h"
#include "test_env.h"

namespace airlock::scan {
namespace {

struct Pair {
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0); }
  ~Pair() {
    for (int fd : fds) if (fd >= 0) ::close(fd);
  }
  void CloseClient() {
    ::close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

TEST(InputBroker, OpensListedInputsAndSaysWhyNot) {
  const std::string dir = airlock::test::MakeTempDir("input-broker");
  airlock::test::WriteFile(dir + "/a.txt", "alpha\n", 0600);
  const std::vector<std::string> inputs = {dir + "/a.txt", dir + "/missing", dir};
  Pair p;
  auto served = std::async(std::launch::async, [&] { return ServeInputs(p.fds[0], inputs); });
  InputClient client(p.fds[1]);
  auto n = client.Count();
  ASSERT_TRUE(n) << n.error().What();
  EXPECT_EQ(*n, 3u);
  auto a = client.Open(0);
  ASSERT_TRUE(a) << a.error().What();
  EXPECT_EQ(a->name, dir + "/a.txt");
  ASSERT_TRUE(a->fd);
  char buf[16] = {};
  EXPECT_EQ(::read(a->fd.get(), buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "alpha\n");
  EXPECT_EQ(::write(a->fd.get(), "x", 1), -1) << "the descriptor is read-only";
  auto missing = client.Open(1);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->fd);
  EXPECT_NE(missing->error.find("No such file"), std::string::npos) << missing->error;
  auto directory = client.Open(2);
  ASSERT_TRUE(directory);
  EXPECT_FALSE(directory->fd);
  EXPECT_NE(directory->error.find("not a regular file"), std::string::npos) << directory->error;
  p.CloseClient();
  EXPECT_TRUE(served.get()) << "EOF ends the service cleanly";
}

TEST(InputBroker, AnIndexOutOfRangeOrAMalformedRequestEndsTheService) {
  const std::vector<std::string> inputs = {"/etc/hostname"};
  {
    Pair p;
    auto served = std::async(std::launch::async, [&] { return ServeInputs(p.fds[0], inputs); });
    InputClient client(p.fds[1]);
    (void)client.Open(7);
    Status s = served.get();
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().What().find("input 7"), std::string::npos) << s.error().What();
  }
  {
    Pair p;
    auto served = std::async(std::launch::async, [&] { return ServeInputs(p.fds[0], inputs); });
    const std::string junk(64, 'x');  // a path, say: never read as one
    ASSERT_EQ(::send(p.fds[1], junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
    Status s = served.get();
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().What().find("malformed"), std::string::npos) << s.error().What();
  }
}

}  // namespace
}  // namespace airlock::scan
