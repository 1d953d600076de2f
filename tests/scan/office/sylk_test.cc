// SYLK (.slk) Excel 4.0 macros made at test time: spelled-out EXEC/CALL, and the obfuscated
// dropper form (macro sheet + Auto_open + FORMULA/RUN over CHAR() codes); plain tables stay clean.
#include <gtest/gtest.h>

#include "office_test_support.h"

namespace airlock::scan::office::testing {
namespace {

// "=EXEC(""calc"")" assembled from CHAR() codes into another cell, then RUN: no EXEC in the file.
std::string CharBuilt(const std::string& text) {
  std::string out;
  for (char c : text) out += (out.empty() ? "" : "&") + std::string("CHAR(") + std::to_string(static_cast<int>(c)) + ")";
  return out;
}

std::string ObfuscatedDropper(bool auto_open) {
  std::string s = "ID;PWXL;N;E\r\nO;L;D;V0;K47;G100 0.001;E\r\n";
  if (auto_open) s += "NN;NAuto_open;ER1C1;KOut Flank;F\r\n";
  s += "C;X1;Y1;K0;EFORMULA(" + CharBuilt("=EXEC(\"calc.exe\")") + ",R2C1)\r\n";
  s += "C;X1;Y3;K0;ERUN(R2C1)\r\nC;X1;Y4;K0;EHALT()\r\nE\r\n";
  return s;
}

TEST(Sylk, CallToWinExecIsMalicious) {
  TreeResult r = ScanTree("invoice.slk", "ID;P\r\nC;Y1;X1;K0;ECALL(\"Kernel32\",\"WinExec\",\"JCJ\",\"calc\",0)\r\nE\r\n");
  auto f = r.With("office.xlm.formula");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_NE(f[0].evidence.find("WinExec"), std::string::npos);
}

TEST(Sylk, CharBuiltFormulaRunOnOpenIsMalicious) {
  TreeResult r = ScanTree("invoice.slk", ObfuscatedDropper(true));
  auto f = r.With("office.xlm.sylk_macro");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_NE(f[0].evidence.find("name Auto_open"), std::string::npos) << f[0].evidence;
  EXPECT_NE(f[0].evidence.find("FORMULA, RUN, HALT"), std::string::npos) << f[0].evidence;
  EXPECT_EQ(f[0].techniques, (std::vector<std::string>{"T1059", "T1027"}));
  EXPECT_FALSE(r.Has("office.xlm.formula"));  // no EXEC spelled out: only the macro-sheet finding sees it
}

TEST(Sylk, MacroSheetWithoutAutoOpenIsSuspicious) {
  TreeResult r = ScanTree("invoice.slk", ObfuscatedDropper(false));
  EXPECT_EQ(r.MaxSeverity(), 5) << r.Describe();
}

TEST(Sylk, CrOnlyLineEndsAreRecords) {
  TreeResult r = ScanTree("x.slk", "ID;P\rC;X1;Y1;K0;E1+1\rC;X1;Y2;K0;EEXEC(\"calc\")\rE\r");
  EXPECT_TRUE(r.Has("office.xlm.formula")) << r.Describe();
}

// Hard negatives: a plain SYLK table with SUM formulas and text; a macro-free worksheet that uses
// CHAR() in a few display formulas.
TEST(Sylk, PlainTableIsClean) {
  std::string s = "ID;PWXL;N;E\r\nP;PGeneral\r\nF;P0;DG0G8;M255\r\nB;Y4;X2;D0 0 3 1\r\n"
                  "C;Y1;X1;K\"Item\"\r\nC;X2;K\"Qty\"\r\nC;Y2;X1;K\"Pens;;blue\"\r\nC;X2;K4\r\n"
                  "C;Y3;X1;K\"Paper\"\r\nC;X2;K10\r\nC;Y4;X2;K14;ESUM(R2C2:R3C2)\r\n"
                  "C;Y5;X1;K\"x\";ECHAR(65)&CHAR(66)\r\nE\r\n";
  TreeResult r = ScanTree("stock.slk", s);
  EXPECT_EQ(r.MaxSeverity(), 0) << r.Describe();
}

}  // namespace
}  // namespace airlock::scan::office::testing
