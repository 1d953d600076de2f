#include "seccomp/bpf_eval.h"

#include <cstring>

#include "seccomp/seccomp_abi.h"

namespace airlock {
namespace {

constexpr uint32_t kMemWords = BPF_MEMWORDS;

bool LoadWord(const seccomp_data& data, uint32_t offset, uint32_t* out, bool* read_args) {
  if (offset % 4 != 0 || offset + 4 > sizeof(seccomp_data)) return false;
  std::memcpy(out, reinterpret_cast<const char*>(&data) + offset, 4);
  if (offset >= 8) *read_args = true;  // instruction_pointer or args
  return true;
}

bool Alu(uint16_t op, uint32_t* a, uint32_t operand) {
  switch (op) {
    case BPF_ADD: *a += operand; return true;
    case BPF_SUB: *a -= operand; return true;
    case BPF_MUL: *a *= operand; return true;
    case BPF_DIV: if (operand == 0) return false; *a /= operand; return true;
    case BPF_MOD: if (operand == 0) return false; *a %= operand; return true;
    case BPF_OR: *a |= operand; return true;
    case BPF_AND: *a &= operand; return true;
    case BPF_XOR: *a ^= operand; return true;
    case BPF_LSH: *a = operand >= 32 ? 0 : *a << operand; return true;
    case BPF_RSH: *a = operand >= 32 ? 0 : *a >> operand; return true;
    case BPF_NEG: *a = 0U - *a; return true;
    default: return false;
  }
}

}  // namespace

Result<BpfVerdict> EvaluateBpf(std::span<const sock_filter> program, const seccomp_data& data) {
  BpfVerdict verdict;
  uint32_t a = 0, x = 0;
  uint32_t mem[kMemWords] = {};
  size_t pc = 0;
  while (pc < program.size()) {
    const sock_filter& in = program[pc];
    const uint16_t cls = BPF_CLASS(in.code);
    size_t next = pc + 1;
    switch (cls) {
      case BPF_LD:
      case BPF_LDX: {
        uint32_t value = 0;
        const uint16_t mode = BPF_MODE(in.code);
        if (mode == BPF_ABS && cls == BPF_LD && BPF_SIZE(in.code) == BPF_W) {
          if (!LoadWord(data, in.k, &value, &verdict.read_args)) return MakeError("bpf: bad load offset at " + std::to_string(pc));
        } else if (mode == BPF_IMM) {
          value = in.k;
        } else if (mode == BPF_MEM) {
          if (in.k >= kMemWords) return MakeError("bpf: bad scratch slot at " + std::to_string(pc));
          value = mem[in.k];
        } else if (mode == BPF_LEN) {
          value = sizeof(seccomp_data);
        } else {
          return MakeError("bpf: unsupported load at " + std::to_string(pc));
        }
        (cls == BPF_LD ? a : x) = value;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (in.k >= kMemWords) return MakeError("bpf: bad scratch slot at " + std::to_string(pc));
        mem[in.k] = cls == BPF_ST ? a : x;
        break;
      case BPF_ALU:
        if (!Alu(BPF_OP(in.code), &a, BPF_SRC(in.code) == BPF_X ? x : in.k))
          return MakeError("bpf: bad alu op at " + std::to_string(pc));
        break;
      case BPF_JMP: {
        const uint16_t op = BPF_OP(in.code);
        const uint32_t operand = BPF_SRC(in.code) == BPF_X ? x : in.k;
        if (op == BPF_JA) {
          next = pc + 1 + in.k;
        } else {
          bool taken;
          switch (op) {
            case BPF_JEQ: taken = a == operand; break;
            case BPF_JGT: taken = a > operand; break;
            case BPF_JGE: taken = a >= operand; break;
            case BPF_JSET: taken = (a & operand) != 0; break;
            default: return MakeError("bpf: bad jump at " + std::to_string(pc));
          }
          next = pc + 1 + (taken ? in.jt : in.jf);
        }
        break;
      }
      case BPF_RET:
        verdict.action = BPF_RVAL(in.code) == BPF_A ? a : in.k;
        return verdict;
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX) x = a;
        else a = x;
        break;
      default:
        return MakeError("bpf: bad instruction class at " + std::to_string(pc));
    }
    pc = next;
  }
  return MakeError("bpf: program ran off its end");
}

std::string SeccompActionName(uint32_t action) {
  const uint32_t data = action & SECCOMP_RET_DATA;
  switch (action & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_KILL_PROCESS: return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD: return "KILL_THREAD";
    case SECCOMP_RET_TRAP: return "TRAP(" + std::to_string(data) + ")";
    case SECCOMP_RET_ERRNO: return "ERRNO(" + std::to_string(data) + ")";
    case SECCOMP_RET_USER_NOTIF: return "USER_NOTIF";
    case SECCOMP_RET_TRACE: return "TRACE(" + std::to_string(data) + ")";
    case SECCOMP_RET_LOG: return "LOG";
    case SECCOMP_RET_ALLOW: return "ALLOW";
    default: return "UNKNOWN(" + std::to_string(action) + ")";
  }
}

}  // namespace airlock
