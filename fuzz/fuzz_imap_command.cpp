// Fuzzes the IMAP command path: untrusted bytes -> CommandReader (every literal accepted) ->
// parseCommand, fed both at once and in small chunks (the framing must not depend on chunking),
// plus round trips of parsed strings through the response encoders.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "imap/protocol/parser.h"
#include "imap/protocol/reader.h"
#include "imap/protocol/response.h"

using namespace tern::imap;

namespace {

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) abort(); \
  } while (0)

struct Outcome {
  std::vector<std::string> commands;
  std::vector<std::string> errorTags;  // one per LiteralTooLarge, in order
  bool closed = false;
};

Outcome frame(std::string_view input, size_t chunk) {
  ReaderLimits limits;
  limits.maxLineLength = 1024;
  limits.maxLiteralSize = 4096;
  limits.maxCommandSize = 16384;
  CommandReader reader(limits);
  Outcome out;
  while (!input.empty() && !out.closed) {
    std::string_view piece = input.substr(0, chunk);
    input.remove_prefix(piece.size());
    while (true) {
      auto ev = reader.feed(piece);
      if (ev.status == CommandReader::Status::NeedMore) {
        FUZZ_CHECK(piece.empty());
        break;
      }
      if (ev.status == CommandReader::Status::NeedLiteral) {
        FUZZ_CHECK(ev.literalSize <= limits.maxLiteralSize);
        reader.acceptLiteral();
      } else if (ev.status == CommandReader::Status::Complete) {
        std::string cmd = reader.takeCommand();
        FUZZ_CHECK(cmd.size() >= 2 && cmd.compare(cmd.size() - 2, 2, "\r\n") == 0);
        out.commands.push_back(std::move(cmd));
      } else if (ev.fatal || ev.status == CommandReader::Status::LineTooLong) {
        out.closed = true;
        break;
      } else {  // LiteralTooLarge, recoverable
        out.errorTags.push_back(reader.tag());
        if (ev.synchronizing) reader.reset();
      }
    }
  }
  return out;
}

void roundTripString(const std::string& s) {
  for (bool allow8bit : {true, false}) {
    std::string cmd = "t LOGIN ";
    appendAstring(cmd, s, allow8bit);
    cmd += ' ';
    appendString(cmd, s, allow8bit);
    cmd += "\r\n";
    auto r = parseCommand(cmd);
    if (s.find('\0') != std::string::npos) {  // only literal8 may carry NUL: rejected, cleanly
      FUZZ_CHECK(!r.ok());
      continue;
    }
    FUZZ_CHECK(r.ok());
    const auto& login = std::get<Login>(r->body);
    FUZZ_CHECK(login.user == s && login.password == s);
  }
}

void checkCommand(const std::string& text) {
  auto r = parseCommand(text);
  if (!r.ok()) {
    FUZZ_CHECK(!r.error().tag.empty());
    FUZZ_CHECK(r.error().text.find_first_of("\r\n") == std::string::npos);
    return;
  }
  FUZZ_CHECK(!r->tag.empty());
  if (auto* l = std::get_if<Login>(&r->body)) {
    roundTripString(l->user);
    roundTripString(l->password);
  } else if (auto* s = std::get_if<Select>(&r->body)) {
    roundTripString(s->mailbox);
  } else if (auto* f = std::get_if<Fetch>(&r->body)) {
    FUZZ_CHECK(!f->atts.empty());
    FUZZ_CHECK(f->set.savedResult || !f->set.ranges.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 7;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  Outcome bulk = frame(input, input.size() ? input.size() : 1);
  Outcome pieces = frame(input, chunk);
  // Framing is independent of how the bytes arrive, limit breaches included.
  FUZZ_CHECK(bulk.commands == pieces.commands);
  FUZZ_CHECK(bulk.errorTags == pieces.errorTags);
  FUZZ_CHECK(bulk.closed == pieces.closed);

  for (const auto& c : bulk.commands) checkCommand(c);
  // The parser on its own must cope with unframed bytes too.
  (void)parseCommand(input);
  return 0;
}
