// The policy's field description (policy/policy_fields.h) against everything that handles the fields:
// for every described field set to a non-default value, PolicyToToml -> LoadProfileFromString gives
// the same policy, ExplainPolicy shows it, the pool key changes exactly for sandbox fields, and each
// `airlock run` flag named for it sets it. (That every member is described is a static_assert in
// policy_fields.cc.)
#include "policy/policy_fields.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <toml++/toml.h>
#include <type_traits>
#include <vector>

#include "policy/policy_overrides.h"
#include "policy/profile_loader.h"
#include "pool/pool.h"
#include "rlimit/rlimit.h"

namespace airlock {

// gtest prints a Policy as its profile text (and its name) instead of raw bytes.
void PrintTo(const Policy& p, std::ostream* os) { *os << "policy " << p.name << "\n" << PolicyToToml(p); }

namespace {

// ---- a non-default value for each member type ----

bool NonDefault(bool v) { return !v; }
int NonDefault(int v) { return v + 2; }
unsigned NonDefault(unsigned v) { return v + 1000; }
uint64_t NonDefault(uint64_t v) { return v + 1000; }
// A size, because filesystem.tmp_size must parse as one; the other string fields take any text.
std::string NonDefault(const std::string& v) { return v == "2g" ? "3g" : "2g"; }
std::vector<std::string> NonDefault(std::vector<std::string> v) {
  v.push_back("extra");
  return v;
}
std::map<std::string, std::string> NonDefault(std::map<std::string, std::string> v) {
  v["K"] = "v=1";
  return v;
}
std::vector<int> NonDefault(std::vector<int> v) {
  v.push_back(7);
  return v;
}
Requirement NonDefault(Requirement r) { return r == Requirement::kDisabled ? Requirement::kRequired : Requirement::kDisabled; }
NetMode NonDefault(NetMode m) { return m == NetMode::kUser ? NetMode::kHost : NetMode::kUser; }
std::optional<std::string> NonDefault(const std::optional<std::string>&) { return "/x"; }
std::optional<unsigned> NonDefault(const std::optional<unsigned>&) { return 4242u; }
std::optional<uint64_t> NonDefault(const std::optional<uint64_t>&) { return uint64_t{123456789}; }
std::optional<double> NonDefault(const std::optional<double>&) { return 0.25; }
std::optional<std::chrono::milliseconds> NonDefault(const std::optional<std::chrono::milliseconds>&) {
  return std::chrono::milliseconds(1500);
}
std::vector<RlimitEntry> NonDefault(const std::vector<RlimitEntry>&) {
  return {{"nofile", 10, RLIM_INFINITY}, {"core", 0, 0}};
}
// One entry per kind, and every MountEntry field (AIRLOCK_MOUNT_FIELDS) away from its default.
std::vector<MountEntry> NonDefault(const std::vector<MountEntry>&) {
  using K = MountEntry::Kind;
  return {{K::kRoBind, "/usr", "/usr", 0, true, "sample"},
          {K::kBind, "/srv/work", "/work", 0, false, "sample"},
          {K::kDevBind, "/dev/fuse", "/dev/fuse", 0, false, "sample"},
          {K::kTmpfs, "", "/big", 1 << 20, false, "sample"},
          {K::kDir, "", "/d", 0, false, "sample"},
          {K::kSymlink, "../target", "/a/link", 0, false, "sample"},
          {K::kFile, "line1\nline2 \"quoted\"", "/etc/odd", 0, false, "sample"},
          {K::kOverlay, "/srv/app", "/app", 0, false, "sample", "/srv/boxes/b/layers/0", true}};
}

// `policy` with the described field `member` set to a non-default value.
Policy WithField(std::string_view member, Policy policy = {}) {
  bool found = false;
  ForEachPolicyField(policy, [&](const PolicyFieldInfo& info, auto& value) {
    if (info.member != member) return;
    value = NonDefault(value);
    found = true;
  });
  EXPECT_TRUE(found) << member;
  return policy;
}

// Every described field away from its default at once.
Policy EveryField() {
  Policy p;
  ForEachPolicyField(p, [](const PolicyFieldInfo&, auto& value) { value = NonDefault(value); });
  return p;
}

// What a profile can carry: provenance reset, rlimits in name order (a TOML table has no order).
Policy Persisted(Policy p) {
  Policy defaults;
  ForEachPolicyField(p, defaults, [](const PolicyFieldInfo& info, auto& value, const auto& fallback) {
    if (info.scope == FieldScope::kProvenance) value = fallback;
  });
  for (MountEntry& m : p.mounts) m.origin.clear();
  std::sort(p.limits.rlimits.begin(), p.limits.rlimits.end(),
            [](const RlimitEntry& a, const RlimitEntry& b) { return a.name < b.name; });
  return p;
}

// The described fields in which a and b differ ("" when equal), for failure messages.
std::string Differences(const Policy& a, const Policy& b) {
  std::string out;
  ForEachPolicyField(a, b, [&out](const PolicyFieldInfo& info, const auto& x, const auto& y) {
    if (!(x == y)) out += std::string(info.member) + " ";
  });
  return out;
}

Policy RoundTrip(const Policy& p) {
  std::string text = PolicyToToml(p);
  auto back = LoadProfileFromString(text, "rt.toml", "/");
  EXPECT_TRUE(back) << back.error().What() << "\n" << text;
  return back ? *back : Policy{};
}

TEST(PolicyFields, EveryMemberIsDescribedOnce) {
  std::set<std::string_view> members;
  for (const PolicyFieldInfo& f : kPolicyFields) {
    EXPECT_TRUE(members.insert(f.member).second) << "described twice: " << f.member;
    EXPECT_FALSE(f.explain.empty()) << f.member;
    EXPECT_EQ(f.toml.empty(), f.scope == FieldScope::kProvenance) << f.member << ": only provenance stays out of profiles";
  }
  // The same count policy_fields.cc asserts at compile time, here for the record.
  EXPECT_EQ(MemberCount<Namespaces>(), 8u);
  EXPECT_EQ(MemberCount<Policy>(), 27u);
}

TEST(PolicyFields, EachFieldRoundTripsThroughToml) {
  for (const PolicyFieldInfo& f : kPolicyFields) {
    SCOPED_TRACE(std::string(f.member));
    Policy p = WithField(f.member);
    Policy back = RoundTrip(p);
    EXPECT_EQ(Persisted(p), Persisted(back)) << "differs in: " << Differences(Persisted(p), Persisted(back));
    if (f.scope != FieldScope::kProvenance) {
      EXPECT_NE(Persisted(p), Persisted(Policy{})) << "not persisted";
    }
  }
  Policy all = EveryField();
  EXPECT_EQ(Persisted(all), Persisted(RoundTrip(all))) << Differences(Persisted(all), Persisted(RoundTrip(all)));
}

TEST(PolicyFields, BuiltinsRoundTripEqual) {
  for (const BuiltinProfile& b : BuiltinProfiles()) {
    auto p = LoadProfile(b.name, "/home/u");
    ASSERT_TRUE(p) << p.error().What();
    EXPECT_EQ(Persisted(*p), Persisted(RoundTrip(*p))) << b.name << ": " << Differences(Persisted(*p), Persisted(RoundTrip(*p)));
  }
}

// PolicyToToml writes exactly the described keys: nothing undescribed, nothing described left out.
TEST(PolicyFields, TomlKeysAreTheDescribedOnes) {
  toml::table root = toml::parse(PolicyToToml(EveryField()));
  std::set<std::string> written;
  for (const auto& [key, node] : root) {
    std::string k(key.str());
    if (k == "description") continue;
    if (const toml::table* t = node.as_table()) {
      for (const auto& [child, unused] : *t) written.insert(k + "." + std::string(child.str()));
    } else {
      written.insert(k);
    }
  }
  std::set<std::string> described;
  for (const PolicyFieldInfo& f : kPolicyFields) {
    if (!f.toml.empty()) described.insert(std::string(f.toml));
  }
  EXPECT_EQ(written, described);
}

TEST(PolicyFields, ExplainShowsEachField) {
  const std::string plain = ExplainPolicy(Policy{});
  for (const PolicyFieldInfo& f : kPolicyFields) {
    SCOPED_TRACE(std::string(f.member));
    std::string text = ExplainPolicy(WithField(f.member));
    EXPECT_NE(text, plain) << "--explain does not show a change of " << f.member;
    EXPECT_NE(text.find(f.explain), std::string::npos) << "label '" << f.explain << "' missing:\n" << text;
  }
  std::string mounts = ExplainPolicy(WithField("mounts"));
  for (const char* part : {"ro  bind", "rw  bind", "rw  dev", "tmpfs   /big size 1m", "dir     /d", "symlink /a/link -> ../target",
                           "file    /etc/odd", "(optional)", "[sample]", "/srv/work"}) {
    EXPECT_NE(mounts.find(part), std::string::npos) << part << "\n" << mounts;
  }
  std::string rl = ExplainPolicy(WithField("limits.rlimits"));
  EXPECT_NE(rl.find("rlimit nofile"), std::string::npos) << rl;
  EXPECT_NE(rl.find("soft 10 hard unlimited"), std::string::npos) << rl;
}

TEST(PolicyFields, PoolKeyChangesExactlyForSandboxFields) {
  const std::string plain = pool::PoolKey(Policy{});
  for (const PolicyFieldInfo& f : kPolicyFields) {
    SCOPED_TRACE(std::string(f.member));
    std::string key = pool::PoolKey(WithField(f.member));
    if (f.scope == FieldScope::kSandbox) {
      EXPECT_NE(key, plain) << "a warm sandbox could serve a policy that differs in " << f.member;
    } else {
      EXPECT_EQ(key, plain) << f.member << " is applied per run and must not split the pool";
    }
  }
  // Each MountEntry field that the sandbox uses is keyed too (origin is only for messages).
  std::vector<MountEntry> mounts = NonDefault(std::vector<MountEntry>{});
  Policy base;
  base.mounts = mounts;
  const std::string base_key = pool::PoolKey(base);
  auto changed = [&](auto edit) {
    Policy p = base;
    edit(p.mounts[3]);  // the tmpfs
    return pool::PoolKey(p) != base_key;
  };
  EXPECT_TRUE(changed([](MountEntry& m) { m.kind = MountEntry::Kind::kDir; }));
  EXPECT_TRUE(changed([](MountEntry& m) { m.src = "/elsewhere"; }));
  EXPECT_TRUE(changed([](MountEntry& m) { m.dst = "/other"; }));
  EXPECT_TRUE(changed([](MountEntry& m) { m.size_bytes = 2 << 20; }));
  EXPECT_TRUE(changed([](MountEntry& m) { m.optional = true; }));
  EXPECT_FALSE(changed([](MountEntry& m) { m.origin = "elsewhere"; }));
}

// ---- CLI overrides ----

struct FlagCase {
  std::string_view flag;
  void (*set)(PolicyOverrides&);
};

// One case per PolicyOverrides member (checked below by counting its members).
const FlagCase kFlagCases[] = {
    {"--bind", [](PolicyOverrides& o) { o.bind = {{"/a", "/b"}}; }},
    {"--ro-bind", [](PolicyOverrides& o) { o.ro_bind = {{"/a", "/b"}}; }},
    {"--dev-bind", [](PolicyOverrides& o) { o.dev_bind = {{"/dev/fuse", "/dev/fuse"}}; }},
    {"--tmpfs", [](PolicyOverrides& o) { o.tmpfs = {"/t:1m"}; }},
    {"--tmp-size", [](PolicyOverrides& o) { o.tmp_size = "128m"; }},
    {"--shm-size", [](PolicyOverrides& o) { o.shm_size = "128m"; }},
    {"--home-size", [](PolicyOverrides& o) { o.home_size = "1g"; }},
    {"--tmpfs-inodes", [](PolicyOverrides& o) { o.tmpfs_inodes = "1000"; }},
    {"--chdir", [](PolicyOverrides& o) { o.chdir = "/somewhere"; }},
    {"--workdir", [](PolicyOverrides& o) { o.workdir = true; }},
    {"--net", [](PolicyOverrides& o) { o.net = "host"; }},
    {"--net-allow", [](PolicyOverrides& o) { o.net = "user", o.net_allow = {"example.org:443"}; }},
    {"--listen", [](PolicyOverrides& o) { o.listen = {2828}; }},
    {"--memory", [](PolicyOverrides& o) { o.memory = "64m"; }},
    {"--cpu", [](PolicyOverrides& o) { o.cpu = "0.5"; }},
    {"--timeout", [](PolicyOverrides& o) { o.timeout = "3s"; }},
    {"--pids", [](PolicyOverrides& o) { o.pids = "9"; }},
    {"--rlimit", [](PolicyOverrides& o) { o.rlimits = {"nofile=64"}; }},
    {"--setenv", [](PolicyOverrides& o) { o.setenv = {"A=b"}; }},
    {"--keep-env", [](PolicyOverrides& o) { o.keep_env = {"HOME"}; }},
    {"--pass-fd", [](PolicyOverrides& o) { o.pass_fds = {5}; }},
    {"--host-terminal", [](PolicyOverrides& o) { o.host_terminal = true; }},
    {"--hostname", [](PolicyOverrides& o) { o.hostname = "h"; }},
    {"--uid", [](PolicyOverrides& o) { o.uid = 1000; }},
    {"--gid", [](PolicyOverrides& o) { o.gid = 1000; }},
    {"--allow", [](PolicyOverrides& o) { o.allow = {"@ptrace"}; }},
    {"--deny", [](PolicyOverrides& o) { o.deny = {"@mount"}; }},
    {"--landlock", [](PolicyOverrides& o) { o.landlock = "disabled"; }},
};

std::vector<std::string_view> Flags(std::string_view list) {
  std::vector<std::string_view> out;
  std::istringstream in{std::string(list)};
  std::string f;
  while (in >> f) {
    for (const FlagCase& c : kFlagCases) {
      if (c.flag == f) out.push_back(c.flag);
    }
    if (out.empty() || out.back() != f) ADD_FAILURE() << "no test case for the described flag " << f;
  }
  return out;
}

TEST(PolicyFields, EachDescribedFlagSetsItsField) {
  EXPECT_EQ(MemberCount<PolicyOverrides>(), std::size(kFlagCases)) << "a PolicyOverrides member has no case here";
  std::set<std::string_view> named;
  for (const PolicyFieldInfo& f : kPolicyFields) {
    for (std::string_view flag : Flags(f.cli)) {
      SCOPED_TRACE(std::string(f.member) + " " + std::string(flag));
      named.insert(flag);
      PolicyOverrides o;
      for (const FlagCase& c : kFlagCases) {
        if (c.flag == flag) c.set(o);
      }
      Policy p;
      ASSERT_TRUE(ApplyOverrides(p, o, "/cwd", ParseRlimitSpec));
      bool changed = false;
      const Policy before;
      ForEachPolicyField(p, before, [&](const PolicyFieldInfo& info, const auto& now, const auto& old) {
        if (info.member == f.member) changed = !(now == old);
      });
      EXPECT_TRUE(changed);
      // The flags of client-side fields are exactly those that leave a warm sandbox's policy alone.
      EXPECT_EQ(o.ChangesSandbox(), f.scope == FieldScope::kSandbox);
    }
  }
  for (const FlagCase& c : kFlagCases) EXPECT_TRUE(named.count(c.flag)) << c.flag << " is not named in policy_fields.h";
}

// The flags' mounts, a parent before what is below it whatever their order: a tmpfs named after a
// bind into it no longer hides the bind (--keepassxc's socket in the browser's /run/user/1000).
TEST(PolicyFields, FlagMountsAreParentsFirst) {
  PolicyOverrides o;
  o.ro_bind = {{"/host/sock", "/run/user/1000/app/x"}, {"/host/a", "/a"}};
  o.bind = {{"/host/b", "/run/user/1000/b/"}};
  o.tmpfs = {"/run/user/1000:1m"};
  Policy p;
  p.mounts.push_back(MountEntry{});  // the profile's: left first
  p.mounts.back().dst = "/z/y/x/w";
  ASSERT_TRUE(ApplyOverrides(p, o, "/cwd", ParseRlimitSpec));
  std::vector<std::string> order;
  for (const auto& m : p.mounts) order.push_back(m.dst);
  EXPECT_EQ(order, (std::vector<std::string>{"/z/y/x/w", "/a", "/run/user/1000", "/run/user/1000/b/", "/run/user/1000/app/x"}));
}

TEST(PolicyFields, OverrideErrorsNameTheFlag) {
  auto error = [](void (*set)(PolicyOverrides&)) {
    PolicyOverrides o;
    set(o);
    Policy p;
    auto s = ApplyOverrides(p, o, "/cwd", ParseRlimitSpec);
    return s ? std::string() : s.error().What();
  };
  EXPECT_NE(error([](PolicyOverrides& o) { o.tmpfs = {"/t:lots"}; }).find("--tmpfs /t:lots"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.net = "wifi"; }).find("--net must be none, host, user or sinkhole, not 'wifi'"),
            std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.cpu = "0"; }).find("--cpu takes a positive number"), std::string::npos);
  // Was the profile's error (122) blaming "policy 'default'": the flags are named, with the fix.
  EXPECT_NE(error([](PolicyOverrides& o) { o.net_allow = {"example.org:443"}; }).find("--net-allow needs --net user"),
            std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.rlimits = {"bogus=1"}; }).find("--rlimit bogus=1"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.setenv = {"=x"}; }).find("--setenv takes KEY=VALUE"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.landlock = "maybe"; }).find("--landlock must be"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.memory = "lots"; }).find("--memory"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.pids = "many"; }).find("--pids: bad count 'many'"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.tmp_size = "0"; }).find("--tmp-size must be > 0"), std::string::npos);
  EXPECT_NE(error([](PolicyOverrides& o) { o.tmpfs_inodes = "0"; }).find("--tmpfs-inodes takes a positive number"),
            std::string::npos);
  // Mounts come first: with two bad values the --tmpfs one is reported.
  EXPECT_NE(error([](PolicyOverrides& o) {
              o.tmpfs = {"/t:lots"};
              o.landlock = "maybe";
            }).find("--tmpfs"),
            std::string::npos);
}

}  // namespace
}  // namespace airlock
