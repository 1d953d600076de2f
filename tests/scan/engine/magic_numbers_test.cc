// The built-in typing by magic numbers (scan/magic_numbers.h) against libmagic itself: whenever it
// answers, libmagic must give the same MIME type and description; where libmagic would name another
// format (OOXML, ODF, JAR, APK, SVG, ...), it must not answer.
#include <gtest/gtest.h>
#include <magic.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "scan/magic_numbers.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

using test::Le16;
using test::Le32;
using test::Libmagic;

// True when the built-in typer answered; its answer must then be libmagic's.
bool AnsweredAndAgrees(Libmagic& lm, const std::string& data, const std::string& label) {
  auto t = TypeByMagicNumbers(data);
  if (!t) return false;
  EXPECT_EQ(t->mime, lm.Mime(data)) << label;
  EXPECT_EQ(t->description, lm.Desc(data)) << label;
  return true;
}


// A one-member zip with a hand-written local header (version needed, method), payload stored as is.
std::string HandZip(const std::string& name, uint16_t version, uint16_t method, const std::string& payload) {
  std::string z = "PK\x03\x04";
  Le16(z, version);
  Le16(z, 0);       // flags
  Le16(z, method);
  Le32(z, 0);       // time, date
  Le32(z, 0);       // crc (libmagic does not check it)
  Le32(z, static_cast<uint32_t>(payload.size()));
  Le32(z, static_cast<uint32_t>(payload.size()));
  Le16(z, static_cast<uint16_t>(name.size()));
  Le16(z, 0);
  z += name + payload;
  const uint32_t cd_off = static_cast<uint32_t>(z.size());
  std::string cd = "PK\x01\x02";
  Le16(cd, 20);       // made by
  Le16(cd, version);  // needed
  Le16(cd, 0);        // flags
  Le16(cd, method);
  Le32(cd, 0);  // time, date
  Le32(cd, 0);  // crc
  Le32(cd, static_cast<uint32_t>(payload.size()));
  Le32(cd, static_cast<uint32_t>(payload.size()));
  Le16(cd, static_cast<uint16_t>(name.size()));
  Le16(cd, 0);  // extra
  Le16(cd, 0);  // comment
  Le16(cd, 0);  // disk
  Le16(cd, 0);  // internal attributes
  Le32(cd, 0);  // external attributes
  Le32(cd, 0);  // local header offset
  cd += name;
  z += cd;
  z += "PK\x05\x06";
  Le32(z, 0);
  Le16(z, 1);
  Le16(z, 1);
  Le32(z, static_cast<uint32_t>(cd.size()));
  Le32(z, cd_off);
  Le16(z, 0);
  return z;
}

// Several stored members, local headers only (libmagic reads no further for these tests).
std::string HandZipMembers(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string z;
  for (const auto& [name, payload] : members) z += HandZip(name, 20, 0, payload).substr(0, 30 + name.size() + payload.size());
  return z + HandZip("end.txt", 20, 0, "").substr(30 + 7);  // a central directory and end record
}

std::string GzipHeader(uint32_t mtime, uint8_t flags, uint8_t xfl, uint8_t os) {
  std::string g = "\x1f\x8b\x08";
  g.push_back(static_cast<char>(flags));
  Le32(g, mtime);
  g.push_back(static_cast<char>(xfl));
  g.push_back(static_cast<char>(os));
  return g;
}

TEST(ScanMagicNumbers, ZipAgreesWithLibmagic) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  int answered = 0;
  for (std::string name : {"notes.txt", "inner.zip", "eicar.com", "invoice.pdf", "run.JS", "a_b-1.exe"}) {
    for (uint16_t version : {10, 20, 45}) {
      for (uint16_t method : {0, 8}) {
        answered += AnsweredAndAgrees(lm, HandZip(name, version, method, "hello world"), name);
      }
    }
  }
  EXPECT_EQ(answered, 6 * 3 * 2);
  // Real archives written by libarchive, stored and encrypted.
  EXPECT_TRUE(AnsweredAndAgrees(lm, test::MakeArchive("zip", {{"notes.txt", "hello"}}), "libarchive zip"));
  EXPECT_TRUE(AnsweredAndAgrees(lm, test::MakeArchive("zip", {{"notes.txt", "hello"}}, "pw"), "encrypted zip"));
}

