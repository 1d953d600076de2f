// Names a zip declares for its members, read from the central directory (located through the end
// of central directory record) and, when that is damaged, from the central-directory and local
// headers found by signature. Used when libarchive cannot read a damaged zip's members: the names
// are still evidence (archive unpacker, archive.damaged_names). Bounded: at most `max_names`
// distinct names of at most 1024 bytes each; linear in the input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan {

std::vector<std::string> ZipDirectoryNames(std::string_view data, size_t max_names);

// How a member name alone looks: 0 harmless, 1 executable/script/shortcut extension, 2 that
// extension after a document extension or after padding ("invoice.pdf.exe", "a.doc      .exe").
int MemberNameRisk(std::string_view name);

}  // namespace airlock::scan
