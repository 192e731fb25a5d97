// Fuzzes the client-side SMTP reply parser (ReplyParser), fed in two pieces, checking invariants:
// codes stay in 200..599, enhanced codes match the reply class, text holds no control characters,
// memory stays within the limits, and every reply re-serialises and parses back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/protocol/reply_parser.h"

using namespace tern::smtp;

namespace {

constexpr size_t kMaxLine = 256;
constexpr size_t kMaxLines = 16;

void checkReply(const Reply& r) {
  if (r.code < 200 || r.code > 599) abort();
  if (r.lines.empty() || r.lines.size() > kMaxLines) abort();
  if (!r.enhanced.empty() && !enhancedMatches(r)) abort();
  for (const auto& l : r.lines) {
    if (l.size() > kMaxLine) abort();
    for (char c : l) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) abort();
    }
  }
  // serialize() cuts text at the RFC limit; only compare replies that fit.
  for (const auto& l : r.lines) {
    if (l.size() > kMaxReplyTextLength) return;
  }
  std::string wire = serialize(r);
  ReplyParser again;
  std::string_view in = wire;
  if (again.feed(in) != ReplyParser::Status::Reply || !in.empty()) abort();
  const Reply& back = again.reply();
  if (back.code != r.code || back.enhanced != r.enhanced || back.lines.size() != r.lines.size()) abort();
  for (size_t i = 0; i < r.lines.size(); ++i) {
    // Trailing text that looks like the enhanced code again may legitimately be stripped once more.
    if (back.lines[i] != r.lines[i] && r.enhanced.empty()) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = data[0] % (all.size() + 1);
  ReplyParserLimits limits;
  limits.maxLineLength = kMaxLine;
  limits.maxLines = kMaxLines;
  ReplyParser parser(limits);
  for (std::string_view part : {all.substr(0, split), all.substr(split)}) {
    bool stop = false;
    while (!stop) {
      size_t before = part.size();
      auto s = parser.feed(part);
      if (part.size() > before) abort();
      switch (s) {
        case ReplyParser::Status::NeedMore:
          if (!part.empty()) abort();
          stop = true;
          break;
        case ReplyParser::Status::Reply:
          checkReply(parser.reply());
          break;
        case ReplyParser::Status::Error:
          if (parser.error() == ReplyParser::ErrorKind::None || parser.errorText().empty()) abort();
          return 0;
      }
    }
  }
  return 0;
}
