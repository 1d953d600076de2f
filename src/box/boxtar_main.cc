// airlock-boxtar: see box/boxtar.h.
#include <cstdio>
#include <string>

#include "box/boxtar.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "export" && argc == 5) return airlock::box::ExportMain(argv[2], argv[3], argv[4]);
  if (mode == "import" && argc == 3) return airlock::box::ImportMain(argv[2]);
  std::fputs("usage: airlock-boxtar export STORE NAME OUT.tar | import DIR < ARCHIVE\n"
             "(started by `airlock box export/import/snapshot/restore`; see docs/BOXES.md)\n", stderr);
  return 2;
}
