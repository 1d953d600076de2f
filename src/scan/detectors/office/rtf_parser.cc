#include "scan/detectors/office/rtf_parser.h"

#include <cctype>
#include <optional>

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxFieldText = 8192;
constexpr size_t kMaxObjects = 256;

enum class Dest { kNone, kFldinst, kObjData, kObjClass };

struct Group {
  Dest dest = Dest::kNone;
  bool opens_object = false;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  RtfDocument Run() {
    stack_.push_back(Group{});
    while (pos_ < in_.size()) {
      const char c = in_[pos_];
      if (c == '{') {
        ++pos_;
        Push();
      } else if (c == '}') {
        ++pos_;
        Pop();
      } else if (c == '\\') {
        ControlWord();
      } else {
        ++pos_;
        if (c != '\r' && c != '\n') Text(c);
      }
    }
    while (depth_ > 0) Pop();  // unclosed groups end at EOF
    return std::move(doc_);
  }

 private:
  Group& Top() { return stack_.back(); }

  void Push() {
    ++depth_;
    doc_.max_depth = std::max(doc_.max_depth, depth_);
    if (stack_.size() < kMaxRtfDepth) {
      Group g;
      g.dest = Top().dest;  // a nested group inherits its parent's destination
      stack_.push_back(g);
    } else {
      doc_.depth_exceeded = true;
      ++overflow_;
    }
  }

  void Pop() {
    if (depth_ == 0) return;  // stray '}'
    --depth_;
    if (overflow_ > 0) {
      --overflow_;
      return;
    }
    if (stack_.size() <= 1) return;
    const Group closed = stack_.back();
    stack_.pop_back();
    const bool dest_ends = closed.dest != Dest::kNone && closed.dest != Top().dest;
    if (dest_ends && closed.dest == Dest::kFldinst && field_open_) {
      field_open_ = false;
    }
    if (dest_ends && closed.dest == Dest::kObjData) FlushNibble();
    if (closed.opens_object) object_open_ = false;
  }

  Dest& Current() { return Top().dest; }

  RtfObject* CurrentObject() {
    if (!object_open_ || doc_.objects.empty()) {
      if (doc_.objects.size() >= kMaxObjects) return nullptr;
      doc_.objects.emplace_back();
      object_open_ = true;
      // Implicit object (objdata without \object): it lives as long as this group.
      Top().opens_object = true;
    }
    return &doc_.objects.back();
  }

  void ControlWord() {
    ++pos_;  // the backslash
    if (pos_ >= in_.size()) return;
    const char c = in_[pos_];
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      ++pos_;
      if (c == '\'') {  // \'hh
        int hi = pos_ < in_.size() ? HexValue(in_[pos_]) : -1;
        int lo = pos_ + 1 < in_.size() ? HexValue(in_[pos_ + 1]) : -1;
        if (hi >= 0 && lo >= 0) {
          pos_ += 2;
          Text(static_cast<char>(hi * 16 + lo));
        }
      } else if (c == '\\' || c == '{' || c == '}') {
        Text(c);
      } else if (c == '~') {
        Text(' ');
      }
      return;
    }
    const size_t word_begin = pos_;
    while (pos_ < in_.size() && pos_ - word_begin < 32 && std::isalpha(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    const std::string_view word = in_.substr(word_begin, pos_ - word_begin);
    // Skip any remaining letters of an over-long word.
    while (pos_ < in_.size() && std::isalpha(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    std::optional<long long> param;
    bool negative = false;
    if (pos_ < in_.size() && in_[pos_] == '-') {
      negative = true;
      ++pos_;
    }
    size_t digits = 0;
    long long value = 0;
    while (pos_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[pos_]))) {
      if (digits < 10) value = value * 10 + (in_[pos_] - '0');
      ++digits;
      ++pos_;
    }
    if (digits > 0) param = negative ? -value : value;
    if (pos_ < in_.size() && in_[pos_] == ' ') ++pos_;  // the delimiter space belongs to the word
    Apply(word, param);
  }

  void Apply(std::string_view word, std::optional<long long> param) {
    if (word == "fldinst") {
      Current() = Dest::kFldinst;
      if (doc_.field_instructions.size() < 4096) {
        doc_.field_instructions.emplace_back();
        field_open_ = true;
      }
    } else if (word == "object") {
      if (doc_.objects.size() < kMaxObjects) {
        doc_.objects.emplace_back();
        object_open_ = true;
        Top().opens_object = true;
      }
    } else if (word == "objdata") {
      Current() = Dest::kObjData;
      nibble_ = -1;
      CurrentObject();
    } else if (word == "objclass") {
      Current() = Dest::kObjClass;
      if (auto* o = CurrentObject()) o->class_name.clear();
    } else if (word == "objupdate") {
      if (auto* o = CurrentObject()) o->objupdate = true;
    } else if (word == "objautlink" || word == "objlink") {
      if (auto* o = CurrentObject()) o->linked = true;
    } else if (word == "bin" && param && *param > 0) {
      const size_t n = std::min<size_t>(static_cast<size_t>(*param), in_.size() - pos_);
      if (Current() == Dest::kObjData) {
        if (auto* o = object_open_ ? &doc_.objects.back() : nullptr) o->data.append(in_.substr(pos_, n));
      }
      pos_ += n;
    }
  }

  void FlushNibble() { nibble_ = -1; }

  void Text(char c) {
    switch (Current()) {
      case Dest::kFldinst:
        if (field_open_ && doc_.field_instructions.back().size() < kMaxFieldText) {
          doc_.field_instructions.back().push_back(c);
        }
        break;
      case Dest::kObjClass:
        if (object_open_ && doc_.objects.back().class_name.size() < 256) doc_.objects.back().class_name.push_back(c);
        break;
      case Dest::kObjData: {
        const int v = HexValue(c);
        if (v < 0 || !object_open_) break;
        if (nibble_ < 0) {
          nibble_ = v;
        } else {
          doc_.objects.back().data.push_back(static_cast<char>(nibble_ * 16 + v));
          nibble_ = -1;
        }
        break;
      }
      case Dest::kNone:
        break;
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t depth_ = 0;
  size_t overflow_ = 0;
  std::vector<Group> stack_;
  RtfDocument doc_;
  bool field_open_ = false;
  bool object_open_ = false;
  int nibble_ = -1;
};

}  // namespace

bool LooksLikeRtf(std::string_view data) { return data.substr(0, 4) == "{\\rt"; }

RtfDocument ParseRtf(std::string_view data) { return Parser(data).Run(); }

}  // namespace airlock::scan::office
