// airlock box: named copy-on-write boxes (docs/BOXES.md). The store and the change listing are in
// src/box; a run in a box is `airlock run` with the box's overlays added to the policy.
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "box/box_commit.h"
#include "box/box_diff.h"
#include "box/box_review.h"
#include "box/box_store.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "core/log.h"
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

// Without --over: the caller's home at the profile's home, and /usr.
Result<std::vector<box::BoxTree>> DefaultTrees(const std::string& profile) {
  auto policy = LoadValidProfile(profile);
  if (!policy) return MakeError(fmt::format("profile {} could not be loaded", profile));
  std::vector<box::BoxTree> trees;
  const char* home = std::getenv("HOME");
  if (home && *home == '/' && !policy->home.empty()) trees.push_back({home, policy->home});
  trees.push_back({"/usr", "/usr"});
  return trees;
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
  CLI::App app{"Create a named copy-on-write box: the host trees it overlays look writable inside, and every change\n"
               "lands in the box (see `airlock box diff`), never on the host.", "airlock box create"};
  app.add_option("name", name, "the box's name")->required();
  app.add_option("-p,--profile", profile, "the policy of the box's runs (default: default)");
  app.add_option("--over", over, "a host directory to overlay, PATH or PATH:INSIDE (repeatable; default: your home at the "
                                 "profile's home, and /usr)");
  app.add_option("--overlay", overlay, "what mounts the box's trees: kernel (overlayfs in the sandbox's user namespace), fuse "
                                       "(fuse-overlayfs run by the sandbox) or auto (default: $AIRLOCK_BOX_OVERLAY, else kernel "
                                       "where it works, else fuse)");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto driver = ChooseOverlay(overlay);
  if (!driver) return Fail(driver.error());
  std::vector<box::BoxTree> trees;
  if (over.empty()) {
    auto d = DefaultTrees(profile);
    if (!d) return Fail(d.error());
    trees = std::move(*d);
  }
  for (const auto& spec : over) {
    auto t = ParseOver(spec);
    if (!t) return Fail(t.error());
    trees.push_back(std::move(*t));
  }
  auto box = box::CreateBox(store, name, profile, trees, *driver);
  if (!box) return Fail(box.error());
  std::printf("box %s created in %s\n", name.c_str(), box->dir.c_str());
  if (box->overlay == box::kOverlayFuse) std::printf("  overlay: fuse-overlayfs (run by the sandbox, docs/BOXES.md)\n");
  for (const auto& t : box->trees) std::printf("  %s  (host %s)\n", Utf8Text(t.inside).c_str(), Utf8Text(t.host).c_str());
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
  auto lock = box::LockBox(*box);
  if (!lock) return Fail(lock.error());
  if (Status s = box::RecordUse(*box); !s) return Fail(s.error());
  RunVariant v;
  v.usage = "airlock box run " + box->name;
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
    auto lock = box::LockBox(b);
    nlohmann::json trees = nlohmann::json::array();
    for (const auto& t : b.trees) trees.push_back({{"host", t.host}, {"inside", t.inside}});
    out.push_back({{"name", b.name}, {"profile", b.profile}, {"created", b.created}, {"last_used", b.last_used}, {"overlay", b.overlay}, {"bytes", box::BoxBytes(b)},
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

// The review of these changes of the box, home rules beneath its profile's home.
box::Review ReviewOf(const box::BoxInfo& b, const std::vector<box::Change>& changes) {
  auto policy = LoadValidProfile(b.profile);
  return box::ReviewChanges(changes, policy ? policy->home : std::string());
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
  std::string name;
  bool json = false;
  CLI::App app{"Judge what the box changed: persistence (shell start-up files, autostart, systemd, cron, SSH keys),\n"
               "loader hijacks, system programs, setuid bits, device nodes; a verdict with ATT&CK IDs.\n"
               "Exit status: 0 clean, 1 malicious, 2 error, 3 suspicious.", "airlock box review"};
  app.add_option("name", name, "the box")->required();
  app.add_flag("--json", json, "one JSON document");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  auto b = box::OpenBox(store, name);
  constexpr int kReviewError = 2;
  if (!b) return Fail(b.error(), kReviewError);
  auto changes = box::DiffLayers(box::LayersOf(*b));
  if (!changes) return Fail(changes.error(), kReviewError);
  const box::Review review = ReviewOf(*b, *changes);
  if (json) {
    nlohmann::json j = box::ReviewToJson(review, changes->size());
    j["box"] = b->name;
    std::printf("%s\n", DumpJson(j, 2).c_str());
  } else {
    std::fputs(box::ReviewToText(review, changes->size()).c_str(), stdout);
  }
  return review.verdict == "malicious" ? 1 : review.verdict == "suspicious" ? 3 : 0;
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
  auto lock = box::LockBox(*b);
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
    box::DiffOptions o;
    o.only = paths;
    auto changes = box::DiffLayers(box::LayersOf(b), o);
    if (!changes) return std::unexpected(changes.error());
    const box::Review review = ReviewOf(b, *changes);
    if (review.verdict != "clean") {
      std::fputs(box::ReviewToText(review, changes->size()).c_str(), stdout);
      if (!force) return MakeError(fmt::format("box {}: the review says {}: nothing committed (--force commits anyway)", name, review.verdict));
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

constexpr const char* kBoxUsage = R"(Usage: airlock box [--store DIR] <command> ...

Named copy-on-write boxes: a program in a box sees host directories as writable, and what it
changes stays in the box until you look at it, keep it or throw it away (docs/BOXES.md).

Commands:
  create NAME [--profile P] [--over PATH[:INSIDE]]... [--overlay kernel|fuse|auto]   make a box (default trees: your home, /usr)
  run NAME [run options] -- CMD [ARGS...]               run in the box (every `airlock run` option)
  list [--json]                                         the boxes, their size, in use or not
  diff NAME [--json] [PATH...]                          added / changed / deleted, like `docker diff`
  review NAME [--json]                                  judge the changes: persistence, hijacks, setuid;
                                                        exit 0 clean, 1 malicious, 2 error, 3 suspicious
  commit NAME [PATH...] [--force]                       copy the changes to the host, atomically per path;
                                                        refused on a review that is not clean or a conflict
  discard NAME [PATH...]                                throw the box's changes away (all, or at PATHs)
  rm NAME                                               remove the box

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
  LogError("unknown box command '{}'\n{}", Utf8Text(sub), kBoxUsage);
  return kExitUsage;
}

}  // namespace airlock::cli
