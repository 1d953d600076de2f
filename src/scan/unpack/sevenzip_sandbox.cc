#include "scan/unpack/sevenzip_sandbox.h"

namespace airlock::scan {
namespace {

// Tests each password (7zz t checks every member's CRC), prints the index of the first that works
// and extracts with it, unless the listing declares more bytes or members than the budget (7z checks
// each member's declared size while extracting). Exit 3: no password worked; 4: over the budget.
constexpr const char* kSevenZipScript = R"(in=$1 out=$2 z=$3 max_bytes=$4 max_files=$5
n=0
while IFS= read -r pw; do
  n=$((n + 1))
  if "$z" t -bso0 -bse0 -bsp0 -p"$pw" -- "$in"/archive.7z </dev/null >/dev/null 2>&1; then
    echo "$n"
    "$z" l -slt -p"$pw" -- "$in"/archive.7z </dev/null 2>/dev/null |
      awk -v mb="$max_bytes" -v mf="$max_files" '/^Size = / { s += $3; f++ } END { exit !(s <= mb && f <= mf) }' ||
      exit 4
    exec "$z" x -bso0 -bse0 -bsp0 -y -p"$pw" -o"$out" -- "$in"/archive.7z </dev/null >/dev/null 2>&1
  fi
done < "$in"/passwords
exit 3
)";

}  // namespace

std::string Find7zz() { return FindTool("AIRLOCK_7ZZ", {"/usr/bin/7zz", "/usr/local/bin/7zz"}); }

SevenZipOutcome OpenEncrypted7z(std::string_view archive, const std::vector<std::string>& passwords,
                                const SevenZipBudget& budget) {
  SandboxedExtractor x;
  x.tool_label = "7zz";
  x.missing_detail = "7zz (Debian package 7zip) is not installed";
  x.tools = {Find7zz()};
  x.script = kSevenZipScript;
  x.archive_name = "archive.7z";
  return RunSandboxedExtractor(x, archive, passwords, budget);
}

}  // namespace airlock::scan
