// Fuzzes the MIME parser and everything built on its result. Properties: any input parses within the
// limits; every part's byte ranges lie inside the message and inside its parent; the stored form
// round-trips exactly; ENVELOPE/BODYSTRUCTURE formatting and body decoding never fail.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "imap/protocol/message_structure.h"
#include "mime/decode.h"
#include "mime/encoded_words.h"
#include "mime/message.h"
#include "mime/serialize.h"

using namespace tern;

namespace {

size_t checkPart(std::string_view msg, const mime::Part& p, size_t lo, size_t hi, size_t depth) {
  if (p.headerOffset < lo || p.headerOffset + p.headerSize != p.bodyOffset) abort();
  if (p.bodyOffset + p.bodySize > hi || p.bodyOffset + p.bodySize > msg.size()) abort();
  if (p.bodyLines != mime::countLines(msg.substr(p.bodyOffset, p.bodySize))) abort();
  if (depth > 2 * mime::Limits{}.maxDepth + 2) abort();
  if (p.hasNestedMessage() && p.children[0].headerOffset != p.bodyOffset) abort();
  if (!p.isMultipart() && !p.hasNestedMessage()) {
    if (!p.children.empty()) abort();
    (void)mime::decodeBody(msg.substr(p.bodyOffset, p.bodySize), p.encoding);
  }
  size_t n = 1;
  size_t prevEnd = p.bodyOffset;
  for (const auto& c : p.children) {
    n += checkPart(msg, c, prevEnd, p.bodyOffset + p.bodySize, depth + 1);
    prevEnd = c.bodyOffset + c.bodySize;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mime::ParsedMessage pm = mime::parseMessage(in);
  if (pm.size != size) abort();
  if (checkPart(in, pm.root, 0, size, 0) > mime::Limits{}.maxParts) abort();
  auto back = mime::deserializeMessage(mime::serializeMessage(pm));
  if (!back || !(*back == pm)) abort();
  for (bool ext : {false, true})
    for (bool utf8 : {false, true}) (void)imap::formatBodyStructure(pm, ext, utf8);
  (void)imap::formatEnvelope(pm.envelope, false);
  (void)mime::decodeEncodedWords(in.substr(0, 4096));
  (void)mime::deserializeMessage(in);  // corrupt stored rows must not crash either
  return 0;
}
