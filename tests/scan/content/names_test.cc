// Names and types detector: double extensions, bidi/zero-width names, type mismatch, executables by
// mail (by magic and by name), disk images and shortcuts; with hard negatives.
#include <gtest/gtest.h>

#include "collector.h"

namespace airlock::scan {
namespace {

using content_test::Collector;
using content_test::MakeObject;
using content_test::RunDetector;

class NamesTest : public ::testing::Test {
 protected:
  NamesTest() {
    mail_ = MakeObject("message.eml", "From: a@b\r\n\r\nhi", "message/rfc822");
  }
  Collector Scan(std::string name, std::string_view data, bool by_mail) {
    Object o = MakeObject(std::move(name), data, "", by_mail ? &mail_ : nullptr);
    return RunDetector(*detector_, o);
  }
  std::unique_ptr<Analyzer> detector_ = MakeNameTypeDetector();
  Object mail_;
  std::string text_ = "just some text\n";
};

TEST_F(NamesTest, DoubleExtensionInMail) {
  std::string pe = content_test::FakePe();
  Collector c = Scan("invoice.pdf.exe", pe, true);
  ASSERT_TRUE(c.Has("name.double_extension")) << c.Ids();
  EXPECT_EQ(c.Find("name.double_extension")->severity, 8);
  EXPECT_TRUE(c.HasTechnique("name.double_extension", "T1036.007"));
  EXPECT_TRUE(c.Has("name.executable_in_mail"));
  EXPECT_EQ(c.Find("name.executable_in_mail")->severity, 7);
}

TEST_F(NamesTest, PaddedExtension) {
  Collector c = Scan("report.doc      .js", "WScript.Echo(1)", false);
  ASSERT_TRUE(c.Has("name.double_extension")) << c.Ids();
  EXPECT_EQ(c.Find("name.double_extension")->severity, 7);
  // Non-breaking and ideographic spaces pad as well.
  EXPECT_TRUE(Scan("scan.pdf\xc2\xa0\xc2\xa0.exe", text_, false).Has("name.double_extension"));
  EXPECT_TRUE(Scan("scan\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80.scr", text_, false).Has("name.double_extension"));
  EXPECT_FALSE(Scan("my_tool.exe", text_, false).Has("name.double_extension"));
}

TEST_F(NamesTest, OrdinaryDottedNamesAreNotDoubleExtensions) {
  for (const char* name : {"jquery.min.js", "archive.tar.gz", "setup-1.2.3.exe", "q3.report.pdf", "my.doc.backup"}) {
    Collector c = Scan(name, text_, false);
    EXPECT_FALSE(c.Has("name.double_extension")) << name << ": " << c.Ids();
  }
}

TEST_F(NamesTest, RightToLeftOverride) {
  // "invoice<RLO>fdp.exe" displays as "invoiceexe.pdf".
  Collector c = Scan("invoice\xe2\x80\xae" "fdp.exe", content_test::FakePe(), true);
  ASSERT_TRUE(c.Has("name.bidi_override")) << c.Ids();
  EXPECT_EQ(c.Find("name.bidi_override")->severity, 8);
  EXPECT_TRUE(c.HasTechnique("name.bidi_override", "T1036.002"));
  EXPECT_NE(c.Find("name.bidi_override")->evidence.find("\\xe2\\x80\\xae"), std::string::npos);
}

TEST_F(NamesTest, ZeroWidthCharacter) {
  Collector c = Scan("pay\xe2\x80\x8bpal-statement.pdf", "%PDF-1.4\n", false);
  ASSERT_TRUE(c.Has("name.invisible_char")) << c.Ids();
  EXPECT_EQ(c.Find("name.invisible_char")->severity, 5);
  EXPECT_FALSE(c.Has("name.bidi_override"));
}

TEST_F(NamesTest, NonLatinNamesAreClean) {
  // Hebrew and Cyrillic letters are not control characters.
  Collector c = Scan("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd0\xbc\xd0\xb8\xd1\x80.pdf", "%PDF-1.4\n", true);
  EXPECT_TRUE(c.findings.empty()) << c.Ids();
}

TEST_F(NamesTest, ExecutableUnderDocumentExtension) {
  Collector c = Scan("holiday.jpg", content_test::FakePe(), false);
  ASSERT_TRUE(c.Has("name.type_mismatch")) << c.Ids();
  EXPECT_EQ(c.Find("name.type_mismatch")->severity, 8);
  EXPECT_TRUE(c.HasTechnique("name.type_mismatch", "T1036.008"));
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(120, '\0');
  EXPECT_TRUE(Scan("notes.txt", elf, false).Has("name.type_mismatch"));
}

TEST_F(NamesTest, MatchingTypesAreClean) {
  EXPECT_TRUE(Scan("holiday.jpg", "\xff\xd8\xff\xe0 JFIF", true).findings.empty());
  EXPECT_TRUE(Scan("notes.txt", text_, true).findings.empty());
  EXPECT_TRUE(Scan("report.pdf", "%PDF-1.7\n", true).findings.empty());
}

TEST_F(NamesTest, ExecutableByMagicAloneInMail) {
  std::string elf = std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(120, '\0');
  Collector c = Scan("update", elf, true);
  ASSERT_TRUE(c.Has("name.executable_in_mail")) << c.Ids();
  EXPECT_EQ(c.Find("name.executable_in_mail")->severity, 7);
  EXPECT_TRUE(c.HasTechnique("name.executable_in_mail", "T1566.001"));
  EXPECT_TRUE(Scan("run", "#!/bin/sh\necho hi\n", true).Has("name.executable_in_mail"));
}

TEST_F(NamesTest, ScriptByNameAloneInMail) {
  for (const char* name : {"payment.js", "a.vbs", "b.ps1", "c.hta", "d.scr", "e.jar", "f.wsf", "g.bat", "h.sh"}) {
    Collector c = Scan(name, text_, true);
    ASSERT_TRUE(c.Has("name.executable_in_mail")) << name << ": " << c.Ids();
    EXPECT_EQ(c.Find("name.executable_in_mail")->severity, 6) << name;
  }
}

TEST_F(NamesTest, ExecutableOutsideMailIsOnlyInformational) {
  EXPECT_TRUE(Scan("tool.exe", content_test::FakePe(), false).findings.empty());
  Object zip = MakeObject("tools.zip", "PK\x03\x04");
  Object inner = MakeObject("tool.exe", content_test::FakePe(), "", &zip);
  std::string pe = content_test::FakePe();
  inner.data = pe;
  Collector c = RunDetector(*detector_, inner);
  ASSERT_TRUE(c.Has("name.executable")) << c.Ids();
  EXPECT_LT(c.MaxSeverity(), 4);
}

TEST_F(NamesTest, MailIsFoundThroughNestedContainers) {
  Object eml = MakeObject("forwarded.eml", "From: x\r\n\r\n");
  Object zip = MakeObject("docs.zip", "PK\x03\x04", "application/zip", &eml);
  Object file = MakeObject("scan.js", text_, "", &zip);
  EXPECT_TRUE(RunDetector(*detector_, file).Has("name.executable_in_mail"));
}

TEST_F(NamesTest, DiskImagesAsCarriers) {
  Collector c = Scan("invoice.iso", text_, true);
  ASSERT_TRUE(c.Has("name.disk_image")) << c.Ids();
  EXPECT_EQ(c.Find("name.disk_image")->severity, 5);
  EXPECT_TRUE(c.HasTechnique("name.disk_image", "T1553.005"));
  std::string iso(0x8010, '\0');
  iso.replace(0x8001, 5, "CD001");
  EXPECT_TRUE(Scan("data.bin", iso, true).Has("name.disk_image"));
  EXPECT_TRUE(Scan("disk.vhdx", "vhdxfile", true).Has("name.disk_image"));
  EXPECT_FALSE(Scan("data.bin", std::string(0x8010, '\0'), true).Has("name.disk_image"));
}

TEST_F(NamesTest, ShortcutsAsCarriers) {
  std::string lnk("\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46", 20);
  Collector c = Scan("Invoice.lnk", lnk, true);
  ASSERT_TRUE(c.Has("name.shortcut")) << c.Ids();
  EXPECT_EQ(c.Find("name.shortcut")->severity, 6);
  EXPECT_TRUE(c.HasTechnique("name.shortcut", "T1204.002"));
  EXPECT_TRUE(Scan("Invoice.pdf", lnk, true).Has("name.type_mismatch"));
  EXPECT_TRUE(Scan("open-me", "[InternetShortcut]\r\nURL=file://10.0.0.1/share/a.exe\r\n", true).Has("name.shortcut"));
  EXPECT_TRUE(Scan("app.desktop", "[Desktop Entry]\nExec=sh -c x\n", true).Has("name.shortcut"));
  EXPECT_FALSE(Scan("readme.md", "[Desktop]\n", true).Has("name.shortcut"));
}

}  // namespace
}  // namespace airlock::scan
