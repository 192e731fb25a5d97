// Fuzzes the SMTP command path: LineReader framing (fed in two pieces) then parseCommand on every
// line, checking invariants: lines never hold CR/LF or exceed the limit; errors map to a well-formed
// reply whose class matches its enhanced code; parsed addresses re-parse to the same mailbox.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/protocol/line_reader.h"
#include "smtp/protocol/parser.h"

using namespace tern::smtp;

namespace {

constexpr size_t kMax = 512;

void checkPath(const Path& p, bool utf8) {
  if (!p.mailbox) return;
  const Mailbox& m = *p.mailbox;
  if (m.localPart.size() > kMaxLocalPartLength || m.domain.size() > kMaxDomainLength) abort();
  AddressOptions o;
  o.allowUtf8 = utf8;
  size_t used = 0;
  std::string again = "<" + m.address() + ">";
  auto r = parsePath(again, used, o);
  if (!r.ok() || used != again.size() || !r->mailbox || *r->mailbox != m) abort();
  // The canonical form denotes the same mailbox.
  auto n = parseMailbox(m.normalised(), o);
  if (n.ok() && n->localContent != m.localContent) abort();
}

void checkLine(const std::string& line) {
  if (line.size() > kMax || line.find_first_of("\r\n") != std::string::npos) abort();
  for (bool utf8 : {false, true}) {
    ParserOptions o;
    o.smtputf8 = utf8;
    auto r = parseCommand(line, o);
    if (!r.ok()) {
      const ParseError& e = r.error();
      if (e.code < 500 || e.code > 555 || e.enhanced.size() != 5 || e.enhanced[0] != '5') abort();
      if (e.text.empty() || e.text.find_first_of("\r\n") != std::string::npos) abort();
      std::string wire = serialize(e.reply());
      if (wire.find("\r\n") != wire.size() - 2) abort();
      continue;
    }
    if (verbOf(*r).empty()) abort();
    if (auto* m = std::get_if<Mail>(&*r)) checkPath(m->reversePath, m->params.smtputf8);
    if (auto* rc = std::get_if<Rcpt>(&*r)) {
      if (rc->forwardPath.isNull()) abort();
      checkPath(rc->forwardPath, utf8);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view all(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = data[0] % (all.size() + 1);
  LineReader reader(kMax);
  for (std::string_view part : {all.substr(0, split), all.substr(split)}) {
    while (true) {
      auto s = reader.feed(part);
      if (s == LineReader::Status::NeedMore) {
        if (!part.empty()) abort();
        break;
      }
      if (s == LineReader::Status::Line) checkLine(reader.line());
    }
  }
  // Every input is also tried as a single line.
  if (all.size() <= kMax && all.find_first_of("\r\n") == std::string_view::npos)
    checkLine(std::string(all));
  return 0;
}
