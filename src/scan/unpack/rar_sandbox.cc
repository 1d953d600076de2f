#include "scan/unpack/rar_sandbox.h"

namespace airlock::scan {
namespace {

// Tests each password (lsar -t decrypts every member and checks its CRC), prints the index of the
// first that works, and extracts with it unless the JSON listing (one key a line; names are JSON
// strings, so a name cannot start a line) names no member, more members or declares more bytes than
// the budget (RLIMIT_FSIZE still caps each file unar writes). Exit 3: no password worked; 4: over the
// budget or no listing. unar exits 1 when a member fails; what it did extract is still read back.
constexpr const char* kRarScript = R"(in=$1 out=$2 l=$3 u=$4 max_bytes=$5 max_files=$6
n=0
while IFS= read -r pw; do
  n=$((n + 1))
  if "$l" -nr -t -p "$pw" "$in"/archive.rar </dev/null >/dev/null 2>&1; then
    echo "$n"
    "$l" -nr -j -p "$pw" "$in"/archive.rar </dev/null 2>/dev/null |
      awk -v mb="$max_bytes" -v mf="$max_files" '
        /^ *"XADFileName": / { f++ }
        /^ *"XADFileSize": / { v = $2; sub(/,$/, "", v); s += v }
        END { exit !(f > 0 && s <= mb && f <= mf) }' ||
      exit 4
    exec "$u" -q -nr -f -D -o "$out" -p "$pw" "$in"/archive.rar </dev/null >/dev/null 2>&1
  fi
done < "$in"/passwords
exit 3
)";

}  // namespace

std::string FindUnar() { return FindTool("AIRLOCK_UNAR", {"/usr/bin/unar", "/usr/local/bin/unar"}); }
std::string FindLsar() { return FindTool("AIRLOCK_LSAR", {"/usr/bin/lsar", "/usr/local/bin/lsar"}); }

ExtractOutcome OpenEncryptedRar(std::string_view archive, const std::vector<std::string>& passwords,
                                const ExtractBudget& budget) {
  SandboxedExtractor x;
  x.tool_label = "unar";
  x.missing_detail = "unar/lsar (Debian package unar) is not installed";
  x.tools = {FindLsar(), FindUnar()};
  x.script = kRarScript;
  x.archive_name = "archive.rar";
  return RunSandboxedExtractor(x, archive, passwords, budget);
}

}  // namespace airlock::scan
