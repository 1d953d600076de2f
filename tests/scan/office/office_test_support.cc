#include "office_test_support.h"

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace airlock::scan {
std::vector<std::unique_ptr<Analyzer>> MakeOfficeDetectors();
}

namespace airlock::scan::office::testing {

bool TreeResult::Has(std::string_view id) const {
  for (const auto& f : findings) {
    if (f.finding.id == id) return true;
  }
  return false;
}

std::vector<Finding> TreeResult::With(std::string_view id) const {
  std::vector<Finding> out;
  for (const auto& f : findings) {
    if (f.finding.id == id) out.push_back(f.finding);
  }
  return out;
}

int TreeResult::MaxSeverity() const {
  int max = 0;
  for (const auto& f : findings) max = std::max(max, f.finding.severity);
  return max;
}

std::string TreeResult::Describe() const {
  std::ostringstream os;
  for (const auto& f : findings) {
    os << "  [" << f.finding.severity << "] " << f.finding.id << " @ " << f.path << " : "
       << f.finding.evidence.substr(0, 120) << "\n";
  }
  return os.str();
}

Collector RunAll(const std::string& name, std::string_view data) {
  Collector out;
  Object obj;
  obj.name = name;
  obj.path = name;
  obj.data = data;
  for (auto& a : MakeOfficeDetectors()) {
    if (a->Accepts(obj)) a->Analyze(obj, out);
  }
  return out;
}

namespace {

void Walk(const std::string& name, const std::string& path, const std::string& data, int depth, TreeResult& r) {
  r.objects.push_back(path);
  if (depth > 6) return;
  if (data.starts_with("PK\x03\x04")) {
    for (auto& m : ReadZip(data)) Walk(m.name, path + " > " + m.name, m.data, depth + 1, r);
    return;
  }
  Collector out;
  Object obj;
  obj.name = name;
  obj.path = path;
  obj.data = data;
  obj.depth = depth;
  for (auto& a : MakeOfficeDetectors()) {
    if (a->Accepts(obj)) a->Analyze(obj, out);
  }
  for (auto& f : out.findings) r.findings.push_back(PathFinding{path, std::move(f)});
  for (auto& c : out.children) {
    Walk(c.name, path + " > " + c.name, c.data, depth + 1, r);
    r.leaves.push_back(std::move(c));
  }
}

}  // namespace

TreeResult ScanTree(const std::string& name, std::string data) {
  TreeResult r;
  Walk(name, name, data, 0, r);
  return r;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Child> ReadZip(std::string_view data, const char* passphrase) {
  std::vector<Child> out;
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_zip(a.get());
  if (passphrase) archive_read_add_passphrase(a.get(), passphrase);
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) return out;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(a.get(), &entry) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    Child c;
    c.name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof(buf))) > 0) c.data.append(buf, static_cast<size_t>(n));
    if (n < 0) continue;
    out.push_back(std::move(c));
  }
  return out;
}

std::string CorpusDir() { return AIRLOCK_SOURCE_DIR "/../shared/reference/office-samples/tests/test-data"; }
bool CorpusPresent() {
  std::error_code ec;
  return std::filesystem::is_directory(CorpusDir(), ec);
}

}  // namespace airlock::scan::office::testing

#include <gsf/gsf-outfile-msole.h>
#include <gsf/gsf-outfile.h>
#include <gsf/gsf-output-memory.h>
#include <gsf/gsf-utils.h>

#include <map>

namespace airlock::scan::office::testing {

std::string OvbaCompress(std::string_view in) {
  std::string out = "\x01";
  for (size_t chunk_start = 0; chunk_start < in.size(); chunk_start += 4096) {
    std::string_view chunk = in.substr(chunk_start, 4096);
    std::string body;
    size_t pos = 0;
    while (pos < chunk.size()) {
      const size_t flag_at = body.size();
      body.push_back(0);
      for (int bit = 0; bit < 8 && pos < chunk.size(); ++bit) {
        size_t best_len = 0, best_off = 0;
        unsigned bit_count = 4;
        while (bit_count < 12 && (size_t{1} << bit_count) < pos) ++bit_count;
        const size_t max_len = (0xFFFFu >> bit_count) + 3;
        const size_t max_off = size_t{1} << bit_count;
        for (size_t off = 1; off <= pos && off <= max_off; ++off) {
          size_t len = 0;
          while (len < max_len && pos + len < chunk.size() && chunk[pos + len - off] == chunk[pos + len]) ++len;
          if (len > best_len) {
            best_len = len;
            best_off = off;
          }
        }
        if (best_len >= 3) {
          const uint16_t token = static_cast<uint16_t>(((best_off - 1) << (16 - bit_count)) | (best_len - 3));
          body.push_back(static_cast<char>(token & 0xFF));
          body.push_back(static_cast<char>(token >> 8));
          body[flag_at] = static_cast<char>(body[flag_at] | (1 << bit));
          pos += best_len;
        } else {
          body.push_back(chunk[pos++]);
        }
      }
    }
    if (body.size() > 4096 && chunk.size() == 4096) {
      out += "\xFF\x3F";  // raw chunk: size 4098-3, signature 3, flag 0
      out.append(chunk);
    } else {
      const uint16_t header = static_cast<uint16_t>(0xB000 | (body.size() + 2 - 3));
      out.push_back(static_cast<char>(header & 0xFF));
      out.push_back(static_cast<char>(header >> 8));
      out += body;
    }
  }
  return out;
}

std::string MakeOle(const std::vector<OleStream>& streams, std::string_view root_clsid) {
  gsf_init();
  GsfOutput* mem = gsf_output_memory_new();
  GsfOutfile* root = gsf_outfile_msole_new(mem);
  if (root_clsid.size() == 16) {
    gsf_outfile_msole_set_class_id(GSF_OUTFILE_MSOLE(root), reinterpret_cast<const guint8*>(root_clsid.data()));
  }
  std::map<std::string, GsfOutfile*> dirs;  // storage path -> open storage
  auto dir_for = [&](const std::string& path) {
    GsfOutfile* parent = root;
    std::string so_far;
    size_t start = 0, slash;
    while ((slash = path.find('/', start)) != std::string::npos) {
      so_far = path.substr(0, slash);
      auto it = dirs.find(so_far);
      if (it == dirs.end()) {
        GsfOutput* d = gsf_outfile_new_child(parent, path.substr(start, slash - start).c_str(), TRUE);
        it = dirs.emplace(so_far, GSF_OUTFILE(d)).first;
      }
      parent = it->second;
      start = slash + 1;
    }
    return std::make_pair(parent, path.substr(start));
  };
  for (const auto& s : streams) {
    auto [parent, leaf] = dir_for(s.path);
    GsfOutput* child = gsf_outfile_new_child(parent, leaf.c_str(), FALSE);
    gsf_output_write(child, s.data.size(), reinterpret_cast<const guint8*>(s.data.data()));
    gsf_output_close(child);
    g_object_unref(child);
  }
  // Close storages deepest first.
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    gsf_output_close(GSF_OUTPUT(it->second));
    g_object_unref(it->second);
  }
  gsf_output_close(GSF_OUTPUT(root));
  g_object_unref(root);
  const guint8* bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(mem));
  std::string out(reinterpret_cast<const char*>(bytes), static_cast<size_t>(gsf_output_size(mem)));
  g_object_unref(mem);
  return out;
}

