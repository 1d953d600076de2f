#include "pool/pool_wire.h"

#include <cstring>

#include "core/nul_tables.h"

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
  for (const auto* list : {&argv, &env, &exec}) AppendNulStrings(strings, *list);
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
  char* end = msg + len;
  NulTables t;
  if (SplitNulTables(msg + sizeof h, end, h.argc, h.envc, h.execc, ptrs, &t) != end) return false;
  out->argv = t.argv;
  out->envp = t.envp;
  out->exec = t.exec;
  out->execc = h.execc;
  out->umask = h.umask & 0777;
  out->nfds = h.nfds;
  out->terminal = h.terminal;
  return true;
}

}  // namespace airlock::pool
