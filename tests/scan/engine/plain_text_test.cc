// The typing shortcuts in front of libmagic (scan/plain_text.h) against libmagic itself: whenever a
// shortcut answers, libmagic must give the same MIME type (and, for mail, the same description).
#include <gtest/gtest.h>
#include <magic.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scan/file_type.h"
#include "scan/plain_text.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

using test::Libmagic;

// Whenever a shortcut answers, it is libmagic's answer. Returns which shortcut answered.
enum class Answer { kNone, kProse, kMail };
Answer CheckAgainstLibmagic(Libmagic& lm, const std::string& data, const std::string& label) {
  if (LooksLikePlainProse(data)) {
    EXPECT_EQ(lm.Mime(data), "text/plain") << label;
    return Answer::kProse;
  }
  if (auto desc = PlainMailDescription(data)) {
    EXPECT_EQ(lm.Mime(data), "message/rfc822") << label;
    EXPECT_EQ(lm.Desc(data), *desc) << label;
    return Answer::kMail;
  }
  return Answer::kNone;
}

const std::string kMailHead = "From: Alice <alice@example.org>\nTo: bob@example.com\nSubject: numbers\n\n";

TEST(ScanPlainText, ProseIsAnsweredAndAgrees) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  const std::vector<std::string> prose = {
      "Meeting moved to Thursday 10:00. Bring the quarterly numbers.\n",
      "invoice report meeting quarterly budget schedule contract review",
      "Hello Bob,\n\nplease find the figures attached. Thanks!\n\nRegards,\nAlice\n",
      "Grüße aus Köln, bis Montag.\r\nAnna\r\n",
      "ok",
      std::string(5000, 'a') + "\n" + std::string(20, 'b') + "\n",
      // "update" (SQL) is no line keyword: libmagic has no text rule on it.
      "update office summary agenda customer deadline\nupdate the figures before friday\n",
      "update " + std::string(400, 'w') + " done\n",
  };
  for (const auto& p : prose) EXPECT_EQ(CheckAgainstLibmagic(lm, p, p.substr(0, 40)), Answer::kProse) << p.substr(0, 40);
}

TEST(ScanPlainText, LookalikesGoToLibmagic) {
  // Each of these is (or could be) something else to libmagic or to a detector.
  const std::vector<std::string> not_prose = {
      "",                                                   // empty
      "a",                                                  // "very short file"
      "<html><body>hi</body></html>",                       // markup
      "import os\nos.system('id')\n",                       // Python without a shebang
      "using std::vector;\n",                               // C++
      "#!/bin/sh\necho hi\n",                               // shebang
      "@echo off\r\ndel x\r\n",                             // batch
      "From someone Mon Jan 1 00:00:00 2024\nbody\n",       // mbox
      "Subject: hello\n\nbody\n",                           // mail header
      "a,b,c\n1,2,3\n4,5,6\n",                              // CSV
      "a;b\n1;2\n3;4\n",                                    // CSV with semicolons
      "%PDF-1.4\n1 0 obj\n",                                // PDF
      "begin 644 file.bin\nM86)C\nend\n",                   // uuencode
      "C comment line of a Fortran program\n",              // Fortran
      std::string("text\0with NUL", 13),                    // binary
      "caf\xe9 latin-1\n",                                  // not UTF-8
      "line one\rline two\r",                               // CR line ends
      "\xef\xbb\xbfwith a BOM\n",                           // UTF-8 BOM
      "name = value\n",                                     // config
  };
  for (const auto& s : not_prose) EXPECT_FALSE(LooksLikePlainProse(s)) << s;
}

TEST(ScanPlainText, MailIsAnsweredWithLibmagicsDescription) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  std::string crlf = kMailHead + "Hello Bob,\n\nsee you.\n";
  for (size_t p = 0; (p = crlf.find('\n', p)) != std::string::npos; p += 2) crlf.replace(p, 1, "\r\n");
  const std::vector<std::string> mails = {
      kMailHead + "Hello Bob,\n\nsee you.\n",
      crlf,
      kMailHead + std::string(700, 'x') + "\n",
      "Received: from mx.example.org by mx.example.com\nFrom: a@example.org\n\nbody\n",
      "Return-Path: <a@example.org>\nFrom: a@example.org\n\nbody\n",
      "DELIVERED-TO: b@example.com\nFrom: a@example.org\n\nbody",
      kMailHead + "Grüße\n",
      // libmagic's plain HTML tag rules are weaker than its mail rules.
      kMailHead + "<html><head><title>t</title></head><body><p>x</p><br><div><a href=\"http://x/\">y</a></div>"
                  "<table><tr><td>1</td></tr></table><img src=\"a.png\"><span>z</span></body></html>\n",
  };
  for (const auto& m : mails) EXPECT_EQ(CheckAgainstLibmagic(lm, m, m.substr(0, 60)), Answer::kMail) << m;
  // Stronger libmagic rules would win on these: the shortcut must not answer.
  for (std::string body : {"<!DOCTYPE html>\n<html><body>x</body></html>\n", "<script>x()</script>\n", "'use strict';\n", "import x from 'y';\n", "%PDF-1.4\n"}) {
    EXPECT_FALSE(PlainMailDescription(kMailHead + body).has_value()) << body;
  }
  EXPECT_FALSE(PlainMailDescription("MIME-Version: 1.0\n\nx\n").has_value());  // libmagic: text/plain
  EXPECT_FALSE(PlainMailDescription(kMailHead + std::string("\x01", 1)).has_value());
}

TEST(ScanPlainText, FileTyperGivesLibmagicsAnswerWithAndWithoutShortcuts) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  FileTyper* typer = FileTyper::Shared();
  ASSERT_NE(typer, nullptr);
  for (std::string s : {std::string("plain words only\n"), kMailHead + "body\n", std::string("<html><p>x</p></html>\n"),
                        std::string("\x89PNG\r\n\x1a\n", 8) + std::string(40, '\0')}) {
    for (int round = 0; round < 2; ++round) {  // the second round is answered from the cache
      auto t = typer->Identify(s);
      EXPECT_EQ(t.mime, lm.Mime(s)) << s;
      if (t.mime != "text/plain") {
        EXPECT_EQ(t.description, lm.Desc(s)) << s;
      }
    }
  }
}

// Every file of the repository's samples and of the shared reference corpora (when present): a
// shortcut's answer is libmagic's.
TEST(ScanPlainText, AgreesWithLibmagicOnCorpora) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  namespace fs = std::filesystem;
  const std::string src = AIRLOCK_SOURCE_DIR;
  size_t files = 0, answered = 0;
  for (const std::string& dir : {src + "/tests", src + "/examples", src + "/docs", src + "/../shared/reference"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec || !it->is_regular_file(ec) || it->file_size(ec) > (1u << 20)) continue;
      std::ifstream f(it->path(), std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      ++files;
      if (CheckAgainstLibmagic(lm, ss.str(), it->path().string()) != Answer::kNone) ++answered;
    }
  }
  EXPECT_GT(files, 50u);
  EXPECT_GT(answered, 5u);
}

}  // namespace
}  // namespace airlock::scan
