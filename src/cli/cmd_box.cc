// airlock box: named copy-on-write boxes (docs/BOXES.md). The store and the change listing are in
// src/box; a run in a box is `airlock run` with the box's overlays added to the policy.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "box/box_commit.h"
#include "box/box_diff.h"
#include "box/box_review.h"
#include "box/box_store.h"
#include "box/box_transfer.h"
#include "cli/box_review_run.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "core/report_envelope.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "probe/probe.h"
#include "sandbox/outcome.h"

namespace airlock::cli {
namespace {

constexpr int kExitBoxError = 1;

int Fail(const Error& e, int code = kExitBoxError) {
  LogError("{}", e.What());
  return code;
}

// "PATH" or "PATH:INSIDE"; PATH relative to the working directory.
Result<box::BoxTree> ParseOver(const std::string& spec) {
  std::string host = spec, inside;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    host = spec.substr(0, colon);
    inside = spec.substr(colon + 1);
  }
  char buf[4096];
  if (host.empty()) return MakeError("--over needs a path: --over PATH[:INSIDE]");
  if (host.front() != '/') host = std::string(::getcwd(buf, sizeof buf) ? buf : "/") + "/" + host;
  char* real = ::realpath(host.c_str(), nullptr);
  if (real == nullptr) return ErrnoError("--over " + host);
  host = real;
  std::free(real);
  return box::BoxTree{host, inside.empty() ? host : inside};
}

// Without --over: the caller's home at the profile's home, and every top-level system directory the
// profile binds read-only that is a real directory on this host (/usr; /bin, /lib... too where they
// are not symlinks into /usr).
Result<std::vector<box::BoxTree>> DefaultTrees(const std::string& profile) {
  auto policy = LoadValidProfile(profile);
  if (!policy) return MakeError(fmt::format("profile {} could not be loaded", profile));
  std::vector<box::BoxTree> trees;
  const char* home = std::getenv("HOME");
  if (home && *home == '/' && !policy->home.empty()) trees.push_back({home, policy->home});
  for (const MountEntry& m : policy->mounts) {
    struct stat st {};
    const bool top_level = m.dst.size() > 1 && m.dst.find('/', 1) == std::string::npos;
    if (m.kind == MountEntry::Kind::kRoBind && top_level && m.src == m.dst && ::lstat(m.src.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      trees.push_back({m.src, m.dst});
    }
  }
  return trees;
}

// The trees of a new box: the --over specs given, else DefaultTrees.
Result<std::vector<box::BoxTree>> TreesOf(const std::string& profile, const std::vector<std::string>& over) {
  if (over.empty()) return DefaultTrees(profile);
  std::vector<box::BoxTree> trees;
  for (const auto& spec : over) {
    auto t = ParseOver(spec);
    if (!t) return std::unexpected(t.error());
    trees.push_back(std::move(*t));
  }
  return trees;
}

// What an import did, in one line (and the notes that go with it).
void PrintImported(const std::string& what, const box::BoxInfo& b, const box::TransferSummary& t) {
  std::printf("box %s %s: %llu entries, %llu bytes in %.1f s\n", b.name.c_str(), what.c_str(), static_cast<unsigned long long>(t.entries),
              static_cast<unsigned long long>(t.bytes), t.seconds);
  if (t.setid_dropped) std::printf("note: %llu setuid/setgid bit(s) dropped\n", static_cast<unsigned long long>(t.setid_dropped));
  if (t.baseline_dropped) {
    std::printf("note: the archive came from other host trees, so its record of what the box saw is dropped: `box commit` will "
                "call every host path the box changed a conflict (--force commits anyway)\n");
  }
}

// The lock of an existing box, with a crash's leftovers (box_transfer.h) removed under it.
Result<UniqueFd> LockAndClean(const box::BoxInfo& b) {
  auto lock = box::LockBox(b);
  if (!lock) return lock;
  if (Status s = box::CleanLeftovers(b); !s) return std::unexpected(s.error());
  return lock;
}

int Import(const std::string& store, const std::string& name, int archive_fd, const box::ImportOptions& o, const char* what) {
  auto t = box::ImportBox(store, name, archive_fd, o);
  if (!t) return Fail(Error(fmt::format("box {} not created: {}", name, t.error().What())));
  auto b = box::OpenBox(store, name);
  if (!b) return Fail(b.error());
  PrintImported(what, *b, *t);
  return 0;
}

// `create NAME --from BOX/SNAP`: the snapshot imported as a new box over the source box's trees.
int CreateFrom(const std::string& store, const std::string& name, const std::string& from, const std::string& profile, bool over,
               const box::BoxSettings& settings) {
  const size_t slash = from.find('/');
  if (slash == std::string::npos || over) return Fail(Error("--from BOX/SNAP takes the source box's trees: give it without --over"), kExitUsage);
  auto src = box::OpenBox(store, from.substr(0, slash));
  if (!src) return Fail(src.error());
  auto fd = box::OpenSnapshot(*src, from.substr(slash + 1));
  if (!fd) return Fail(fd.error());
  return Import(store, name, fd->get(), {profile.empty() ? src->profile : profile, src->trees, settings}, ("created from " + from).c_str());
}

// The overlay driver of a new box (box_store.h): --overlay, else $AIRLOCK_BOX_OVERLAY, else "auto":
// the kernel's where it mounts overlayfs in a user namespace, else fuse-overlayfs where usable. A
// driver that cannot work here is refused with the fix (`airlock check` reports both).
Result<std::string> ChooseOverlay(std::string wanted) {
  if (wanted == "auto") {
    if (const char* env = std::getenv("AIRLOCK_BOX_OVERLAY"); env != nullptr && *env != '\0') wanted = env;
  }
  if (wanted != "auto" && wanted != box::kOverlayKernel && wanted != box::kOverlayFuse) {
    return MakeError(fmt::format("overlay driver '{}' (from --overlay or AIRLOCK_BOX_OVERLAY): kernel, fuse or auto", Utf8Text(wanted)));
  }
  if (wanted == box::kOverlayKernel) return wanted;
  const std::string fuse = FuseOverlayProblem();
  if (wanted == box::kOverlayFuse) {
    if (!fuse.empty()) return MakeError("a box with --overlay fuse cannot run here: " + fuse);
    return wanted;
  }
  if (KernelOverlayInUserNamespaces()) return std::string(box::kOverlayKernel);
  if (fuse.empty()) return std::string(box::kOverlayFuse);
  return MakeError("boxes cannot run here: the kernel mounts no overlayfs in a user namespace (Linux >= 5.11 does), and " + fuse);
}

int Create(const std::string& store, int argc, char** argv) {
  std::string name, profile = "default", overlay = "auto";
  std::vector<std::string> over;
  bool monitor = false;
  CLI::App app{"Create a named copy-on-write box: the host trees it overlays look writable inside, and every change\n"
               "lands in the box (see `airlock box diff`), never on the host.", "airlock box create"};
  app.add_option("name", name, "the box's name")->required();
  app.add_option("-p,--profile", profile, "the policy of the box's runs (default: default)");
  app.add_option("--over", over, "a host directory to overlay, PATH or PATH:INSIDE (repeatable; default: your home at the "
                                 "profile's home, and the system directories it binds read-only: /usr)");
  app.add_flag("--monitor", monitor, "record every run's behaviour events in the box, for `airlock box review` (docs/EVENTS.md)");
  app.add_option("--overlay", overlay, "what mounts the box's trees: kernel (overlayfs in the sandbox's user namespace), fuse "
                                       "(fuse-overlayfs run by the sandbox) or auto (default: $AIRLOCK_BOX_OVERLAY, else kernel "
                                       "where it works, else fuse)");
  std::string from;
  app.add_option("--from", from, "start as another box's snapshot, BOX/SNAP (that box's trees and, without --profile, profile)");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto driver = ChooseOverlay(overlay);
  if (!driver) return Fail(driver.error());
  if (!from.empty()) return CreateFrom(store, name, from, app.count("--profile") ? profile : "", !over.empty(), {monitor, *driver});
  auto trees = TreesOf(profile, over);
  if (!trees) return Fail(trees.error());
  auto box = box::CreateBox(store, name, profile, *trees, {monitor, *driver});
  if (!box) return Fail(box.error());
  std::printf("box %s created in %s\n", name.c_str(), box->dir.c_str());
  if (box->overlay == box::kOverlayFuse) std::printf("  overlay: fuse-overlayfs (run by the sandbox, docs/BOXES.md)\n");
  for (const auto& t : box->trees) std::printf("  %s  (host %s)\n", Utf8Text(t.inside).c_str(), Utf8Text(t.host).c_str());
  if (monitor) std::printf("every run's behaviour is recorded in %s\n", box->EventsDir().c_str());
  if (::geteuid() != 0) {
    std::printf("note: as an unprivileged user, files of other owners (root's, in /usr) stay read-only in the box\n");
  }
  return 0;
}

int Run(const std::string& store, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    LogError("usage: airlock box run NAME [run options] -- CMD [ARGS...]");
    return kExitUsage;
  }
  auto box = box::OpenBox(store, argv[1]);
  if (!box) return Fail(box.error());
  if (Status s = box::CheckHostTrees(*box); !s) return Fail(s.error());
  auto lock = LockAndClean(*box);
  if (!lock) return Fail(lock.error());
  if (Status s = box::RecordUse(*box); !s) return Fail(s.error());
  UniqueFd events;
  if (box->monitor) {
    auto opened = box::OpenRunEvents(*box, box->last_used);
    if (!opened) return Fail(opened.error());
    events = std::move(*opened);
  }
  RunVariant v;
  v.monitor_fd = events.get();
  v.monitor_owner = fmt::format("box {} records every run's behaviour in {} (created with --monitor)", box->name, box->EventsDir());
  v.usage = "airlock box run " + box->name;
  v.box = box->name;
  v.description = "Run a program in the box: every `airlock run` option applies; the box's trees are overlays whose\n"
                  "changes stay in the box.";
  v.default_profile = box->profile;
  v.adjust = [&box](Policy& p) {
    box::AddBoxOverlays(*box, p);
    return Ok();
  };
  std::vector<char*> args = {argv[0]};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  struct timespec start {};
  ::clock_gettime(CLOCK_REALTIME, &start);
  const int code = RunCommandAs(static_cast<int>(args.size()), args.data(), &v);
  // What the box saw of the host where it changed something (box_commit.h: commit's conflict check).
  if (Status s = box::RecordBaseline(*box, static_cast<int64_t>(start.tv_sec) * 1000000000 + start.tv_nsec); !s) {
    LogWarning("box {}: the record of what it saw is incomplete ({}): `box commit` will call those paths conflicts", box->name, s.error().What());
  }
  return code;
}

int List(const std::string& store, int argc, char** argv) {
  bool json = false;
  CLI::App app{"List the boxes of the store.", "airlock box list"};
  app.add_flag("--json", json, "one JSON document");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto boxes = box::ListBoxes(store);
  if (!boxes) return Fail(boxes.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : *boxes) {
    auto lock = box::LockBox(b, std::chrono::milliseconds(0));
    nlohmann::json trees = nlohmann::json::array();
    for (const auto& t : b.trees) trees.push_back({{"host", t.host}, {"inside", t.inside}});
    out.push_back({{"name", b.name}, {"profile", b.profile}, {"created", b.created}, {"last_used", b.last_used}, {"monitor", b.monitor}, {"overlay", b.overlay}, {"bytes", box::BoxBytes(b)},
                   {"in_use", !lock.has_value()}, {"trees", trees}, {"dir", b.dir}});
  }
  if (json) {
    std::printf("%s\n", DumpJson(out, 2).c_str());
    return 0;
  }
  if (out.empty()) {
    std::printf("no boxes in %s (`airlock box create NAME` makes one)\n", store.c_str());
    return 0;
  }
  std::printf("%-20s %-10s %12s  %-23s  %s\n", "NAME", "PROFILE", "BYTES", "LAST USED", "STATE");
  for (const auto& b : out) {
    const std::string last = b["last_used"].get<std::string>();
    std::printf("%-20s %-10s %12llu  %-23s  %s\n", b["name"].get<std::string>().c_str(), b["profile"].get<std::string>().c_str(),
                static_cast<unsigned long long>(b["bytes"].get<uint64_t>()), last.empty() ? "never" : last.c_str(),
                b["in_use"].get<bool>() ? "in use" : "idle");
  }
  return 0;
}

int Diff(const std::string& store, int argc, char** argv) {
  std::string name;
  bool json = false;
  std::vector<std::string> only;
  CLI::App app{"What the box changed relative to the host: A added, C changed, D deleted, R replaced directory.", "airlock box diff"};
  app.add_option("name", name, "the box")->required();
  app.add_option("paths", only, "only these inside paths (and what is beneath them)");
  app.add_flag("--json", json, "a JSON array");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto b = box::OpenBox(store, name);
  if (!b) return Fail(b.error());
  box::DiffOptions o;
  o.only = only;
  auto changes = box::DiffLayers(box::LayersOf(*b), o);
  if (!changes) return Fail(changes.error());
  if (json) {
    std::printf("%s\n", DumpJson(box::ChangesToJson(*changes), 2).c_str());
  } else {
    std::fputs(box::ChangesToText(*changes).c_str(), stdout);
  }
  return 0;
}

// Exit status: 0 clean, 1 malicious, 2 error, 3 suspicious (as `airlock scan`).
int ReviewBox(const std::string& store, int argc, char** argv) {
  const ReportClock clock;
  std::string name;
  bool json = false, no_scan = false;
  CLI::App app{"Judge what the box changed: persistence (shell start-up files, autostart, systemd, cron, SSH keys),\n"
               "loader hijacks, system programs, setuid bits, device nodes; the content of every added or changed\n"
               "file (airlock-scan, in a sandbox); for a box created with --monitor, what its runs did (Sigma rules).\n"
               "A verdict per path and for the box, with ATT&CK IDs.\n"
               "Exit status: 0 clean, 1 malicious, 2 error (a part of the review not done), 3 suspicious.", "airlock box review"};
  app.add_option("name", name, "the box")->required();
  app.add_flag("--json", json, "one JSON document");
  app.add_flag("--no-scan", no_scan, "judge paths and behaviour only: the content is not scanned (and the review says so)");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto b = box::OpenBox(store, name);
  constexpr int kReviewError = 2;
  if (!b) return Fail(b.error(), kReviewError);
  auto changes = box::DiffLayers(box::LayersOf(*b));
  if (!changes) return Fail(changes.error(), kReviewError);
  auto review = FullReview(*b, *changes, {.scan = !no_scan});
  if (!review) return Fail(std::move(review.error()).WithContext(fmt::format("box {}: review incomplete", name)), kReviewError);
  if (json) {
    nlohmann::json j = box::ReviewToJson(*review);
    j["box"] = b->name;
    StampReportEnvelope(j, "box review", clock);
    std::printf("%s\n", DumpJson(j, 2).c_str());
  } else {
    std::fputs(box::ReviewToText(*review).c_str(), stdout);
  }
  return review->verdict == "malicious" ? 1 : review->verdict == "suspicious" ? 3 : 0;
}

// Prints the list under a heading (nothing when empty).
void PrintList(const char* heading, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("%s (%zu):\n", heading, items.size());
  for (const auto& i : items) std::printf("  %s\n", Utf8Text(i).c_str());
}

int Commit(const std::string& store, int argc, char** argv);

// Opens and locks the box `name`, then runs `action` on it: the shape of every command that changes a box.
int WithLockedBox(const std::string& store, const std::string& name, const std::function<Status(const box::BoxInfo&)>& action) {
  auto b = box::OpenBox(store, name);
  if (!b) return Fail(b.error());
  auto lock = LockAndClean(*b);
  if (!lock) return Fail(lock.error());
  if (Status s = action(*b); !s) return Fail(s.error());
  return 0;
}

int Discard(const std::string& store, int argc, char** argv) {
  std::string name;
  std::vector<std::string> paths;
  CLI::App app{"Throw the box's changes away, all or at some inside paths: the box shows the host's version again.",
               "airlock box discard"};
  app.add_option("name", name, "the box")->required();
  app.add_option("paths", paths, "only these inside paths (each with everything beneath it)");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  return WithLockedBox(store, name, [&](const box::BoxInfo& b) -> Status {
    if (paths.empty()) {
      if (Status s = box::DiscardAll(b); !s) return s;
      std::printf("box %s: every change discarded\n", name.c_str());
      return Ok();
    }
    std::vector<std::string> untouched;
    if (Status s = box::DiscardPaths(b, paths, &untouched); !s) return s;
    for (const auto& u : untouched) std::printf("%s: not changed in the box\n", Utf8Text(u).c_str());
    std::printf("box %s: changes at %zu path(s) discarded\n", name.c_str(), paths.size() - untouched.size());
    return Ok();
  });
}

int Remove(const std::string& store, int argc, char** argv) {
  std::string name;
  CLI::App app{"Remove a box and everything it holds.", "airlock box rm"};
  app.add_option("name", name, "the box")->required();
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  return WithLockedBox(store, name, [&](const box::BoxInfo& b) -> Status {
    if (Status s = box::RemoveBox(b); !s) return s;
    std::printf("box %s removed\n", name.c_str());
    return Ok();
  });
}

int Commit(const std::string& store, int argc, char** argv) {
  std::string name;
  std::vector<std::string> paths;
  bool force = false;
  CLI::App app{"Copy the box's changes to the host, each path atomically; refused when the review is not clean or the\n"
               "host changed a path during the box's life, unless --force. Setuid bits are dropped; device nodes,\n"
               "fifos and sockets never leave the box.", "airlock box commit"};
  app.add_option("name", name, "the box")->required();
  app.add_option("paths", paths, "only these inside paths (each with what is beneath it)");
  app.add_flag("--force", force, "commit despite a review that is not clean or conflicts (both are still printed)");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  return WithLockedBox(store, name, [&](const box::BoxInfo& b) -> Status {
    if (Status s = box::CheckHostTrees(b); !s) return s;
    box::DiffOptions o;
    o.only = paths;
    auto changes = box::DiffLayers(box::LayersOf(b), o);
    if (!changes) return std::unexpected(changes.error());
    auto review = FullReview(b, *changes, {});
    if (!review && !force) return std::unexpected(std::move(review.error()).WithContext(fmt::format("box {}: nothing committed (--force commits anyway)", name)));
    if (!review) LogWarning("{}", review.error().What());
    if (review && review->verdict != "clean") {
      std::fputs(box::ReviewToText(*review).c_str(), stdout);
      if (!force) return MakeError(fmt::format("box {}: the review says {}: nothing committed (--force commits anyway)", name, review->verdict));
    }
    auto r = box::CommitBox(b, {paths, force});
    if (!r) return std::unexpected(r.error());
    PrintList("conflicts: the host changed these during the box's life", r->conflicts);
    if (!r->conflicts.empty() && !force) return MakeError(fmt::format("box {}: {} conflict(s): nothing committed (--force overwrites the host's version)", name, r->conflicts.size()));
    PrintList("refused", r->refused);
    PrintList("setuid/setgid bits dropped", r->stripped);
    std::printf("box %s: %zu path(s) committed to the host, %zu already there\n", name.c_str(), r->applied.size(), r->skipped.size());
    return Ok();
  });
}

void PrintExported(const std::string& what, const box::TransferSummary& t) {
  for (const auto& p : t.sockets_skipped) std::printf("skipped (a socket, meaningless without its listener): %s\n", Utf8Text(p).c_str());
  std::printf("%s: %llu entries, %llu bytes in %.1f s\n", what.c_str(), static_cast<unsigned long long>(t.entries),
              static_cast<unsigned long long>(t.bytes), t.seconds);
}

int Export(const std::string& store, int argc, char** argv) {
  std::string name, file;
  CLI::App app{"Write the box (its trees, profile, conflict notes and every change) to a pax tar that `box import` reads.",
               "airlock box export"};
  app.add_option("name", name, "the box")->required();
  app.add_option("file", file, "the archive to write (replaced when complete)")->required();
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  return WithLockedBox(store, name, [&](const box::BoxInfo& b) -> Status {
    auto t = box::ExportBox(b, file);
    if (!t) return std::unexpected(t.error());
    PrintExported(fmt::format("box {} exported to {}", name, Utf8Text(file)), *t);
    return Ok();
  });
}

int ImportCmd(const std::string& store, int argc, char** argv) {
  std::string file, name, profile = "default";
  std::vector<std::string> over;
  CLI::App app{"Make a new box from an archive of `box export` (parsed inside a sandbox). The trees are yours to choose:\n"
               "the archive's changes to an inside path go to the tree you overlay there.", "airlock box import"};
  app.add_option("file", file, "the archive")->required();
  app.add_option("name", name, "the new box's name")->required();
  app.add_option("-p,--profile", profile, "the policy of the box's runs (default: default; never the archive's)");
  app.add_option("--over", over, "a host directory to overlay, PATH or PATH:INSIDE (repeatable; default: your home at the "
                                 "profile's home, and the system directories it binds read-only: /usr)");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto trees = TreesOf(profile, over);
  if (!trees) return Fail(trees.error());
  auto driver = ChooseOverlay("auto");
  if (!driver) return Fail(driver.error());
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Fail(Error(fmt::format("open {}: {}", Utf8Text(file), std::strerror(errno))));
  return Import(store, name, fd.get(), {profile, *trees, {false, *driver}}, ("imported from " + Utf8Text(file)).c_str());
}

// `airlock box <command> NAME SNAP`: both parsed, then `action` on the locked box.
int WithLockedBoxAndSnapshot(const std::string& store, int argc, char** argv, const std::string& description, const std::string& usage,
                             const std::string& snap_help, const std::function<Status(const box::BoxInfo&, const std::string&)>& action) {
  std::string name, snap;
  CLI::App app{description, usage};
  app.add_option("name", name, "the box")->required();
  app.add_option("snap", snap, snap_help)->required();
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  return WithLockedBox(store, name, [&](const box::BoxInfo& b) { return action(b, snap); });
}

int Snapshot(const std::string& store, int argc, char** argv) {
  return WithLockedBoxAndSnapshot(store, argc, argv, "Keep the box's present state under a name (`box restore` returns to it; at most 64 per box).",
                                  "airlock box snapshot", "the snapshot's name (the rule of box names)",
                                  [](const box::BoxInfo& b, const std::string& snap) -> Status {
                                    auto t = box::SnapshotBox(b, snap);
                                    if (!t) return std::unexpected(t.error());
                                    PrintExported(fmt::format("box {}: snapshot {} taken", b.name, snap), *t);
                                    return Ok();
                                  });
}

int Restore(const std::string& store, int argc, char** argv) {
  return WithLockedBoxAndSnapshot(store, argc, argv, "Make the box exactly as it was at the snapshot: every change since is gone.",
                                  "airlock box restore", "the snapshot", [](const box::BoxInfo& b, const std::string& snap) -> Status {
                                    auto t = box::RestoreBox(b, snap);
                                    if (!t) {
                                      return std::unexpected(std::move(t.error()).WithContext(fmt::format("box {} unchanged: restore {}", b.name, snap)));
                                    }
                                    PrintImported("restored to snapshot " + snap, b, *t);
                                    return Ok();
                                  });
}

int SnapshotRm(const std::string& store, int argc, char** argv) {
  return WithLockedBoxAndSnapshot(store, argc, argv, "Remove a snapshot of the box.", "airlock box snapshot-rm", "the snapshot",
                                  [](const box::BoxInfo& b, const std::string& snap) -> Status {
                                    if (Status s = box::RemoveSnapshot(b, snap); !s) return s;
                                    std::printf("box %s: snapshot %s removed\n", b.name.c_str(), snap.c_str());
                                    return Ok();
                                  });
}

int Snapshots(const std::string& store, int argc, char** argv) {
  std::string name;
  bool json = false;
  CLI::App app{"List the box's snapshots: name, when taken, bytes.", "airlock box snapshots"};
  app.add_option("name", name, "the box")->required();
  app.add_flag("--json", json, "a JSON array");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto b = box::OpenBox(store, name);
  if (!b) return Fail(b.error());
  auto list = box::ListSnapshots(*b);
  if (!list) return Fail(list.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : *list) out.push_back({{"name", s.name}, {"created", s.created}, {"bytes", s.bytes}});
  if (json) {
    std::printf("%s\n", DumpJson(out, 2).c_str());
    return 0;
  }
  if (list->empty()) std::printf("box %s has no snapshots (`airlock box snapshot %s SNAP` takes one)\n", name.c_str(), name.c_str());
  for (const auto& s : *list) std::printf("%-24s %s UTC %12llu\n", s.name.c_str(), s.created.c_str(), static_cast<unsigned long long>(s.bytes));
  return 0;
}

constexpr const char* kBoxUsage = R"(Usage: airlock box [--store DIR] <command> ...

Named copy-on-write boxes: a program in a box sees host directories as writable, and what it
changes stays in the box until you look at it, keep it or throw it away (docs/BOXES.md).

Commands:
  create NAME [--profile P] [--over PATH[:INSIDE]]... [--monitor] [--overlay kernel|fuse|auto]
                                                        make a box (default trees: your home, /usr);
                                                        --monitor records every run's behaviour
  run NAME [run options] -- CMD [ARGS...]               run in the box (every `airlock run` option)
  list [--json]                                         the boxes, their size, in use or not
  diff NAME [--json] [PATH...]                          added / changed / deleted, like `docker diff`
  review NAME [--json] [--no-scan]                      judge the changes: paths (persistence, hijacks,
                                                        setuid), content (airlock-scan), behaviour (Sigma);
                                                        exit 0 clean, 1 malicious, 2 error, 3 suspicious
  commit NAME [PATH...] [--force]                       copy the changes to the host, atomically per path;
                                                        refused on a review that is not clean or a conflict
  discard NAME [PATH...]                                throw the box's changes away (all, or at PATHs)
  rm NAME                                               remove the box
  export NAME FILE.tar                                  the box as a pax tar (trees, profile, changes)
  import FILE.tar NAME [--profile P] [--over PATH[:INSIDE]]...
                                                        a new box from an export (parsed in a sandbox)
  snapshot NAME SNAP                                    keep the box's present state (up to 64)
  restore NAME SNAP                                     back to the snapshot: later changes are gone
  snapshots NAME [--json]                               the snapshots: name, taken, bytes
  snapshot-rm NAME SNAP                                 remove a snapshot
  create NAME --from BOX/SNAP [--profile P]             a new box starting as another box's snapshot

The store: --store DIR, else $AIRLOCK_BOX_STORE, else /var/lib/airlock/boxes (root) or
$XDG_DATA_HOME/airlock/boxes (~/.local/share/airlock/boxes).
)";

}  // namespace