TEST(ScanMagicNumbers, ZipNamedByItsFirstEntryGoesToLibmagic) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  for (std::string name : {"mimetype", "[Content_Types].xml", "_rels/.rels", "META-INF/MANIFEST.MF",
                           "AndroidManifest.xml", "doc.kml", "content.xml", "word/document.xml", "dir/a.txt"}) {
    const std::string z = HandZip(name, 20, 8, "x");
    EXPECT_FALSE(TypeByMagicNumbers(z).has_value()) << name;
  }
  // libmagic names these differently, which is why they must not be answered.
  EXPECT_NE(lm.Mime(HandZip("AndroidManifest.xml", 20, 8, "x")), "application/zip");
  EXPECT_NE(lm.Desc(HandZip("mimetype", 20, 0, "application/vnd.oasis.opendocument.text")).substr(0, 17),
            "Zip archive data,");
  // Unmodelled versions and methods, and a tar header at 257, go to libmagic too.
  EXPECT_FALSE(TypeByMagicNumbers(HandZip("notes.txt", 63, 14, "x")).has_value());
  EXPECT_FALSE(TypeByMagicNumbers(HandZip("notes.txt", 20, 12, "x")).has_value());
  std::string tarlike = HandZip("notes.txt", 20, 0, std::string(300, 'a'));
  tarlike.replace(257, 5, "ustar");
  EXPECT_FALSE(TypeByMagicNumbers(tarlike).has_value());
}

TEST(ScanMagicNumbers, OoxmlAgreesWithLibmagic) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  const std::string ct = "[Content_Types].xml";
  const std::string xml = "<?xml version=\"1.0\"?><Types/>";
  for (std::string third : {"word/document.xml", "xl/workbook.xml", "ppt/presentation.xml"}) {
    const std::string doc = HandZipMembers({{ct, xml}, {"_rels/.rels", xml}, {third, xml}});
    EXPECT_TRUE(AnsweredAndAgrees(lm, doc, third));
    // A large first member: libmagic starts its search after that member's data.
    const std::string big = HandZipMembers({{ct, std::string(7000, 'a')}, {"_rels/.rels", xml}, {third, xml}});
    EXPECT_TRUE(AnsweredAndAgrees(lm, big, "big " + third));
  }
  // Layouts libmagic does not call OOXML, or where its search could find another header: no answer.
  const std::vector<std::vector<std::pair<std::string, std::string>>> others = {
      {{"_rels/.rels", xml}, {ct, xml}, {"word/document.xml", xml}},
      {{ct, xml}, {"word/document.xml", xml}, {"_rels/.rels", xml}},
      {{ct, xml}, {"_rels/.rels", xml}, {"docProps/app.xml", xml}, {"word/document.xml", xml}},
      {{ct, xml}, {"_rels/.rels", "x PK\x03\x04 y"}, {"word/document.xml", xml}},
      {{ct, xml}, {"_rels/.rels", std::string(7000, 'b')}, {"word/document.xml", xml}},
  };
  for (const auto& members : others) {
    const std::string z = HandZipMembers(members);
    EXPECT_FALSE(TypeByMagicNumbers(z).has_value()) << members[0].first << " " << members[1].first;
  }
  // Real documents written by libarchive (the generated .docx of the other tests).
  const std::string docx = test::MakeArchive("zip", {{ct, xml}, {"_rels/.rels", xml}, {"word/document.xml", xml}});
  if (TypeByMagicNumbers(docx)) {  // (libarchive may put sizes in data descriptors: then no answer)
    EXPECT_TRUE(AnsweredAndAgrees(lm, docx, "libarchive docx"));
  }
}

