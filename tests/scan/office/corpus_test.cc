// The oletools test corpus, read in place: DDE samples must yield office.dde with the command, VBA
// samples must yield macros with their auto-exec triggers, clean samples nothing above severity 2,
// and nothing may crash.
#include <gtest/gtest.h>

#include <filesystem>

#include "office_test_support.h"

namespace airlock::scan::office::testing {
namespace {

// Scans a corpus file; "*.zip" samples are encrypted wrappers holding one document.
TreeResult ScanSample(const std::string& rel) {
  const std::string path = CorpusDir() + "/" + rel;
  std::string data = ReadFileOrDie(path);
  if (rel.ends_with(".zip")) {
    auto members = ReadZip(data, kCorpusPassword);
    if (members.size() != 1) ADD_FAILURE() << rel << ": expected one member, got " << members.size();
    if (members.empty()) return {};
    return ScanTree(members[0].name, std::move(members[0].data));
  }
  return ScanTree(std::filesystem::path(rel).filename().string(), std::move(data));
}

const std::string kCalc = R"(c:\\windows\\system32\\cmd.exe "/k calc.exe")";

struct DdeCase {
  const char* file;
  const char* id;
  const char* evidence;  // substring expected in some finding's evidence
  int min_severity;
};

class DdeSamples : public ::testing::TestWithParam<DdeCase> {};

TEST_P(DdeSamples, YieldsDdeWithCommand) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  const DdeCase& c = GetParam();
  TreeResult r = ScanSample(c.file);
  auto found = r.With(c.id);
  ASSERT_FALSE(found.empty()) << c.file << " findings:\n" << r.Describe();
  bool evidence = false;
  int severity = 0;
  for (const auto& f : found) {
    evidence = evidence || f.evidence.find(c.evidence) != std::string::npos;
    severity = std::max(severity, f.severity);
    EXPECT_EQ(f.techniques, std::vector<std::string>{"T1559.002"});
  }
  EXPECT_TRUE(evidence) << c.file << " lacks '" << c.evidence << "':\n" << r.Describe();
  EXPECT_GE(severity, c.min_severity) << r.Describe();
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, DdeSamples,
    ::testing::Values(
        DdeCase{"msodde/dde-test.docx", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\"", 8},
        DdeCase{"msodde/dde-test.docm", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\"", 8},
        DdeCase{"msodde/dde-in-word2007.xml.zip", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe", 8},
        DdeCase{"msodde/dde-in-word2003.xml.zip", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe", 8},
        DdeCase{"ooxml/dde-in-word2003.xml.zip", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe", 8},
        DdeCase{"msodde/dde-test-from-office2003.doc.zip", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\"", 8},
        DdeCase{"msodde/dde-test-from-office2016.doc.zip", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\"", 8},
        DdeCase{"msodde/dde-test-from-office2013-utf_16le-korean.doc.zip", "office.dde", "DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc.exe\"", 8},
        DdeCase{"msodde/dde-test.xlsx", "office.dde.formula", "cmd|'/c calc.exe'", 7},
        DdeCase{"msodde/dde-test.xlsm", "office.dde.formula", "cmd|'/c calc.exe'", 7},
        DdeCase{"msodde/dde-test.xlsb", "office.dde.formula", "cmd|'/c calc.exe'", 7},
        DdeCase{"msodde/dde-in-excel2003.xml", "office.dde.formula", "=cmd|'/c calc.exe'!A1", 7},
        DdeCase{"ooxml/dde-in-excel2003.xml", "office.dde.formula", "=cmd|'/c calc.exe'!A1", 7},
        DdeCase{"msodde/dde-in-csv.csv", "office.dde.formula", R"(=cmd|'/k \..\..\..\Windows\System32\calc.exe'!A0)", 7}));

TEST(Corpus, DocxFindsBothAutoAndManualDdeFields) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  TreeResult r = ScanSample("msodde/dde-test.docx");
  std::vector<std::string> commands;
  for (const auto& f : r.With("office.dde")) commands.push_back(f.evidence);
  // DDEAUTO in w:instrText, DDE in w:fldSimple (entities decoded), and the "ddeauto" unicode test.
  EXPECT_NE(std::find(commands.begin(), commands.end(), "DDEAUTO " + kCalc), commands.end()) << r.Describe();
  EXPECT_NE(std::find(commands.begin(), commands.end(), "DDE " + kCalc), commands.end()) << r.Describe();
  EXPECT_NE(std::find(commands.begin(), commands.end(), "ddeauto ünicöde-test"), commands.end()) << r.Describe();
  // MACROBUTTON is a field but not DDE.
  for (const auto& c : commands) EXPECT_EQ(c.find("MACROBUTTON"), std::string::npos);
}

TEST(Corpus, LegacyDocFindsAutoAndManualDde) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  // Field codes read from the WordDocument stream: DDEAUTO, DDE and the "ddeauto" with Latin-1 text.
  TreeResult r = ScanSample("msodde/dde-test-from-office2003.doc.zip");
  auto found = r.With("office.dde");
  ASSERT_EQ(found.size(), 3u) << r.Describe();
  EXPECT_EQ(found[0].evidence, "DDEAUTO " + kCalc);
  EXPECT_EQ(found[0].severity, 8);
  EXPECT_EQ(found[1].evidence, "DDE " + kCalc);
  EXPECT_EQ(found[1].severity, 6);
  EXPECT_EQ(found[2].evidence, "ddeauto ünicöde-test");
}

// The corpus' VBA samples carry no auto-exec trigger (their subs are Click handlers), so they must
// yield presence only; generated projects in ole_test.cc cover the triggers.
TEST(Corpus, DocmWithVbaYieldsModulesAsChildren) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  TreeResult r = ScanSample("oleform/oleform-PR314.docm");
  auto macro = r.With("office.vba.macro");
  ASSERT_EQ(macro.size(), 1u) << r.Describe();
  EXPECT_TRUE(macro[0].evidence.starts_with("modules: ThisDocument, UserFormTEST1, UserFormTest2, NewMacros"));
  EXPECT_FALSE(r.Has("office.vba.autoexec")) << r.Describe();
  std::vector<std::string> children;
  for (const auto& leaf : r.leaves) children.push_back(leaf.name);
  EXPECT_EQ(children, (std::vector<std::string>{"ThisDocument.vba", "UserFormTEST1.vba", "UserFormTest2.vba",
                                                "NewMacros.vba"}));
  EXPECT_EQ(r.MaxSeverity(), 4);
}

TEST(Corpus, PptVbaIsFoundInsideCompressedExOleObjStg) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  TreeResult r = ScanSample("olevba/sample_with_vba.ppt");
  auto macro = r.With("office.vba.macro");
  ASSERT_EQ(macro.size(), 1u) << r.Describe();
  EXPECT_NE(macro[0].evidence.find("Sub Action_Click()"), std::string::npos);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings[0].path, "sample_with_vba.ppt > ExOleObjStg1.bin");
}

