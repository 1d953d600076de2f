// ELF detector: packers (UPX markers and section names, near-random loadable segments), statically
// linked stripped programs arriving by mail, and unusual program interpreters. The header parser is
// written for hostile input: every offset is checked against the buffer before it is read, counts are
// capped, and nothing is trusted to be aligned.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scan/detectors/content/content_detectors.h"
#include "scan/detectors/content/content_util.h"

namespace airlock::scan {
namespace {

using content::Escape;
using content::MakeFinding;

constexpr uint32_t kPtLoad = 1, kPtDynamic = 2, kPtInterp = 3;
constexpr size_t kMaxHeaders = 4096;
constexpr size_t kMinEntropyBytes = 4096;
constexpr double kPackedEntropy = 7.2;

class Reader {
 public:
  Reader(std::string_view d, bool le) : d_(d), le_(le) {}
  bool Has(uint64_t off, uint64_t len) const { return off <= d_.size() && len <= d_.size() - off; }
  uint64_t U(uint64_t off, int bytes) const {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      uint64_t b = static_cast<unsigned char>(d_[off + static_cast<uint64_t>(le_ ? bytes - 1 - i : i)]);
      v = (v << 8) | b;
    }
    return v;
  }

 private:
  std::string_view d_;
  bool le_;
};

struct ElfInfo {
  bool is64 = false;
  uint16_t type = 0;
  bool has_dynamic = false;
  int interp_count = 0;
  std::string interp;
  bool interp_terminated = true;
  bool has_symtab = false;
  bool upx_section = false;
  std::string load_bytes;  // concatenated file bytes of PT_LOAD segments (capped by the file)
  std::string malformed;
};

std::optional<ElfInfo> Parse(std::string_view d) {
  if (d.size() < 52 || d.substr(0, 4) != "\x7f" "ELF") return std::nullopt;
  ElfInfo info;
  const uint8_t cls = static_cast<uint8_t>(d[4]);
  const uint8_t enc = static_cast<uint8_t>(d[5]);
  if ((cls != 1 && cls != 2) || (enc != 1 && enc != 2)) {
    info.malformed = "bad class/encoding in e_ident";
    return info;
  }
  info.is64 = cls == 2;
  Reader r(d, enc == 1);
  if (info.is64 && d.size() < 64) {
    info.malformed = "truncated ELF64 header";
    return info;
  }
  info.type = static_cast<uint16_t>(r.U(16, 2));
  const uint64_t phoff = info.is64 ? r.U(32, 8) : r.U(28, 4);
  const uint64_t shoff = info.is64 ? r.U(40, 8) : r.U(32, 4);
  const uint64_t phentsize = r.U(info.is64 ? 54 : 42, 2);
  const uint64_t phnum = r.U(info.is64 ? 56 : 44, 2);
  const uint64_t shentsize = r.U(info.is64 ? 58 : 46, 2);
  const uint64_t shnum = r.U(info.is64 ? 60 : 48, 2);
  const uint64_t shstrndx = r.U(info.is64 ? 62 : 50, 2);

  const uint64_t min_ph = info.is64 ? 56 : 32;
  if (phnum > 0 && (phentsize < min_ph || phnum > kMaxHeaders || !r.Has(phoff, phnum * phentsize))) {
    info.malformed = "program headers out of bounds";
  } else {
    for (uint64_t i = 0; i < phnum; ++i) {
      const uint64_t p = phoff + i * phentsize;
      const uint32_t type = static_cast<uint32_t>(r.U(p, 4));
      const uint64_t off = info.is64 ? r.U(p + 8, 8) : r.U(p + 4, 4);
      const uint64_t filesz = info.is64 ? r.U(p + 32, 8) : r.U(p + 16, 4);
      if (type == kPtDynamic) info.has_dynamic = true;
      if (type == kPtLoad && off < d.size()) {
        // Overlapping segments must not multiply memory: the copy never exceeds the file size.
        const uint64_t room = d.size() - info.load_bytes.size();
        info.load_bytes.append(d.substr(off, std::min<uint64_t>({filesz, d.size() - off, room})));
      }
      if (type == kPtInterp) {
        ++info.interp_count;
        if (!r.Has(off, filesz) || filesz == 0 || filesz > 4096) {
          info.malformed = "PT_INTERP out of bounds";
          continue;
        }
        std::string_view s = d.substr(off, filesz);
        size_t nul = s.find('\0');
        info.interp_terminated = nul != std::string_view::npos;
        info.interp = std::string(s.substr(0, nul));
      }
    }
  }

  const uint64_t min_sh = info.is64 ? 64 : 40;
  if (shnum > 0 && shentsize >= min_sh && shnum <= 65535 && r.Has(shoff, shnum * shentsize)) {
    uint64_t stroff = 0, strsize = 0;
    if (shstrndx < shnum) {
      const uint64_t s = shoff + shstrndx * shentsize;
      stroff = info.is64 ? r.U(s + 24, 8) : r.U(s + 16, 4);
      strsize = info.is64 ? r.U(s + 32, 8) : r.U(s + 20, 4);
      if (!r.Has(stroff, strsize)) strsize = 0;
    }
    std::string_view strtab = strsize > 0 ? d.substr(stroff, strsize) : std::string_view();
    for (uint64_t i = 0; i < shnum; ++i) {
      const uint64_t s = shoff + i * shentsize;
      const uint32_t type = static_cast<uint32_t>(r.U(s + 4, 4));
      if (type == 2) info.has_symtab = true;  // SHT_SYMTAB
      const uint64_t name = r.U(s, 4);
      if (name < strtab.size()) {
        std::string_view n = strtab.substr(name);
        n = n.substr(0, n.find('\0'));
        if (n.starts_with("UPX") || n == ".upx" || n.starts_with(".upx")) info.upx_section = true;
      }
    }
  } else if (shnum > 0) {
    info.malformed = info.malformed.empty() ? "section headers out of bounds" : info.malformed;
  }
  return info;
}

bool StandardInterpreter(std::string_view interp) {
  if (interp.empty() || interp[0] != '/') return false;
  for (std::string_view bad : {"/tmp/", "/var/tmp/", "/dev/shm/", "/home/", "/./", "/../"}) {
    if (interp.find(bad) != std::string_view::npos) return false;
  }
  std::string_view base = interp.substr(interp.rfind('/') + 1);
  for (std::string_view ok : {"ld-linux", "ld64.so", "ld.so", "ld-musl", "ld-uClibc", "ld-elf.so", "linker"}) {
    if (base.starts_with(ok)) return true;
  }
  return false;
}

bool HasUpxMarker(std::string_view d) {
  if (d.substr(0, 8192).find("UPX!") != std::string_view::npos) return true;
  if (d.size() > 8192 && d.substr(d.size() - 4096).find("UPX!") != std::string_view::npos) return true;
  // UPX's loader stub carries its banner near the start. Assembled at run time so that this
  // scanner's own binary does not contain the banner.
  static const std::string banner = std::string("$Info: This file is packed") + " with the UPX";
  return d.substr(0, 64 * 1024).find(banner) != std::string_view::npos;
}

class ElfDetector final : public Analyzer {
 public:
  std::string_view Name() const override { return "content.elf"; }
  bool Accepts(const Object& object) const override { return object.data.starts_with("\x7f" "ELF"); }

