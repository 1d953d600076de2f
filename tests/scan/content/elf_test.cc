// ELF detector on synthetic ELF files built here (UPX marker and section names, near-random load
// segments, static stripped programs, odd interpreters, broken headers) and on this test's own
// binary as the ordinary, clean case.
#include <gtest/gtest.h>

#include <cstring>

#include "collector.h"

namespace airlock::scan {
namespace {

using content_test::Collector;
using content_test::MakeObject;
using content_test::RunDetector;

struct Segment {
  uint32_t type;
  std::string data;
};

template <class T>
void Put(std::string& out, size_t off, T v) {
  std::memcpy(out.data() + off, &v, sizeof v);  // little-endian host (x86-64/arm64)
}

// ELF64 little-endian executable: header, program headers, segment data, optional section headers
// (with a .shstrtab) named by `sections`.
std::string BuildElf(const std::vector<Segment>& segments, const std::vector<std::string>& sections = {},
                     uint16_t type = 2) {
  std::string out(64 + 56 * segments.size(), '\0');
  std::memcpy(out.data(), "\x7f" "ELF\x02\x01\x01", 7);
  Put<uint16_t>(out, 16, type);
  Put<uint16_t>(out, 18, 62);  // x86-64
  Put<uint32_t>(out, 20, 1);
  Put<uint64_t>(out, 32, 64);  // e_phoff
  Put<uint16_t>(out, 52, 64);
  Put<uint16_t>(out, 54, 56);
  Put<uint16_t>(out, 56, static_cast<uint16_t>(segments.size()));
  for (size_t i = 0; i < segments.size(); ++i) {
    const size_t ph = 64 + 56 * i;
    Put<uint32_t>(out, ph, segments[i].type);
    Put<uint32_t>(out, ph + 4, 5);
    Put<uint64_t>(out, ph + 8, out.size());
    Put<uint64_t>(out, ph + 32, segments[i].data.size());
    Put<uint64_t>(out, ph + 40, segments[i].data.size());
    out += segments[i].data;
  }
  if (!sections.empty()) {
    std::string strtab(1, '\0');
    std::vector<uint32_t> names;
    for (const auto& s : sections) {
      names.push_back(static_cast<uint32_t>(strtab.size()));
      strtab += s + '\0';
    }
    names.push_back(static_cast<uint32_t>(strtab.size()));
    strtab += std::string(".shstrtab") + '\0';
    const size_t stroff = out.size();
    out += strtab;
    const size_t shoff = out.size();
    const size_t n = sections.size() + 2;  // null section, named sections, .shstrtab
    out += std::string(64 * n, '\0');
    for (size_t i = 0; i + 1 < n; ++i) {
      const size_t sh = shoff + 64 * (i + 1);
      Put<uint32_t>(out, sh, names[i]);
      Put<uint32_t>(out, sh + 4, i + 2 == n ? 3 : 1);
      if (i + 2 == n) {
        Put<uint64_t>(out, sh + 24, stroff);
        Put<uint64_t>(out, sh + 32, strtab.size());
      }
    }
    Put<uint64_t>(out, 40, shoff);
    Put<uint16_t>(out, 58, 64);
    Put<uint16_t>(out, 60, static_cast<uint16_t>(n));
    Put<uint16_t>(out, 62, static_cast<uint16_t>(n - 1));
  }
  return out;
}

std::string LowEntropyCode(size_t n) {
  std::string s;
  while (s.size() < n) s += "\x55\x48\x89\xe5\x48\x83\xec\x10\x89\x7d\xfc\x8b\x45\xfc\x5d\xc3";
  return s.substr(0, n);
}

class ElfTest : public ::testing::Test {
 protected:
  ElfTest() { mail_ = MakeObject("m.eml", "", "message/rfc822"); }
  Collector Scan(std::string_view data, bool by_mail = false) {
    return RunDetector(*detector_, MakeObject("prog", data, "", by_mail ? &mail_ : nullptr));
  }
  std::unique_ptr<Analyzer> detector_ = MakeElfDetector();
  Object mail_;
};

TEST_F(ElfTest, UpxLikePackedElf) {
  std::string packed = "UPX!" + content_test::RandomBytes(64 * 1024);
  std::string elf = BuildElf({{1, packed}});
  Collector c = Scan(elf);
  ASSERT_TRUE(c.Has("elf.packer.upx")) << c.Ids();
  EXPECT_TRUE(c.HasTechnique("elf.packer.upx", "T1027.002"));
  ASSERT_TRUE(c.Has("elf.packed_entropy")) << c.Ids();
  EXPECT_TRUE(c.HasTechnique("elf.packed_entropy", "T1027.002"));
}

TEST_F(ElfTest, UpxSectionNames) {
  std::string elf = BuildElf({{1, LowEntropyCode(8192)}}, {"UPX0", "UPX1"});
  Collector c = Scan(elf);
  ASSERT_TRUE(c.Has("elf.packer.upx")) << c.Ids();
  EXPECT_EQ(c.Find("elf.packer.upx")->evidence, "UPX section names");
  EXPECT_FALSE(c.Has("elf.packed_entropy"));
}

TEST_F(ElfTest, RealUpxWhenAvailable) {
  std::string upx;
  for (const char* p : {"/usr/bin/upx", "/usr/bin/upx-ucl"}) {
    if (std::filesystem::exists(p)) upx = p;
  }
  if (upx.empty()) GTEST_SKIP() << "upx not installed; the synthetic UPX tests cover the detector";
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "/airlock_upx_true";
  std::filesystem::remove(out);
  const std::string cmd = upx + " -q -o " + out + " /bin/true > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto data = content_test::ReadFile(out);
  ASSERT_TRUE(data.has_value());
  EXPECT_TRUE(Scan(*data).Has("elf.packer.upx"));
}

TEST_F(ElfTest, OwnBinaryIsClean) {
  auto self = content_test::ReadFile("/proc/self/exe");
  ASSERT_TRUE(self.has_value());
  Collector c = Scan(*self, true);
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
}

TEST_F(ElfTest, StaticStrippedInMail) {
  std::string elf = BuildElf({{1, LowEntropyCode(8192)}});
  Collector mail = Scan(elf, true);
  ASSERT_TRUE(mail.Has("elf.static_stripped_in_mail")) << mail.Ids();
  EXPECT_LT(mail.Find("elf.static_stripped_in_mail")->severity, 4);
  EXPECT_FALSE(Scan(elf, false).Has("elf.static_stripped_in_mail"));
  // With a symbol table it is not stripped.
  std::string with_interp = BuildElf({{3, std::string("/lib64/ld-linux-x86-64.so.2") + '\0'}, {1, LowEntropyCode(8192)}});
  EXPECT_TRUE(Scan(with_interp, true).findings.empty());
}

TEST_F(ElfTest, OddInterpreter) {
  std::string elf = BuildElf({{3, std::string("/tmp/.cache/ld.so") + '\0'}, {1, LowEntropyCode(4096)}});
  Collector c = Scan(elf);
  ASSERT_TRUE(c.Has("elf.interpreter")) << c.Ids();
  EXPECT_NE(c.Find("elf.interpreter")->evidence.find("/tmp/.cache/ld.so"), std::string::npos);
  std::string unterminated = BuildElf({{3, "/lib64/ld-linux-x86-64.so.2"}, {1, LowEntropyCode(4096)}});
  EXPECT_TRUE(Scan(unterminated).Has("elf.interpreter"));
  for (const char* ok : {"/lib/ld-linux-aarch64.so.1", "/lib/ld-musl-x86_64.so.1", "/system/bin/linker64",
                         "/lib/ld-linux.so.2"}) {
    std::string e = BuildElf({{3, std::string(ok) + '\0'}, {1, LowEntropyCode(4096)}});
    EXPECT_FALSE(Scan(e).Has("elf.interpreter")) << ok;
  }
}

TEST_F(ElfTest, BrokenHeadersAreReportedNotFatal) {
  std::string elf = BuildElf({{1, LowEntropyCode(1024)}});
  std::string bad = elf;
  Put<uint64_t>(bad, 32, 1ull << 40);  // e_phoff far outside
  Collector c = Scan(bad);
  ASSERT_TRUE(c.Has("elf.malformed")) << c.Ids();
  EXPECT_TRUE(Scan(std::string("\x7f" "ELF\x02", 5)).Has("elf.malformed"));
  // Overlapping huge segments must not multiply memory or crash.
  std::string overlap = BuildElf(std::vector<Segment>(200, {1, content_test::RandomBytes(4096)}));
  for (size_t i = 0; i < 200; ++i) Put<uint64_t>(overlap, 64 + 56 * i + 8, 0), Put<uint64_t>(overlap, 64 + 56 * i + 32, ~0ull);
  EXPECT_NO_THROW(Scan(overlap));
  auto self = content_test::ReadFile("/proc/self/exe");
  ASSERT_TRUE(self.has_value());
  for (size_t n = 0; n < self->size(); n += self->size() / 97 + 1) EXPECT_NO_THROW(Scan(self->substr(0, n)));
}

}  // namespace
}  // namespace airlock::scan