// Encryption is judged by the engine's office-decrypt unpacker (tests/scan/engine/corpus_test.cc):
// the Office family alone sees only the container and reports nothing.
TEST(Corpus, EncryptedDocxIsLeftToTheDecryptUnpacker) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  TreeResult r = ScanSample("basic/encrypted.docx");
  EXPECT_EQ(r.MaxSeverity(), 0) << r.Describe();
}

class CleanSamples : public ::testing::TestWithParam<const char*> {};

TEST_P(CleanSamples, NothingAboveSeverityTwo) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  TreeResult r = ScanSample(GetParam());
  EXPECT_LE(r.MaxSeverity(), 2) << GetParam() << ":\n" << r.Describe();
}

INSTANTIATE_TEST_SUITE_P(Corpus, CleanSamples,
                         ::testing::Values("msodde/harmless-clean.doc", "msodde/harmless-clean.docm",
                                           "msodde/harmless-clean.docx", "msodde/harmless-clean.xml",
                                           "msodde/harmless-clean-2003.xml", "ooxml/harmless-clean.xml",
                                           "ooxml/harmless-clean-2003.xml", "msodde/RTF-Spec-1.7.rtf",
                                           "basic/empty", "basic/text"));

TEST(Corpus, EveryFileScansWithoutCrashing) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(CorpusDir())) {
    if (!e.is_regular_file()) continue;
    std::string rel = std::filesystem::relative(e.path(), CorpusDir()).string();
    TreeResult r = ScanSample(rel);
    ++files;
    EXPECT_FALSE(r.objects.empty()) << rel;
  }
  EXPECT_GE(files, 25u);
}

}  // namespace
}  // namespace airlock::scan::office::testing