int BoxCommand(int argc, char** argv) {
  std::string store = box::DefaultStore();
  int i = 1;
  if (i + 1 < argc && std::string(argv[i]) == "--store") {
    store = argv[i + 1];
    i += 2;
    if (store.empty() || store.front() != '/') {
      char buf[4096];
      store = std::string(::getcwd(buf, sizeof buf) ? buf : "/") + "/" + store;
    }
  }
  if (i >= argc || std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
    std::fputs(kBoxUsage, i >= argc ? stderr : stdout);
    return i >= argc ? kExitUsage : 0;
  }
  const std::string sub = argv[i];
  int n = argc - i;
  char** rest = argv + i;
  if (sub == "create") return Create(store, n, rest);
  if (sub == "run") return Run(store, n, rest);
  if (sub == "list" || sub == "ls") return List(store, n, rest);
  if (sub == "diff") return Diff(store, n, rest);
  if (sub == "review") return ReviewBox(store, n, rest);
  if (sub == "commit") return Commit(store, n, rest);
  if (sub == "discard") return Discard(store, n, rest);
  if (sub == "rm" || sub == "remove") return Remove(store, n, rest);
  if (sub == "export") return Export(store, n, rest);
  if (sub == "import") return ImportCmd(store, n, rest);
  if (sub == "snapshot") return Snapshot(store, n, rest);
  if (sub == "restore") return Restore(store, n, rest);
  if (sub == "snapshots") return Snapshots(store, n, rest);
  if (sub == "snapshot-rm") return SnapshotRm(store, n, rest);
  LogError("unknown box command '{}'\n{}", Utf8Text(sub), kBoxUsage);
  return kExitUsage;
}

}  // namespace airlock::cli
