#include "scan/unpack/tnef_unpacker.h"

#include <string>

#include "scan/unpack/tnef.h"

namespace airlock::scan {

bool TnefUnpacker::Accepts(const Object& object) const { return LooksLikeTnef(object.data); }

void TnefUnpacker::Analyze(const Object& object, AnalyzerOutput& out) {
  const TnefContents tnef = ParseTnef(object.data, 1024, static_cast<size_t>(out.RemainingBytes()));
  if (tnef.truncated) {
    out.AddFinding({"tnef.malformed", 1, "TNEF data is truncated or malformed",
                    "An attribute of the TNEF stream runs past its end; the attachments before it were "
                    "unpacked, anything after it was not.",
                    std::to_string(tnef.attachments.size()) + " attachment(s) read", {}});
  }
  if (tnef.rtf_corrupt) {
    out.AddFinding({"tnef.malformed", 1, "TNEF message body cannot be decompressed",
                    "PR_RTF_COMPRESSED is neither LZFu nor stored RTF; the body was not analyzed.", "", {}});
  }
  // The body (an RTF document can carry exploits and objects of its own) is a child like the attachments.
  if (!tnef.rtf_body.empty() && !out.AddChild("message.rtf", tnef.rtf_body)) return;
  for (size_t i = 0; i < tnef.attachments.size(); ++i) {
    const TnefAttachment& a = tnef.attachments[i];
    std::string name = a.name.empty() ? "tnef-attachment-" + std::to_string(i + 1) : a.name;
    if (!out.AddChild(std::move(name), std::string(a.data))) return;
  }
}

}  // namespace airlock::scan
