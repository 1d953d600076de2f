// Test support for the content detectors: a real AnalyzerOutput that collects findings and children
// (the engine's own collector enforces limits; this one enforces a byte budget and a child cap so
// limit handling can be tested), and helpers to build Objects and encode bytes.
#pragma once

#include <algorithm>
#include <filesystem>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "scan/analyzer.h"
#include "scan/detectors/content/content_detectors.h"

namespace airlock::scan::content_test {

class Collector final : public AnalyzerOutput {
 public:
  explicit Collector(uint64_t budget = 1ull << 30, size_t max_children = 1000)
      : budget_(budget), max_children_(max_children) {}

  void AddFinding(Finding finding) override { findings.push_back(std::move(finding)); }
  bool AddChild(std::string name, std::string data) override {
    if (children.size() >= max_children_ || data.size() > budget_) return false;
    budget_ -= data.size();
    children.emplace_back(std::move(name), std::move(data));
    return true;
  }
  uint64_t RemainingBytes() const override { return budget_; }
  bool TimeUp() const override { return false; }

  const Finding* Find(std::string_view id) const {
    for (const auto& f : findings) {
      if (f.id == id) return &f;
    }
    return nullptr;
  }
  bool Has(std::string_view id) const { return Find(id) != nullptr; }
  bool HasTechnique(std::string_view id, std::string_view technique) const {
    const Finding* f = Find(id);
    return f != nullptr &&
           std::find(f->techniques.begin(), f->techniques.end(), technique) != f->techniques.end();
  }
  int MaxSeverity() const {
    int m = 0;
    for (const auto& f : findings) m = std::max(m, f.severity);
    return m;
  }
  const std::string* Child(std::string_view name) const {
    for (const auto& c : children) {
      if (c.first == name) return &c.second;
    }
    return nullptr;
  }
  std::string Ids() const {
    std::string s;
    for (const auto& f : findings) s += f.id + "(" + std::to_string(f.severity) + ") ";
    return s;
  }

  std::vector<Finding> findings;
  std::vector<std::pair<std::string, std::string>> children;

 private:
  uint64_t budget_;
  size_t max_children_;
};

inline Object MakeObject(std::string name, std::string_view data, std::string mime = "",
                         const Object* parent = nullptr) {
  Object o;
  o.path = name;
  o.name = std::move(name);
  o.data = data;
  o.mime = std::move(mime);
  o.parent = parent;
  o.depth = parent == nullptr ? 0 : parent->depth + 1;
  return o;
}

// Runs one analyzer if it accepts the object; returns what it reported.
inline Collector RunDetector(Analyzer& analyzer, const Object& object, uint64_t budget = 1ull << 30) {
  Collector c(budget);
  if (analyzer.Accepts(object)) analyzer.Analyze(object, c);
  return c;
}

inline std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out.push_back(kAlphabet[(v >> k) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// Deterministic pseudo-random bytes (xorshift), for high-entropy test data.
inline std::string RandomBytes(size_t n, uint64_t seed = 0x9e3779b97f4a7c15ull) {
  std::string out(n, '\0');
  for (auto& c : out) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

// A minimal PE: MZ header pointing at a PE signature, then filler. Not a runnable program.
inline std::string FakePe(size_t size = 512) {
  std::string pe(std::max<size_t>(size, 0x100), '\0');
  pe[0] = 'M';
  pe[1] = 'Z';
  pe[0x3c] = static_cast<char>(0x80);
  pe.replace(0x80, 4, std::string("PE\0\0", 4));
  pe.replace(0x84, 2, "\x4c\x01");
  return pe;
}

inline std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace airlock::scan::content_test