TEST(ScanMagicNumbers, GzipAgreesWithLibmagic) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  const std::string body = test::Gzip(std::string(500, 'a')).substr(10);
  int answered = 0;
  // 1699300000 is a single-digit day of the month (asctime pads it with a space).
  for (uint32_t mtime : {0u, 1699300000u, 1700000000u, 2000000000u}) {
    for (uint8_t xfl : {0, 2, 4}) {
      for (uint8_t os : {3, 255}) {
        answered += AnsweredAndAgrees(lm, GzipHeader(mtime, 0, xfl, os) + body, "gzip " + std::to_string(mtime));
      }
    }
  }
  EXPECT_EQ(answered, 4 * 3 * 2);
  EXPECT_TRUE(AnsweredAndAgrees(lm, test::Gzip("hello hello hello"), "libarchive gzip"));
  // A file name, another OS or another method: libmagic prints more, so no answer.
  EXPECT_FALSE(TypeByMagicNumbers(GzipHeader(0, 8, 0, 3) + "a.txt" + std::string(1, '\0') + body).has_value());
  EXPECT_FALSE(TypeByMagicNumbers(GzipHeader(0, 0, 0, 11) + body).has_value());
}

TEST(ScanMagicNumbers, OoxmlPartsAndHtmlAgreeWithLibmagic) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";
  const std::string types = "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                            "<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";
  const std::string doc = "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
                          "<w:body><w:p><w:r><w:t>" + std::string(400, 'x') + " Grüße</w:t></w:r></w:p></w:body></w:document>";
  const std::vector<std::string> answered = {
      decl + types,
      decl + "\r\n" + types + "\r\n",
      decl + "\n" + doc + "\n",
      "<?xml version=\"1.0\"?>" + doc,
      "<?xml version=\"1.0\"?><Relationships xmlns=\"x\"><Relationship Id=\"rId1\"/></Relationships>",
      "<html><body><p>hello</p></body></html>\n",
      "<html><body><p>" + std::string(2000, 'y') + "</p><script>var a = 1;</script></body></html>",
      "<!DOCTYPE html>\r\n<html><head><title>x</title></head><body>x</body></html>\r\n",
      "<html>\n<body>caf\xc3\xa9</body>\n</html>\n",
  };
  for (const auto& s : answered) EXPECT_TRUE(AnsweredAndAgrees(lm, s, s.substr(0, 80))) << s.substr(0, 80);
  // Other markup families libmagic has rules for: no answer.
  const std::vector<std::string> not_answered = {
      "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
      "<?xml version=\"1.0\"?><!DOCTYPE html><html/>",
      "<?xml version=\"1.0\"?><rss version=\"2.0\"/>",
      "<?xml version=\"1.1\"?>" + types,
      decl + types + std::string("\x01", 1),
      "<html><?php echo 1; ?></html>",
      "<html><svg></svg></html>",
      "<HTML><BODY>x</BODY></HTML>",
  };
  for (const auto& s : not_answered) EXPECT_FALSE(TypeByMagicNumbers(s).has_value()) << s;
}

// Every file of the repository's samples and of the shared reference corpora (when present): an
// answer is libmagic's.
TEST(ScanMagicNumbers, AgreesWithLibmagicOnCorpora) {
  Libmagic lm;
  ASSERT_TRUE(lm.ok());
  namespace fs = std::filesystem;
  const std::string src = AIRLOCK_SOURCE_DIR;
  size_t files = 0;
  for (const std::string& dir : {src + "/tests", src + "/examples", src + "/rules", src + "/../shared/reference"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec || !it->is_regular_file(ec) || it->file_size(ec) > (4u << 20)) continue;
      std::ifstream f(it->path(), std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      ++files;
      AnsweredAndAgrees(lm, ss.str(), it->path().string());
    }
  }
  EXPECT_GT(files, 50u);
}

}  // namespace
}  // namespace airlock::scan
