#include "scan/unpack/mime_unpacker.h"

#include <gmime/gmime.h>

#include <array>
#include <cctype>
#include <mutex>
#include <string>

namespace airlock::scan {
namespace {

void InitGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

template <class T>
struct GUnref {
  void operator()(T* p) const {
    if (p != nullptr) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GUnref<T>>;

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr size_t kMaxParts = 2000;

class Walker {
 public:
  explicit Walker(AnalyzerOutput& out) : out_(out) {}

  void Walk(GMimeObject* obj, int depth) {
    if (obj == nullptr || stop_ || depth > 64) return;
    if (out_.TimeUp() || ++parts_ > kMaxParts) {
      stop_ = true;
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      auto* mp = GMIME_MULTIPART(obj);
      int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n && !stop_; ++i) Walk(g_mime_multipart_get_part(mp, i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (msg == nullptr) return;
      char* text = g_mime_object_to_string(GMIME_OBJECT(msg), nullptr);
      if (text == nullptr) return;
      std::string data(text);
      g_free(text);
      Emit(std::to_string(++index_) + "-attached.eml", std::move(data));
      return;
    }
    if (GMIME_IS_PART(obj)) {
      auto* part = GMIME_PART(obj);
      ++index_;
      std::string name;
      if (const char* fn = g_mime_part_get_filename(part); fn != nullptr && fn[0] != '\0') {
        name = fn;
      } else {
        GMimeContentType* ct = g_mime_object_get_content_type(obj);
        std::string sub = ct != nullptr && ct->subtype != nullptr ? LowerAscii(ct->subtype) : "bin";
        std::string type = ct != nullptr && ct->type != nullptr ? LowerAscii(ct->type) : "application";
        std::string ext = type == "text" ? (sub == "plain" ? "txt" : sub) : "bin";
        name = "part-" + std::to_string(index_) + "." + ext;
      }
      GMimeDataWrapper* content = g_mime_part_get_content(part);
      if (content == nullptr) return;
      GPtr<GMimeStream> mem(g_mime_stream_mem_new());
      if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return;
      GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
      std::string data = bytes != nullptr ? std::string(reinterpret_cast<const char*>(bytes->data), bytes->len)
                                          : std::string();
      Emit(std::move(name), std::move(data));
    }
  }

 private:
  void Emit(std::string name, std::string data) {
    if (data.empty()) return;
    if (!out_.AddChild(std::move(name), std::move(data))) stop_ = true;
  }

  AnalyzerOutput& out_;
  bool stop_ = false;
  size_t parts_ = 0;
  int index_ = 0;
};

}  // namespace

MimeUnpacker::MimeUnpacker() { InitGMime(); }

bool LooksLikeMail(std::string_view data) {
  static constexpr std::array<std::string_view, 12> kHeaders = {
      "from", "to", "subject", "date", "received", "message-id", "mime-version", "content-type",
      "return-path", "delivered-to", "reply-to", "cc"};
  int known = 0;
  size_t pos = 0;
  for (int lines = 0; lines < 200 && pos < data.size(); ++lines) {
    size_t eol = data.find('\n', pos);
    std::string_view line = data.substr(pos, eol == std::string_view::npos ? data.size() - pos : eol - pos);
    pos = eol == std::string_view::npos ? data.size() : eol + 1;
    if (line.empty() || line == "\r") break;            // end of headers
    if (line[0] == ' ' || line[0] == '\t') continue;   // folded continuation
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (size_t i = 0; i < colon; ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c <= 32 || c >= 127) return false;
    }
    std::string key = LowerAscii(line.substr(0, colon));
    for (auto h : kHeaders) {
      if (key == h) ++known;
    }
  }
  return known >= 2;
}

bool MimeUnpacker::Accepts(const Object& object) const {
  if (object.data.starts_with("From ")) return false;  // an mbox: split first (MboxUnpacker)
  if (object.mime == "message/rfc822" || object.mime == "message/news") return true;
  return LooksLikeMail(object.data.substr(0, 64 * 1024));
}

void MimeUnpacker::Analyze(const Object& object, AnalyzerOutput& out) {
  // GMime reads from the buffer in place (the stream does not own it).
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(object.data.data(), object.data.size()));
  if (!stream) return;
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  if (!parser) return;
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!message) {
    out.AddFinding({"mime.malformed", 1, "mail could not be parsed", "The object looks like mail but GMime "
                    "could not build a message from it.", "", {}});
    return;
  }
  Walker walker(out);
  walker.Walk(g_mime_message_get_mime_part(message.get()), 0);
}

}  // namespace airlock::scan
