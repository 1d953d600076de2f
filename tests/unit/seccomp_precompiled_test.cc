// The embedded (build-time) seccomp programs must equal a fresh compilation, byte for byte.
#include <gtest/gtest.h>

#include "monitor/monitor.h"
#include "seccomp/program_cache.h"

using namespace airlock;

TEST(SeccompPrecompiled, EveryEmbeddedVariantEqualsAFreshCompile) {
  RegisterBuiltinSeccompPrograms();
  auto keys = PrecompiledSeccompKeys();
  auto variants = PrecompiledSeccompVariants(MonitoredSyscalls(), ObservedSyscalls(), MonitorNotifyFilters());
  ASSERT_EQ(keys.size(), variants.size());
  for (const auto& [policy, options] : variants) {
    auto fresh = CompileSeccomp(policy, options);
    ASSERT_TRUE(fresh) << fresh.error().What();
    auto cached = CompileSeccompCached(policy, options);
    ASSERT_TRUE(cached);
    EXPECT_EQ(SerializeSeccompProgram(*cached), SerializeSeccompProgram(*fresh)) << SeccompCacheKey(policy, options);
  }
}

TEST(SeccompPrecompiled, SerializationRoundTripsAndRejectsCorruption) {
  auto p = CompileSeccomp(SeccompPolicy{}, {});
  ASSERT_TRUE(p);
  auto text = SerializeSeccompProgram(*p);
  auto back = DeserializeSeccompProgram(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(SerializeSeccompProgram(*back), text);
  EXPECT_FALSE(DeserializeSeccompProgram("airlock-seccomp-v1\ninsns 5\n1 2 3"));
  EXPECT_FALSE(DeserializeSeccompProgram("garbage"));
}

TEST(SeccompPrecompiled, NonDefaultPoliciesAreCompiledNotLookedUp) {
  RegisterBuiltinSeccompPrograms();
  SeccompPolicy p;
  p.allow = {"@ptrace"};
  auto cached = CompileSeccompCached(p, {});
  auto fresh = CompileSeccomp(p, {});
  ASSERT_TRUE(cached && fresh);
  EXPECT_EQ(SerializeSeccompProgram(*cached), SerializeSeccompProgram(*fresh));
  EXPECT_TRUE(cached->allowed.count("ptrace"));
}
