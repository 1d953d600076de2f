// Choosing how to detonate a sample: by its leading bytes, shebang and name.
#pragma once

#include <string>
#include <vector>

namespace airlock::analyze {

struct Runner {
  std::string kind;               // "elf", "shell", "python", "perl", "browser", "archive", "none"
  std::vector<std::string> argv;  // command inside the sandbox (sample at /sample/<name>)
  std::string why;                // why this runner (or why none)
  std::vector<std::string> ro_binds;  // extra host paths the runner needs read-only (when present)
};

// `head` is the first bytes of the sample; `name` its file name (untrusted: used only for the
// extension). `browser` is the path of a headless browser if installed ("" otherwise).
Runner ChooseRunner(const std::string& head, const std::string& name, const std::string& browser);

// A file name safe to place in /sample: only [A-Za-z0-9._-], no leading dot, at most 64 chars.
std::string SafeSampleName(const std::string& name);

}  // namespace airlock::analyze
