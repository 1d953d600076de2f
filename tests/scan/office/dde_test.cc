// DDE outside XML: field codes in Word binary text (8-bit and UTF-16LE), DDE formulas in CSV and
// SYLK, XLM formulas in SYLK, and the recognizers themselves.
#include <gtest/gtest.h>

#include "office_test_support.h"
#include "scan/detectors/office/dde.h"

namespace airlock::scan::office::testing {
namespace {

TEST(DdeField, RecognizesOnlyDdeFields) {
  EXPECT_EQ(DdeFieldCommand("  DDEAUTO  c:\\x.exe   \"/k\" "), "DDEAUTO c:\\x.exe \"/k\"");
  EXPECT_EQ(DdeFieldCommand("dde cmd"), "dde cmd");
  EXPECT_EQ(DdeFieldCommand("DDE"), "DDE");
  EXPECT_FALSE(DdeFieldCommand("DDEX foo"));
  EXPECT_FALSE(DdeFieldCommand(" HYPERLINK \"http://x\" "));
  EXPECT_FALSE(DdeFieldCommand(""));
}

TEST(DdeField, WordBinaryScanFindsBothEncodings) {
  std::string s = std::string("junk\x13 DDEAUTO cmd /c calc\x14result\x15 more \x13 PAGE \x15", 44);
  std::string wide;
  for (char c : std::string("\x13" "DDE cmd /c notepad\x15")) {
    wide.push_back(c);
    wide.push_back('\0');
  }
  auto found = FindDdeFieldsInWordBinary(s + wide);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0], "DDEAUTO cmd /c calc");
  EXPECT_EQ(found[1], "DDE cmd /c notepad");
}

TEST(DdeFormula, RecognizesFormulaShapes) {
  EXPECT_EQ(DdeFormula("=cmd|' /C calc'!A0"), "=cmd|' /C calc'!A0");
  EXPECT_EQ(DdeFormula("a,b,=cmd|'/c calc'!A0,c"), "=cmd|'/c calc'!A0");
  EXPECT_EQ(DdeFormula("2019-01-01, =cmd|'/c calc'!A0"), "=cmd|'/c calc'!A0");
  EXPECT_EQ(DdeFormula("x\n=1+cmd|'/c calc'!A0"), "=1+cmd|'/c calc'!A0");
  EXPECT_EQ(DdeFormula("@SUM(cmd|'/c calc'!A0)"), "@SUM(cmd|'/c calc'!A0");
  EXPECT_FALSE(DdeFormula("a|b|c"));                 // no formula lead, no '!'
  EXPECT_FALSE(DdeFormula("=A1+B1"));
  EXPECT_FALSE(DdeFormula("name | value ! note"));   // prose
}

TEST(SheetText, CsvDdeFormulaSeverityDependsOnService) {
  TreeResult r = ScanTree("data.csv", "id,name\n1,=cmd|'/c calc'!A0\n2,=Excel|'[book.xlsx]Sheet1'!A1\n");
  auto f = r.With("office.dde.formula");
  ASSERT_EQ(f.size(), 2u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_EQ(f[1].severity, 5);
}

TEST(SheetText, PlainCsvIsClean) {
  TreeResult r = ScanTree("data.csv", "a,b,c\n1,2,3\n=SUM(A1:A2),x|y,z!\n");
  EXPECT_TRUE(r.findings.empty()) << r.Describe();
}

TEST(SheetText, SylkXlmAndDde) {
  std::string slk = "ID;P\nC;X1;Y1;K0;EEXEC(\"cmd.exe /c calc\")\nC;X1;Y2;K0;Ecmd|' /c notepad'!A0\nC;X1;Y3;K0;EHALT()\nE\n";
  TreeResult r = ScanTree("anything.txt", slk);  // SYLK is recognized by content
  auto xlm = r.With("office.xlm.formula");
  ASSERT_EQ(xlm.size(), 1u) << r.Describe();
  EXPECT_EQ(xlm[0].evidence, "=EXEC(\"cmd.exe /c calc\")");
  auto dde = r.With("office.dde.formula");
  ASSERT_EQ(dde.size(), 1u);
  EXPECT_EQ(dde[0].evidence, "=cmd|' /c notepad'!A0");
}

TEST(OoxmlBinary, ActiveXPartIsNoted) {
  TreeResult r = ScanTree("word/activeX/activeX1.xml", "<ax:ocx ax:classid=\"{C74190B6-8589-11D1-B16A-00C0F0283628}\"/>");
  auto f = r.With("office.activex");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].techniques, std::vector<std::string>{"T1559.001"});
}

TEST(OoxmlBinary, XlsbMacroSheetPart) {
  TreeResult r = ScanTree("xl/macrosheets/sheet1.bin", std::string("\x81\x01\x00", 3));
  EXPECT_TRUE(r.Has("office.xlm.macrosheet")) << r.Describe();
}

}  // namespace
}  // namespace airlock::scan::office::testing
