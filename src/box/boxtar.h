// airlock-boxtar: the box archive's writer and reader (box_archive.h has the format), a separate
// binary so that the `airlock` front end never links libarchive. The front end starts it
// (box_transfer.h); nobody else should.
//
//   airlock-boxtar export STORE NAME OUT.tar   as the caller, never sandboxed: the box's own files
//   airlock-boxtar import DIR < ARCHIVE        inside `airlock run` (default profile): a hostile tar
//
// Contract:
//  - Export opens the box with OpenBox (verified) and walks each layer's upper descriptor-relative,
//    never following a symlink (fstatat AT_SYMLINK_NOFOLLOW, openat O_NOFOLLOW; a regular file is
//    opened O_NONBLOCK and checked to be the entry that was listed). Sockets are skipped and named
//    (meaningless without their listener); other device nodes than whiteouts are refused, naming the
//    path; bounds of box_archive.h. Written to OUT.part, fsynced, renamed to OUT; on failure OUT.part
//    is removed and OUT is untouched.
//  - Import reads the archive from stdin and writes only beneath DIR (DIR/airlock-box.json,
//    DIR/baseline.json, DIR/layers/<i>/upper/...): every member name through ParseMemberName, every
//    parent opened with openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from its layer's root, files
//    created O_EXCL | O_NOFOLLOW (a member twice is an error). Refused, naming the member: hard links,
//    device nodes other than 0:0, sockets, xattrs XattrAllowed refuses, anything past the bounds, a
//    truncated archive. Setuid/setgid bits are dropped (counted); whiteouts are written as marks
//    (kWhiteoutMark). Directory modes and times are applied last (a 0500 directory still gets its
//    entries).
//  - Both print one JSON line on stdout at the end ({"entries","bytes","seconds", ...}) and a clear
//    error on stderr (exit 1) otherwise.
#pragma once

#include <string>

namespace airlock::box {

int ExportMain(const std::string& store, const std::string& name, const std::string& out);
int ImportMain(const std::string& dir);

}  // namespace airlock::box
