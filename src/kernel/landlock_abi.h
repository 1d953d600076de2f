// Landlock ABI definitions up to ABI 6 that Debian 12's <linux/landlock.h> (kernel 6.1 headers,
// ABI 2) lacks. The access-right macros are guarded with #ifndef so a newer header wins; the rule
// type and the structs that grew after 6.1 live in airlock::kernel under our own names so they never
// clash with an enum or struct of the same name in newer headers. Layouts follow the kernel UAPI.
#pragma once

#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

// ABI 3 (Linux 6.2).
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
// ABI 5 (Linux 6.10).
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
// ABI 4 (Linux 6.7).
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
// ABI 6 (Linux 6.12).
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

namespace airlock::kernel {

// enum landlock_rule_type values.
inline constexpr int kLandlockRulePathBeneath = 1;
inline constexpr int kLandlockRuleNetPort = 2;  // ABI 4

// struct landlock_ruleset_attr as of ABI 6. The kernel accepts a shorter size from older callers;
// pass LandlockRulesetAttrSize(abi) so older kernels (which reject unknown non-zero tail fields with
// E2BIG) get only the fields they know.
struct LandlockRulesetAttr {
  uint64_t handled_access_fs = 0;
  uint64_t handled_access_net = 0;  // ABI 4
  uint64_t scoped = 0;              // ABI 6
};
static_assert(sizeof(LandlockRulesetAttr) == 24);

inline constexpr unsigned long LandlockRulesetAttrSize(int abi) {
  return abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
}

// struct landlock_path_beneath_attr (packed in the UAPI).
struct __attribute__((packed)) LandlockPathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};
static_assert(sizeof(LandlockPathBeneathAttr) == 12);

// struct landlock_net_port_attr (ABI 4).
struct LandlockNetPortAttr {
  uint64_t allowed_access;
  uint64_t port;
};
static_assert(sizeof(LandlockNetPortAttr) == 16);

// All filesystem rights of each ABI.
inline constexpr uint64_t kLandlockFsAbi1 =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
    LANDLOCK_ACCESS_FS_MAKE_SYM;
inline constexpr uint64_t kLandlockFsRefer = 1ULL << 13;  // ABI 2 (LANDLOCK_ACCESS_FS_REFER)

// Rights that only make sense on a directory (the kernel rejects them on a file rule).
inline constexpr uint64_t kLandlockFsDirOnly =
    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
    LANDLOCK_ACCESS_FS_MAKE_SYM | kLandlockFsRefer;

// Raw syscalls (glibc has no wrappers). Allocation-free, async-signal-safe.
inline long LandlockCreateRuleset(const LandlockRulesetAttr* attr, unsigned long size, uint32_t flags) {
  return ::syscall(SYS_landlock_create_ruleset, attr, size, flags);
}
inline long LandlockAddRule(int ruleset_fd, int rule_type, const void* attr, uint32_t flags) {
  return ::syscall(SYS_landlock_add_rule, ruleset_fd, rule_type, attr, flags);
}
inline long LandlockRestrictSelf(int ruleset_fd, uint32_t flags) {
  return ::syscall(SYS_landlock_restrict_self, ruleset_fd, flags);
}

}  // namespace airlock::kernel