  void Analyze(const Object& object, AnalyzerOutput& out) override {
    std::optional<ElfInfo> info = Parse(object.data);
    if (!info) {
      out.AddFinding(MakeFinding("elf.malformed", 2, "Truncated ELF file",
                                 "The ELF header is shorter than the format requires.", "size < header"));
      return;
    }
    if (!info->malformed.empty()) {
      out.AddFinding(MakeFinding("elf.malformed", 2, "Malformed ELF headers",
                                 "Header tables point outside the file; loaders may still run it and "
                                 "analysis tools may fail on it.",
                                 info->malformed));
    }
    const bool upx_marker = HasUpxMarker(object.data);
    if (upx_marker || info->upx_section) {
      out.AddFinding(MakeFinding("elf.packer.upx", 5, "ELF packed with UPX",
                                 "The real program is compressed and only unpacked in memory, which hides "
                                 "it from static analysis; common for Linux malware (miners, botnets).",
                                 info->upx_section ? "UPX section names" : "UPX! marker", {"T1027.002"}));
    }
    const double h = content::Entropy(info->load_bytes);
    if (info->load_bytes.size() >= kMinEntropyBytes && h >= kPackedEntropy) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "entropy %.2f bits/byte over %zu bytes", h, info->load_bytes.size());
      out.AddFinding(MakeFinding("elf.packed_entropy", 4, "ELF code looks packed or encrypted",
                                 "The loadable segments are close to random data, as compressed or "
                                 "encrypted code is; normal code is well below 7 bits/byte.",
                                 buf, {"T1027.002"}));
    }
    if (info->interp_count > 1 || !info->interp_terminated) {
      out.AddFinding(MakeFinding("elf.interpreter", 5, "Malformed program interpreter",
                                 "Several or unterminated PT_INTERP entries confuse analysis tools.",
                                 Escape(info->interp)));
    } else if (info->interp_count == 1 && !StandardInterpreter(info->interp)) {
      out.AddFinding(MakeFinding("elf.interpreter", 5, "Unusual program interpreter",
                                 "The program asks to be loaded by a non-standard dynamic loader, which "
                                 "runs first with full control of the process.",
                                 Escape(info->interp), {"T1574"}));
    }
    const bool is_program = info->type == 2 || info->type == 3;
    if (is_program && info->interp_count == 0 && !info->has_dynamic && !info->has_symtab &&
        content::ArrivedByMail(object)) {
      out.AddFinding(MakeFinding("elf.static_stripped_in_mail", 3, "Stripped static Linux program in mail",
                                 "A self-contained program without symbols reached the user by mail: "
                                 "typical of dropped bots and miners, rare for legitimate mail.",
                                 "no PT_INTERP, no PT_DYNAMIC, no .symtab"));
    }
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeElfDetector() { return std::make_unique<ElfDetector>(); }

}  // namespace airlock::scan
