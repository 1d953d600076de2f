// TNEF (Transport Neutral Encapsulation Format, MS-OXTNEF): the winmail.dat / application/ms-tnef
// part Outlook and Exchange put in mail, which carries the real attachments. A small bounded reader
// of our own (no libytnef: it had a run of memory-safety CVEs, and we need only the attachments).
//
// Layout: u32 signature 0x223E9F78, u16 key, then attributes: u8 level (1 message, 2 attachment),
// u32 id (type << 16 | tag), u32 length, `length` bytes, u16 checksum (sum of the bytes). An
// attachment starts at attAttachRendData; its bytes are attAttachData, its 8.3 name attAttachTitle,
// and its MAPI properties (attAttachment) may carry PR_ATTACH_LONG_FILENAME and, for embedded
// objects/messages, PR_ATTACH_DATA_OBJ. The message-level attMAPIProps may carry the body as
// compressed RTF (PR_RTF_COMPRESSED, MS-OXRTFCP), which is decompressed. All integers are little-endian. Every length is checked
// against what is left of the input; nothing is allocated from a length field.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan {

inline constexpr std::string_view kTnefSignature = "\x78\x9f\x3e\x22";

struct TnefAttachment {
  std::string name;       // long file name if present, else the title; may be empty
  std::string_view data;  // attAttachData, else PR_ATTACH_DATA_OBJ / PR_ATTACH_DATA_BIN; into the input
};

struct TnefContents {
  std::vector<TnefAttachment> attachments;  // only those with data
  std::string message_class;                // attMessageClass, e.g. "IPM.Microsoft Mail.Note"
  std::string rtf_body;  // the message body, PR_RTF_COMPRESSED in attMAPIProps, decompressed
  bool rtf_corrupt = false;  // PR_RTF_COMPRESSED present but not decompressible
  size_t bad_checksums = 0;
  bool truncated = false;  // an attribute ran past the end of the input (what came before is kept)
};

bool LooksLikeTnef(std::string_view data);
// Never fails: malformed input yields what could be read plus `truncated`. At most `max_attachments`
// attachments and `max_rtf_bytes` of decompressed body. The attachments' data are views into `data`:
// keep it alive while they are used.
TnefContents ParseTnef(std::string_view data, size_t max_attachments = 1024, size_t max_rtf_bytes = 16u << 20);

// MS-OXRTFCP compressed RTF ("LZFu", or "MELA" stored): at most min(declared raw size, max_out)
// bytes; nullopt for an unknown type or a header shorter than 16 bytes.
std::optional<std::string> DecompressRtf(std::string_view in, size_t max_out);

}  // namespace airlock::scan