namespace {
void Le16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xFF));
  s.push_back(static_cast<char>(v >> 8));
}
void Le32(std::string& s, uint32_t v) {
  Le16(s, static_cast<uint16_t>(v & 0xFFFF));
  Le16(s, static_cast<uint16_t>(v >> 16));
}
void Record(std::string& s, uint16_t id, std::string_view data) {
  Le16(s, id);
  Le32(s, static_cast<uint32_t>(data.size()));
  s.append(data);
}
std::string Utf16(std::string_view ascii) {
  std::string out;
  for (char c : ascii) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}
std::string U32(uint32_t v) {
  std::string s;
  Le32(s, v);
  return s;
}
}  // namespace

std::vector<OleStream> VbaProjectStreams(const std::string& prefix,
                                         const std::vector<std::pair<std::string, std::string>>& modules,
                                         size_t junk_before_source) {
  std::string dir;
  Record(dir, 0x0001, U32(1));                       // PROJECTSYSKIND win32
  Record(dir, 0x0002, U32(0x409));                   // PROJECTLCID
  Record(dir, 0x0014, U32(0x409));                   // PROJECTLCIDINVOKE
  Record(dir, 0x0003, std::string("\xE4\x04", 2));   // PROJECTCODEPAGE 1252
  Record(dir, 0x0004, "VBAProject");                 // PROJECTNAME
  Record(dir, 0x0005, "");                           // PROJECTDOCSTRING
  Record(dir, 0x0040, "");
  Record(dir, 0x0006, "");                           // PROJECTHELPFILEPATH
  Record(dir, 0x003D, "");
  Record(dir, 0x0007, U32(0));                       // PROJECTHELPCONTEXT
  Record(dir, 0x0008, U32(0));                       // PROJECTLIBFLAGS
  Le16(dir, 0x0009);                                 // PROJECTVERSION: Reserved=4 then 6 bytes
  Le32(dir, 4);
  Le32(dir, 0x65BE0257);
  Le16(dir, 0x0011);
  Record(dir, 0x000C, "");                           // PROJECTCONSTANTS
  Record(dir, 0x003C, "");
  Record(dir, 0x0016, "stdole");                     // REFERENCENAME
  Record(dir, 0x003E, Utf16("stdole"));
  std::string count;
  Le16(count, static_cast<uint16_t>(modules.size()));
  Record(dir, 0x000F, count);                        // PROJECTMODULES
  Record(dir, 0x0013, std::string("\xFF\xFF", 2));   // PROJECTCOOKIE
  std::vector<OleStream> out;
  for (const auto& [name, source] : modules) {
    Record(dir, 0x0019, name);
    Record(dir, 0x0047, Utf16(name));
    Record(dir, 0x001A, name);
    Record(dir, 0x0032, Utf16(name));
    Record(dir, 0x001C, "");
    Record(dir, 0x0048, "");
    Record(dir, 0x0031, U32(static_cast<uint32_t>(junk_before_source)));
    Record(dir, 0x001E, U32(0));
    Record(dir, 0x002C, std::string("\xFF\xFF", 2));
    Record(dir, 0x0021, "");
    Record(dir, 0x002B, "");
    out.push_back(OleStream{prefix + "VBA/" + name, std::string(junk_before_source, '\xCC') + OvbaCompress(source)});
  }
  Record(dir, 0x0010, "");
  out.push_back(OleStream{prefix + "VBA/dir", OvbaCompress(dir)});
  out.push_back(OleStream{prefix + "VBA/_VBA_PROJECT", std::string("\xCC\x61\xFF\xFF\x00\x00\x00", 7)});
  out.push_back(OleStream{prefix + "PROJECT", "ID=\"{00000000-0000-0000-0000-000000000000}\"\r\n"});
  return out;
}

}  // namespace airlock::scan::office::testing
