#include "sandbox/exec_wire.h"

#include <cstring>

#include "core/nul_tables.h"

namespace airlock {

std::string EncodeExec(uint32_t magic, const ExecMessage& m) {
  ExecHeader h;
  h.magic = magic;
  h.argc = static_cast<uint32_t>(m.argv.size());
  h.envc = static_cast<uint32_t>(m.env.size());
  h.execc = static_cast<uint32_t>(m.exec.size());
  h.umask = m.umask;
  h.terminal = m.terminal;
  std::string strings;
  for (const auto* list : {&m.argv, &m.env, &m.exec}) AppendNulStrings(strings, *list);
  AppendNulStrings(strings, {m.cwd});
  h.strings_bytes = static_cast<uint32_t>(strings.size());
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out += strings;
  return out;
}

bool DecodeExecInPlace(uint32_t magic, char* msg, size_t len, char** ptrs, size_t nptrs, DecodedExec* out) {
  if (len < sizeof(ExecHeader) || len > kMaxExecMessage) return false;
  ExecHeader h;
  std::memcpy(&h, msg, sizeof h);
  if (h.magic != magic || h.argc == 0 || (h.terminal & ~7u) != 0 || (h.umask & ~0777) != 0) return false;
  if (h.strings_bytes != len - sizeof h) return false;
  if (h.argc > kMaxExecStrings || h.envc > kMaxExecStrings || h.execc > kMaxExecStrings) return false;
  const size_t total = static_cast<size_t>(h.argc) + h.envc + h.execc;
  if (total > kMaxExecStrings || total + 2 > nptrs) return false;
  if (magic == kExecInitMagic && h.execc == 0) return false;
  char* end = msg + len;
  NulTables t;
  char* p = SplitNulTables(msg + sizeof h, end, h.argc, h.envc, h.execc, ptrs, &t);
  char* cwd_end = p == nullptr ? nullptr : static_cast<char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
  if (cwd_end == nullptr || cwd_end + 1 != end || t.argv[0][0] == '\0') return false;
  out->cwd = p;  // the last string
  if (out->cwd[0] != '\0' && out->cwd[0] != '/') return false;
  out->argv = t.argv;
  out->envp = t.envp;
  out->exec = t.exec;
  out->execc = h.execc;
  out->umask = h.umask;
  out->terminal = h.terminal;
  return true;
}

bool DecodeExec(uint32_t magic, const std::string& msg, ExecMessage* out) {
  if (msg.size() > kMaxExecMessage) return false;
  std::string copy = msg;
  std::vector<char*> ptrs(kMaxExecStrings + 2);
  DecodedExec d;
  if (!DecodeExecInPlace(magic, copy.data(), copy.size(), ptrs.data(), ptrs.size(), &d)) return false;
  out->argv.clear();
  out->env.clear();
  out->exec.clear();
  for (char** a = d.argv; *a != nullptr; ++a) out->argv.emplace_back(*a);
  for (char** e = d.envp; *e != nullptr; ++e) out->env.emplace_back(*e);
  for (size_t i = 0; i < d.execc; ++i) out->exec.emplace_back(d.exec[i]);
  out->cwd = d.cwd;
  out->umask = d.umask;
  out->terminal = d.terminal;
  return true;
}

}  // namespace airlock
