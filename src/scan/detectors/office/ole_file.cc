#include "scan/detectors/office/ole_file.h"

#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-input.h>
#include <gsf/gsf-outfile-msole.h>
#include <gsf/gsf-outfile.h>
#include <gsf/gsf-output-memory.h>
#include <gsf/gsf-utils.h>

#include <mutex>

namespace airlock::scan::office {
namespace {

// libgsf reports malformed input through g_warning; a hostile file must not spam stderr.
void QuietGsf() {
  static std::once_flag once;
  std::call_once(once, [] {
    gsf_init();
    auto ignore = [](const gchar*, GLogLevelFlags, const gchar*, gpointer) {};
    // libgsf's msole reader logs with the default (NULL) domain, so that one is quieted too; this
    // only drops warnings/messages, never criticals, and only in processes that parse OLE files.
    for (const char* domain : {static_cast<const char*>(nullptr), "libgsf:msole", "libgsf"}) {
      g_log_set_handler(domain, static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
                                                            G_LOG_LEVEL_DEBUG),
                        ignore, nullptr);
    }
  });
}

struct GObjectDeleter {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectDeleter>;

void ListChildren(GsfInfile* dir, const std::string& prefix, int depth, size_t max_entries,
                  std::vector<OleEntry>& out) {
  if (depth > 32) return;
  const int n = gsf_infile_num_children(dir);
  for (int i = 0; i < n && out.size() < max_entries; ++i) {
    const char* name = gsf_infile_name_by_index(dir, i);
    GPtr<GsfInput> child(gsf_infile_child_by_index(dir, i));
    if (!child) continue;
    OleEntry e;
    e.path = prefix + (name ? name : "");
    const bool storage = GSF_IS_INFILE(child.get()) && gsf_infile_num_children(GSF_INFILE(child.get())) >= 0;
    e.is_storage = storage;
    e.size = storage ? 0 : static_cast<uint64_t>(std::max<gsf_off_t>(0, gsf_input_size(child.get())));
    out.push_back(e);
    if (storage) ListChildren(GSF_INFILE(child.get()), e.path + "/", depth + 1, max_entries, out);
  }
}

}  // namespace

bool LooksLikeOle(std::string_view data) {
  static constexpr std::string_view kMagic("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  return data.substr(0, 8) == kMagic;
}

struct OleFile::Impl {
  GPtr<GsfInput> input;
  GPtr<GsfInfile> root;
};

OleFile::OleFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OleFile::OleFile(OleFile&&) noexcept = default;
OleFile& OleFile::operator=(OleFile&&) noexcept = default;
OleFile::~OleFile() = default;

Result<OleFile> OleFile::Open(std::string_view data, size_t max_entries) {
  if (!LooksLikeOle(data)) return MakeError("ole: no CFB signature");
  QuietGsf();
  auto impl = std::make_unique<Impl>();
  impl->input.reset(gsf_input_memory_new(reinterpret_cast<const guint8*>(data.data()),
                                         static_cast<gsf_off_t>(data.size()), FALSE));
  if (!impl->input) return MakeError("ole: cannot wrap input");
  GError* err = nullptr;
  impl->root.reset(gsf_infile_msole_new(impl->input.get(), &err));
  if (!impl->root) {
    std::string msg = err && err->message ? err->message : "unreadable";
    if (err) g_error_free(err);
    return MakeError("ole: " + msg);
  }
  if (err) g_error_free(err);
  OleFile file(std::move(impl));
  ListChildren(file.impl_->root.get(), "", 0, max_entries, file.entries_);
  return file;
}

bool OleFile::HasStream(std::string_view path) const {
  for (const auto& e : entries_) {
    if (!e.is_storage && e.path == path) return true;
  }
  return false;
}

Result<std::string> OleFile::ReadStream(std::string_view path, uint64_t max_bytes) const {
  // Walk the path one component at a time from the root.
  std::vector<GPtr<GsfInput>> chain;  // keeps every opened ancestor alive while walking
  GsfInfile* dir = impl_->root.get();
  GsfInput* node = nullptr;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string part(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (!dir) return MakeError("ole: not a storage: " + std::string(path));
    GPtr<GsfInput> child(gsf_infile_child_by_name(dir, part.c_str()));
    if (!child) return MakeError("ole: no such entry: " + std::string(path));
    node = child.get();
    chain.push_back(std::move(child));
    if (slash == std::string_view::npos) break;
    dir = GSF_IS_INFILE(node) ? GSF_INFILE(node) : nullptr;
    start = slash + 1;
  }
  if (GSF_IS_INFILE(node) && gsf_infile_num_children(GSF_INFILE(node)) >= 0) {
    return MakeError("ole: is a storage: " + std::string(path));
  }
  const gsf_off_t size = gsf_input_size(node);
  if (size < 0 || static_cast<uint64_t>(size) > max_bytes) return MakeError("ole: stream too large: " + std::string(path));
  if (static_cast<uint64_t>(size) > kReadBudget - bytes_read_) return MakeError("ole: read budget exhausted");
  bytes_read_ += static_cast<uint64_t>(size);
  std::string out(static_cast<size_t>(size), '\0');
  if (size > 0 && !gsf_input_read(node, static_cast<size_t>(size), reinterpret_cast<guint8*>(out.data()))) {
    return MakeError("ole: read failed: " + std::string(path));
  }
  return out;
}

std::optional<std::string> OleFile::RootClassId() const {
  guint8 id[16] = {};
  if (!gsf_infile_msole_get_class_id(GSF_INFILE_MSOLE(impl_->root.get()), id)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(id), 16);
}

std::string WriteOle(const std::vector<std::pair<std::string, std::string>>& streams) {
  QuietGsf();
  GPtr<GsfOutput> mem(gsf_output_memory_new());
  GPtr<GsfOutfile> root(gsf_outfile_msole_new(mem.get()));
  for (const auto& [name, data] : streams) {
    GPtr<GsfOutput> child(gsf_outfile_new_child(root.get(), name.c_str(), FALSE));
    if (!child) continue;
    gsf_output_write(child.get(), data.size(), reinterpret_cast<const guint8*>(data.data()));
    gsf_output_close(child.get());
  }
  gsf_output_close(GSF_OUTPUT(root.get()));
  const guint8* bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(mem.get()));
  return std::string(reinterpret_cast<const char*>(bytes), static_cast<size_t>(gsf_output_size(mem.get())));
}

}  // namespace airlock::scan::office
