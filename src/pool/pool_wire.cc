#include "pool/pool_wire.h"

#include <cstring>

namespace airlock::pool {

std::string EncodeRequest(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          const std::vector<std::string>& exec, int umask, bool with_notify, uint32_t terminal) {
  RequestHeader h;
  h.argc = static_cast<uint32_t>(argv.size());
  h.envc = static_cast<uint32_t>(env.size());
  h.execc = static_cast<uint32_t>(exec.size());
  h.umask = umask;
  h.nfds = with_notify ? kFdNotify + 1 : kFdNotify;
  h.terminal = terminal;
  std::string strings;
  for (const auto* list : {&argv, &env, &exec}) {
    for (const auto& s : *list) {
      strings.append(s.c_str());  // an embedded NUL would shift every later string: cut there
      strings.push_back('\0');
    }
  }
  h.strings_bytes = static_cast<uint32_t>(strings.size());
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out += strings;
  return out;
}

bool DecodeRequestInPlace(char* msg, size_t len, char** ptrs, size_t nptrs, DecodedRequest* out) {
  if (len < sizeof(RequestHeader)) return false;
  RequestHeader h;
  std::memcpy(&h, msg, sizeof h);
  if (h.magic != kRequestMagic || h.argc == 0) return false;
  if (h.nfds != kFdNotify && h.nfds != kFdNotify + 1) return false;
  if (h.strings_bytes != len - sizeof h || (h.terminal & ~7u) != 0) return false;
  const size_t total = static_cast<size_t>(h.argc) + h.envc + h.execc;
  if (h.execc == 0 || total > kMaxStrings || total + 2 > nptrs) return false;
  char* p = msg + sizeof h;
  char* end = msg + len;
  // argv[argc] NULL, envp[envc] NULL, exec[execc]
  char** argv = ptrs;
  char** envp = ptrs + h.argc + 1;
  char** exec = envp + h.envc + 1;
  size_t k = 0;
  for (size_t i = 0; i < total; ++i) {
    char* nul = static_cast<char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
    if (nul == nullptr) return false;
    if (i < h.argc) argv[k++] = p;
    else if (i < static_cast<size_t>(h.argc) + h.envc) envp[i - h.argc] = p;
    else exec[i - h.argc - h.envc] = p;
    p = nul + 1;
  }
  if (p != end) return false;
  argv[h.argc] = nullptr;
  envp[h.envc] = nullptr;
  out->argv = argv;
  out->envp = envp;
  out->exec = exec;
  out->execc = h.execc;
  out->umask = h.umask & 0777;
  out->nfds = h.nfds;
  out->terminal = h.terminal;
  return true;
}

}  // namespace airlock::pool
