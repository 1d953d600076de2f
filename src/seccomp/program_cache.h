// Precompiled seccomp programs. libseccomp needs ~3-4 ms to build and verify the default filter;
// `airlock run` must not pay that on every launch. At build time `seccomp_precompile` compiles the
// built-in variants (default policy with and without denial counting, and with the monitor's
// syscalls) and embeds them (the filters as instruction arrays); at run time CompileSeccompCached()
// returns the embedded program when
// the policy and options match exactly, and compiles otherwise. A unit test recompiles every
// embedded variant and requires byte-identical programs, so the cache cannot drift from the code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "seccomp/seccomp.h"

namespace airlock {

std::string SeccompCacheKey(const SeccompPolicy& policy, const SeccompCompileOptions& options);
std::string SerializeSeccompProgram(const SeccompProgram& program);
Result<SeccompProgram> DeserializeSeccompProgram(std::string_view text);

// An embedded program as the generated file holds it: both instruction arrays as they are loaded, the
// rest (from "notif" on) in the serialized text's format. Kept by reference: it must live as long as
// the process (the generated file's constants do). Taking a program from it copies two arrays and
// reads a few hundred words: ~0.1 ms less per launch than parsing the whole text.
struct EmbeddedSeccomp {
  const sock_filter* insns = nullptr;
  size_t insns_count = 0;
  const sock_filter* verdict = nullptr;
  size_t verdict_count = 0;
  std::string_view rest;
};
// The serialized form of a program as the generator embeds it: the two arrays as C++ initializers
// ("{code,jt,jf,k},...") and the rest as text.
struct EmbeddedSeccompText {
  std::string insns;
  std::string verdict;
  std::string rest;
};
EmbeddedSeccompText EmbedSeccompProgram(const SeccompProgram& program);

// Registers an embedded program under its key (called by the generated registration function).
void RegisterPrecompiledSeccomp(std::string key, EmbeddedSeccomp program);
// The registered keys (for tests).
std::vector<std::string> PrecompiledSeccompKeys();

// CompileSeccomp with the embedded programs as a cache.
Result<SeccompProgram> CompileSeccompCached(const SeccompPolicy& policy, const SeccompCompileOptions& options);

// Defined in the generated precompiled_seccomp.cc (library airlock_seccomp_builtin): registers the
// embedded programs. Call once at start-up in binaries that link that library.
void RegisterBuiltinSeccompPrograms();

// The variants the build precompiles: (policy, options) pairs.
std::vector<std::pair<SeccompPolicy, SeccompCompileOptions>> PrecompiledSeccompVariants(
    const std::vector<std::string>& monitor_syscalls, const std::vector<std::string>& observed_syscalls,
    const std::vector<NotifyArgFilter>& monitor_filters);

}  // namespace airlock
