// Precompiled seccomp programs. libseccomp needs ~3-4 ms to build and verify the default filter;
// `airlock run` must not pay that on every launch. At build time `seccomp_precompile` compiles the
// built-in variants (default policy with and without denial counting, and with the monitor's
// syscalls) and embeds them; at run time CompileSeccompCached() returns the embedded program when
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

// Registers an embedded program under its key (called by the generated registration function).
void RegisterPrecompiledSeccomp(std::string key, std::string serialized);
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
