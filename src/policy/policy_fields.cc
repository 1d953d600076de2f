// The compile-time check that policy_fields.h describes every member of the policy, and SandboxPart.
#include "policy/policy_fields.h"


namespace airlock {
namespace {

// Described fields whose C++ path starts with `prefix` ("ns.").
constexpr size_t Described(std::string_view prefix) {
  size_t n = 0;
  for (const PolicyFieldInfo& f : kPolicyFields) n += f.member.starts_with(prefix) ? 1 : 0;
  return n;
}

// Distinct first components of the described paths: Policy's own members.
constexpr size_t DescribedTopLevel() {
  size_t n = 0;
  for (size_t i = 0; i < std::size(kPolicyFields); ++i) {
    std::string_view head = kPolicyFields[i].member.substr(0, kPolicyFields[i].member.find('.'));
    bool seen = false;
    for (size_t j = 0; j < i; ++j) seen = seen || kPolicyFields[j].member.substr(0, kPolicyFields[j].member.find('.')) == head;
    n += seen ? 0 : 1;
  }
  return n;
}

#define AIRLOCK_COUNT_ONE(...) +1
constexpr size_t kMountFieldCount = 0 AIRLOCK_MOUNT_FIELDS(AIRLOCK_COUNT_ONE);
constexpr size_t kRlimitFieldCount = 0 AIRLOCK_RLIMIT_FIELDS(AIRLOCK_COUNT_ONE);
#undef AIRLOCK_COUNT_ONE

// A failure here means a member was added to (or removed from) policy.h without describing it in
// policy_fields.h: add its line there, then make the tests in policy_fields_test.cc pass.
#define AIRLOCK_DESCRIBED(Type, prefix) \
  static_assert(MemberCount<Type>() == Described(prefix), #Type " has a member that policy_fields.h does not describe")
AIRLOCK_DESCRIBED(Namespaces, "ns.");
AIRLOCK_DESCRIBED(IdentityPolicy, "identity.");
AIRLOCK_DESCRIBED(SeccompPolicy, "seccomp.");
AIRLOCK_DESCRIBED(LandlockPolicy, "landlock.");
AIRLOCK_DESCRIBED(NetPolicy, "net.");
AIRLOCK_DESCRIBED(Limits, "limits.");
#undef AIRLOCK_DESCRIBED
static_assert(MemberCount<Policy>() == DescribedTopLevel(), "Policy has a member that policy_fields.h does not describe");
static_assert(MemberCount<MountEntry>() == kMountFieldCount, "MountEntry has a member AIRLOCK_MOUNT_FIELDS does not describe");
static_assert(MemberCount<RlimitEntry>() == kRlimitFieldCount, "RlimitEntry has a member AIRLOCK_RLIMIT_FIELDS does not describe");

}  // namespace

Policy SandboxPart(const Policy& policy) {
  Policy out = policy;
  const Policy defaults;
  ForEachPolicyField(out, defaults, [](const PolicyFieldInfo& info, auto& member, const auto& fallback) {
    if (info.scope != FieldScope::kSandbox) member = fallback;
  });
  for (MountEntry& m : out.mounts) m.origin.clear();  // kProvenance inside a list element
  return out;
}

}  // namespace airlock
