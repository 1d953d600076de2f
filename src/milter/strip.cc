#include "milter/strip.h"

#include <fmt/format.h>
#include <gmime/gmime.h>

#include <memory>
#include <mutex>

#include "scan/hashes.h"

namespace airlock::milter {
namespace {

template <class T>
struct GUnref {
  void operator()(T* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GUnref<T>>;

constexpr int kMaxDepth = 64;
constexpr size_t kMaxParts = 5000;

class Stripper {
 public:
  explicit Stripper(const std::map<std::string, Removal>& remove) : remove_(remove) {}

  // Returns a replacement for `obj` when it must go, else nullptr (and recurses into multiparts).
  GMimeObject* Visit(GMimeObject* obj, int depth) {
    if (obj == nullptr || depth > kMaxDepth || ++parts_ > kMaxParts) return nullptr;
    if (GMIME_IS_MULTIPART(obj)) {
      auto* mp = GMIME_MULTIPART(obj);
      int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) {
        GMimeObject* child = g_mime_multipart_get_part(mp, i);
        if (GMimeObject* repl = Visit(child, depth + 1)) {
          GMimeObject* old = g_mime_multipart_replace(mp, i, repl);
          g_object_unref(repl);
          if (old != nullptr) g_object_unref(old);
        }
      }
      return nullptr;
    }
    std::string name, data;
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (msg == nullptr) return nullptr;
      char* text = g_mime_object_to_string(GMIME_OBJECT(msg), nullptr);
      if (text == nullptr) return nullptr;
      data = text;
      g_free(text);
      const char* subject = g_mime_message_get_subject(msg);
      name = subject != nullptr && subject[0] != '\0' ? std::string(subject) + ".eml" : "attached.eml";
    } else if (GMIME_IS_PART(obj)) {
      auto* part = GMIME_PART(obj);
      if (const char* fn = g_mime_part_get_filename(part); fn != nullptr && fn[0] != '\0') name = fn;
      GMimeDataWrapper* content = g_mime_part_get_content(part);
      if (content == nullptr) return nullptr;
      GPtr<GMimeStream> mem(g_mime_stream_mem_new());
      if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return nullptr;
      GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
      if (bytes != nullptr) data.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
      if (name.empty()) name = "attachment";
    } else {
      return nullptr;
    }
    if (data.empty()) return nullptr;
    auto it = remove_.find(scan::Sha256Hex(data));
    if (it == remove_.end()) return nullptr;
    removed_.push_back(name);
    return Replacement(name, it->second);
  }

  const std::vector<std::string>& removed() const { return removed_; }

 private:
  static GMimeObject* Replacement(const std::string& name, const Removal& why) {
    GMimeTextPart* text = g_mime_text_part_new_with_subtype("plain");
    g_mime_text_part_set_charset(text, "utf-8");
    g_mime_text_part_set_text(text, RemovalNotice(name, why).c_str());
    g_mime_part_set_filename(GMIME_PART(text), (name + ".removed.txt").c_str());
    g_mime_object_set_disposition(GMIME_OBJECT(text), "attachment");
    g_mime_part_set_content_encoding(GMIME_PART(text), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    return GMIME_OBJECT(text);
  }

  const std::map<std::string, Removal>& remove_;
  std::vector<std::string> removed_;
  size_t parts_ = 0;
};

}  // namespace

std::string RemovalNotice(const std::string& name, const Removal& why) {
  std::string t;
  for (const auto& x : why.techniques) t += (t.empty() ? "" : ", ") + x;
  return fmt::format(
      "airlock removed the attachment \"{}\" from this message.\n\n"
      "verdict: {}\nscore: {:.1f}/10\ntechniques: {}\n\n"
      "The original is kept by the mail administrator if it was quarantined.\n",
      name, why.verdict, why.score, t.empty() ? "none" : t);
}

Result<StripResult> StripMessage(const std::string& message, const std::map<std::string, Removal>& remove) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) return MakeError("strip: the message does not parse as MIME");
  Stripper s(remove);
  GMimeObject* root = g_mime_message_get_mime_part(msg.get());
  if (root == nullptr) return MakeError("strip: the message has no MIME body");
  if (GMimeObject* repl = s.Visit(root, 0)) {
    g_mime_message_set_mime_part(msg.get(), repl);
    g_object_unref(repl);
  }
  GMimeFormatOptions* fo = g_mime_format_options_new();
  bool crlf = message.find("\r\n") != std::string::npos;
  g_mime_format_options_set_newline_format(fo, crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  ssize_t n = g_mime_object_write_to_stream(GMIME_OBJECT(msg.get()), fo, out.get());
  g_mime_format_options_free(fo);
  if (n < 0) return MakeError("strip: cannot write the rewritten message");
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  StripResult r;
  if (bytes != nullptr) r.message.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  r.removed = s.removed();
  return r;
}

}  // namespace airlock::milter
