// MS-OVBA decompression: the specification's examples (section 3.2), a round trip through a
// compressor written here from the same specification, and malformed input.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "office_test_support.h"
#include "scan/detectors/office/ovba_decompress.h"

namespace airlock::scan::office {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  int nibble = -1;
  for (char c : hex) {
    int v = std::isxdigit(static_cast<unsigned char>(c)) ? std::stoi(std::string(1, c), nullptr, 16) : -1;
    if (v < 0) continue;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<char>(nibble * 16 + v));
      nibble = -1;
    }
  }
  return out;
}

std::string Compress(std::string_view in) { return testing::OvbaCompress(in); }

TEST(OvbaDecompress, SpecExampleNoCompression) {
  // [MS-OVBA] 3.2.1: a compressed chunk made only of literal tokens.
  auto r = DecompressOvba(Hex("01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E"));
  ASSERT_TRUE(r) << r.error().What();
  EXPECT_EQ(*r, "abcdefghijklmnopqrstuv.");
}

// [MS-OVBA] 3.2.2. Two encodings circulate: the one printed in the specification and one with smaller
// copy offsets (0x20.. instead of 0x30..); both expand to the same text, and the greedy compressor
// below produces the second.
constexpr std::string_view kNormalText = "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa";
constexpr std::string_view kNormalPrinted =
    "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 30 6D 6E 6F "
    "70 06 71 02 70 04 10 72 73 74 75 76 10 77 78 79 7A 00 3C";
constexpr std::string_view kNormalNearest =
    "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20 6D 6E 6F "
    "70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C";

TEST(OvbaDecompress, SpecExampleNormalCompression) {
  for (std::string_view hex : {kNormalPrinted, kNormalNearest}) {
    auto r = DecompressOvba(Hex(hex));
    ASSERT_TRUE(r) << r.error().What();
    EXPECT_EQ(*r, kNormalText);
  }
}

TEST(OvbaDecompress, SpecExampleMaximumCompression) {
  // [MS-OVBA] 3.2.3: one literal 'a' then one overlapping copy token 0x0045 (offset 1, length 72).
  auto r = DecompressOvba(Hex("01 03 B0 02 61 45 00"));
  ASSERT_TRUE(r) << r.error().What();
  EXPECT_EQ(*r, std::string(73, 'a'));
}

TEST(OvbaDecompress, CompressorMatchesSpecExamples) {
  EXPECT_EQ(Compress(kNormalText), Hex(kNormalNearest));
  EXPECT_EQ(Compress(std::string(73, 'a')), Hex("01 03 B0 02 61 45 00"));
  EXPECT_EQ(Compress("abcdefghijklmnopqrstuv."),
            Hex("01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E"));
}

TEST(OvbaDecompress, RoundTripsMultiChunkText) {
  std::string text;
  for (int i = 0; i < 600; ++i) text += "Sub Line" + std::to_string(i) + "()\r\n  MsgBox \"hello\"\r\nEnd Sub\r\n";
  ASSERT_GT(text.size(), 3u * 4096);
  std::string packed = Compress(text);
  EXPECT_LT(packed.size(), text.size() / 2);
  auto r = DecompressOvba(packed);
  ASSERT_TRUE(r) << r.error().What();
  EXPECT_EQ(*r, text);
}

TEST(OvbaDecompress, RoundTripsIncompressibleDataThroughRawChunks) {
  std::mt19937 rng(7);
  std::string data(3 * 4096, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  std::string packed = Compress(data);
  EXPECT_EQ(packed.size(), 1 + 3 * (2 + 4096u));
  auto r = DecompressOvba(packed);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, data);
}

TEST(OvbaDecompress, RejectsMissingSignature) {
  EXPECT_FALSE(DecompressOvba(""));
  EXPECT_FALSE(DecompressOvba(Hex("00 19 B0 00 61")));
}

TEST(OvbaDecompress, RejectsCopyTokenBeforeChunkStart) {
  // The very first token is a copy token: nothing to copy from.
  EXPECT_FALSE(DecompressOvba(Hex("01 03 B0 01 45 00")));
}

TEST(OvbaDecompress, RejectsBadChunkSignature) {
  EXPECT_FALSE(DecompressOvba(Hex("01 19 A0 00 61 62")));
}

TEST(OvbaDecompress, KeepsGoodPrefixBeforeJunk) {
  std::string packed = Compress("Attribute VB_Name = \"Module1\"");
  packed += Hex("FF FF FF");  // junk chunk header: bad signature bits
  auto r = DecompressOvba(packed);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "Attribute VB_Name = \"Module1\"");
}

TEST(OvbaDecompress, TruncatedChunkYieldsPrefix) {
  std::string packed = Compress("abcdefghijklmnopqrstuvwxyz");
  auto r = DecompressOvba(std::string_view(packed).substr(0, 10));
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::string("abcdefghijklmnopqrstuvwxyz").starts_with(*r));
  EXPECT_FALSE(r->empty());
}

TEST(OvbaDecompress, OutputIsCappedForBombs) {
  // 4000 chunks that each expand 6 bytes into 4096: ~16 MB; capped at 1 MiB.
  std::string bomb = "\x01";
  std::string chunk = Compress(std::string(4096, 'x')).substr(1);
  for (int i = 0; i < 4000; ++i) bomb += chunk;
  auto r = DecompressOvba(bomb, 1u << 20);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1u << 20);
}

TEST(OvbaDecompress, RandomInputNeverCrashes) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::string data(rng() % 300, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    if (!data.empty()) data[0] = 1;
    auto r = DecompressOvba(data, 1 << 16);
    if (r) {
      EXPECT_LE(r->size(), 1u << 16);
    }
  }
}

}  // namespace
}  // namespace airlock::scan::office
