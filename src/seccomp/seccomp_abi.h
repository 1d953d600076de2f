// Kernel ABI for seccomp that libc headers may lack (older distributions). One place for it.
// Everything here is guarded so the system headers win when they are new enough.
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>

#include <cstdint>

#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif
#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_RECV
#define SECCOMP_IOC_MAGIC '!'
#define SECCOMP_IOCTL_NOTIF_RECV _IOWR(SECCOMP_IOC_MAGIC, 0, struct seccomp_notif)
#define SECCOMP_IOCTL_NOTIF_SEND _IOWR(SECCOMP_IOC_MAGIC, 1, struct seccomp_notif_resp)
#define SECCOMP_IOCTL_NOTIF_ID_VALID _IOW(SECCOMP_IOC_MAGIC, 2, __u64)
#endif

// Linux 6.6: the supervisor asks for synchronous wake-ups (the woken side runs on the waker's CPU).
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS _IOW('!', 4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace airlock::seccomp_abi {

// x32 system calls arrive under AUDIT_ARCH_X86_64 with this bit set in the number.
inline constexpr uint32_t kX32SyscallBit = 0x40000000U;
inline constexpr uint32_t kAuditArchX86_64 = AUDIT_ARCH_X86_64;
inline constexpr uint32_t kAuditArchI386 = AUDIT_ARCH_I386;

// All CLONE_NEW* flags valid in clone(2)'s flags word (CLONE_NEWTIME shares its bit with CSIGNAL
// there and is only reachable through clone3/unshare).
inline constexpr uint64_t kCloneNamespaceFlags = 0x7E020000ULL;  // NEWNS|NEWCGROUP|UTS|IPC|USER|PID|NET
inline constexpr uint64_t kCloneNewTime = 0x00000080ULL;

// Offsets into struct seccomp_data, for BPF loads.
inline constexpr uint32_t kOffsetNr = 0;
inline constexpr uint32_t kOffsetArch = 4;
inline constexpr uint32_t kOffsetArgs = 16;

}  // namespace airlock::seccomp_abi
