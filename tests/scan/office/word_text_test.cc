// Word binary text through the piece table (MS-DOC FIB -> Clx -> PlcPcd) on the corpus' .doc files,
// and field-instruction extraction with nesting.
#include <gtest/gtest.h>

#include "office_test_support.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/detectors/office/word_text.h"

namespace airlock::scan::office::testing {
namespace {

std::optional<std::string> TextOf(const std::string& data) {
  auto ole = OleFile::Open(data);
  if (!ole) return std::nullopt;
  auto doc = ole->ReadStream("WordDocument");
  if (!doc) return std::nullopt;
  auto name = WordTableStreamName(*doc);
  if (!name) return std::nullopt;
  auto table = ole->ReadStream(*name);
  if (!table) return std::nullopt;
  return *name == "1Table" ? ReadWordText(*doc, "", *table) : ReadWordText(*doc, *table, "");
}

std::string Unzipped(const std::string& rel) {
  auto m = ReadZip(ReadFileOrDie(CorpusDir() + "/" + rel), kCorpusPassword);
  return m.empty() ? std::string() : m[0].data;
}

TEST(WordText, EightBitPiecesFromOffice2003) {
  auto text = TextOf(Unzipped("msodde/dde-test-from-office2003.doc.zip"));
  ASSERT_TRUE(text);
  auto fields = FieldInstructions(*text);
  ASSERT_GE(fields.size(), 2u);
  EXPECT_EQ(fields[0], R"(DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc.exe")");
  EXPECT_NE(text->find("Hope this works."), std::string::npos);
}

TEST(WordText, Utf16PiecesFromKoreanOffice2013) {
  auto text = TextOf(Unzipped("msodde/dde-test-from-office2013-utf_16le-korean.doc.zip"));
  ASSERT_TRUE(text);
  auto fields = FieldInstructions(*text);
  ASSERT_FALSE(fields.empty());
  EXPECT_EQ(fields[0], R"(DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc.exe")");
}

TEST(WordText, CleanDocumentHasTextAndNoDde) {
  auto text = TextOf(ReadFileOrDie(CorpusDir() + "/msodde/harmless-clean.doc"));
  ASSERT_TRUE(text);
  EXPECT_GT(text->size(), 10u);
  for (const auto& f : FieldInstructions(*text)) EXPECT_EQ(f.find("DDE"), std::string::npos) << f;
}

TEST(WordText, NestedFieldResultsJoinTheInstruction) {
  // { DDEAUTO { QUOTE 99 109 100 \x14cmd\x15 } "/c calc" } : Word builds "cmd" from the nested field.
  std::string text = "x\x13" "DDEAUTO \x13QUOTE 99 109 100\x14" "cmd\x15 \"/c calc\"\x14\x15y";
  auto fields = FieldInstructions(text);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0], "QUOTE 99 109 100");
  EXPECT_EQ(fields[1], "DDEAUTO cmd \"/c calc\"");
}

TEST(WordText, GarbageIsRejected) {
  EXPECT_FALSE(ReadWordText("", "", ""));
  EXPECT_FALSE(ReadWordText(std::string("\xEC\xA5", 2) + std::string(40, '\xFF'), "", ""));
  std::string fib(0x200, '\0');
  fib[0] = '\xEC';
  fib[1] = '\xA5';
  EXPECT_FALSE(ReadWordText(fib, "", ""));  // csw = 0 ... cbRgFcLcb too small
  EXPECT_TRUE(FieldInstructions("\x15\x15\x14 no open field").empty());
}

}  // namespace
}  // namespace airlock::scan::office::testing
