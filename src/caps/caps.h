// Capabilities: the payload keeps none. Child side only, allocation-free.
#pragma once

namespace airlock {

// Drops every capability from the bounding set (needs CAP_SETPCAP, so call before switching uid),
// and locks the securebits so that a later uid 0 or execve cannot regain capabilities.
// Returns 0 or -errno.
int DropBoundingAndLockSecurebitsInChild();

// Clears ambient, inheritable, permitted and effective sets. Call after setresuid. Returns 0 or -errno.
int ClearCapabilitiesInChild();

// Sets the effective set to the permitted set (after a uid change with PR_SET_KEEPCAPS). 0 or -errno.
int RaiseEffectiveCapabilitiesInChild();

}  // namespace airlock
