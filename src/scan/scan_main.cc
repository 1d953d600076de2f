// airlock-scan: static triage of files, directories, mail and archives (docs/SCAN.md).
// Exit status: 0 clean, 1 malicious, 2 error, 3 suspicious (docs/REPORT.md).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "scan/confined_scan.h"
#include "scan/report_json.h"
#include "scan/report_text.h"
#include "scan/scanner.h"
#include "scan/unpack/sandboxed_extractor.h"

int main(int argc, char** argv) {
  using namespace airlock::scan;
  ScanOptions opt;
  ConfinedScanFlags flags;  // --json, -q, --navigator
  bool json = false;
  bool no_default_rules = false;
  bool no_cache = false;
  bool quiet = false;
  bool no_sandbox = false;
  bool in_sandbox = false;
  uint64_t max_total_mib = opt.limits.max_total_bytes >> 20;
  uint64_t max_object_mib = opt.limits.max_object_bytes >> 20;

  CLI::App app{
      "airlock scan: static triage of files, directories, mail (eml, mbox) and archives.\n"
      "Every object is typed (libmagic), hashed (MD5/SHA-1/SHA-256), checked against YARA rules and a\n"
      "SHA-256 block-list, unpacked (MIME, zip/7z/rar/tar/cpio/iso/cab, gz/bz2/xz/zstd, uuencode,\n"
      "encrypted archives with passwords from the mail text) and analyzed by the detector families;\n"
      "children are triaged recursively under limits.\n\n"
      "Exit status: 0 clean, 1 malicious, 2 error, 3 suspicious.",
      "airlock scan"};
  app.add_option("inputs", opt.inputs, "Files, directories (recursive, symlinks skipped) or - for stdin");
  app.add_flag("--json", json, "Write the JSON report (docs/REPORT.md) to stdout");
  app.add_option("--extract", opt.extract_dir,
                 "Write every object into DIR under generated safe names (NNNNNN-leaf)")
      ->type_name("DIR");
  app.add_option("--rules", opt.rule_dirs, "Additional YARA rule directory (*.yar, *.yara); repeatable")
      ->allow_extra_args(false)
      ->type_name("DIR");
  app.add_flag("--no-default-rules", no_default_rules, "Do not load the project's YARA rules");
  app.add_option("--blocklist", opt.blocklist,
                 "SHA-256 block-list file (default: rules/blocklist.sha256 if present)")
      ->type_name("FILE");
  app.add_flag("--no-cache", no_cache, "Do not cache compiled YARA rules ($XDG_CACHE_HOME/airlock)");
  app.add_option("-j,--jobs", opt.jobs, "Scan N inputs in parallel (1..16)")->check(CLI::Range(1, 16));
  app.add_option("--max-depth", opt.limits.max_depth, "Nesting depth limit")
      ->capture_default_str()->check(CLI::Range(1, 64));
  const auto mib_range = CLI::Range(uint64_t{1}, uint64_t{1} << 20);
  app.add_option("--max-total-mib", max_total_mib, "Bytes extracted per input, MiB")
      ->capture_default_str()->check(mib_range);
  app.add_option("--max-object-mib", max_object_mib, "Size of one object, MiB")
      ->capture_default_str()->check(mib_range);
  app.add_option("--max-entries", opt.limits.max_entries, "Objects per input")->capture_default_str();
  app.add_option("--max-ratio", opt.limits.max_ratio, "Per-entry compression ratio")
      ->capture_default_str()->check(CLI::Range(1.0, 1e9));
  app.add_option("--timeout", opt.limits.max_seconds, "Wall time per input, seconds")
      ->capture_default_str()->check(CLI::Range(1, 86400));
  app.add_option("--navigator", flags.navigator, "Also write the ATT&CK Navigator layer of the report's techniques to FILE")
      ->type_name("FILE");
  app.add_flag("-q,--quiet", quiet, "No progress on stderr");
  app.add_flag("--no-sandbox", no_sandbox,
               "Parse in this process with your own rights instead of in airlock run's default sandbox (a weakening the "
               "report states: \"sandboxed\": false)");
  // The sandboxed side (scan/confined_scan.h, runapi/scan_request.h): not for users.
  app.add_flag("--in-sandbox", in_sandbox, "this process already runs in airlock's sandbox")->group("");
  app.add_option("--broker-fd", opt.broker_fd, "inputs from the host's broker on this descriptor")->group("");
  app.add_option("--compiled-rules", opt.compiled_rules, "YARA rules the host compiled")->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (opt.inputs.empty() && opt.broker_fd < 0) {
    std::cerr << "airlock scan: which files? Give files, directories or - for stdin (airlock scan --help)\n";
    return 2;
  }
  if ((opt.broker_fd >= 0 || !opt.compiled_rules.empty()) && !in_sandbox) {
    std::cerr << "airlock scan: --broker-fd and --compiled-rules are airlock's own (with --in-sandbox)\n";
    return 2;
  }
  opt.default_rules = !no_default_rules;
  if (no_cache) opt.cache_dir.clear();
  opt.limits.max_total_bytes = max_total_mib << 20;
  opt.limits.max_object_bytes = max_object_mib << 20;
  opt.progress = !quiet && ::isatty(STDERR_FILENO) == 1;

  flags.json = json;
  flags.quiet = quiet;
  if (!in_sandbox && !no_sandbox) return RunConfinedScan(opt, flags);
  if (in_sandbox) ExtractInThisSandbox();
  if (no_sandbox) std::cerr << "airlock scan: WEAKENED: parsing in this process, with your own rights (--no-sandbox)\n";
  auto report = RunScan(opt);
  if (!report) {
    std::cerr << "airlock scan: " << report.error().What() << "\n";
    return 2;
  }
  report->sandboxed = in_sandbox;
  if (!flags.navigator.empty()) {
    if (auto w = WriteFileReplacing(flags.navigator, NavigatorLayerText(ReportToJson(*report))); !w) {
      std::cerr << "airlock scan: " << w.error().What() << "\n";
      return 2;
    }
  }
  if (json) {
    std::cout << ReportToJsonText(*report);
  } else {
    std::cout << ReportToText(*report, ::isatty(STDOUT_FILENO) == 1);
  }
  std::cout.flush();
  return ExitCodeFor(*report);
}
