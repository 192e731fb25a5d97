// Parses one SMTP/LMTP command line (as framed by LineReader, CRLF removed) into a typed Command.
// Handles untrusted bytes: never throws, never reads past the input; every number is range-checked;
// each failure maps to exactly one reply (code, enhanced code, text that echoes no client bytes).
#pragma once

#include <string>
#include <string_view>

#include "smtp/protocol/command.h"
#include "smtp/protocol/reply.h"
#include "util/result.h"

namespace tern::smtp {

struct ParseError {
  int code = 500;           // 500 unknown verb / bad characters, 501 syntax, 502 not implemented,
                            // 553 UTF-8 address without SMTPUTF8, 555 unknown parameter
  std::string enhanced;     // "5.5.2", "5.5.4", "5.1.3", "5.1.7", "5.6.7", "5.5.1"
  std::string text;         // safe to send
  bool desync = false;      // the client will now send bytes that cannot be framed (BDAT with an
                            // unreadable size): reply, then close the connection
  Reply reply() const { return Reply{code, enhanced, {text}}; }
  bool operator==(const ParseError&) const = default;
};

struct ParserOptions {
  // The current transaction's MAIL carried SMTPUTF8 (RFC 6531): UTF-8 allowed in RCPT and VRFY
  // addresses. For MAIL itself, UTF-8 in the reverse path is allowed when the same command carries
  // SMTPUTF8.
  bool smtputf8 = false;
  // Tolerate '_' in EHLO/HELO/LHLO domains (seen from misconfigured hosts; harmless there).
  bool lenientHeloDomain = true;
};

// Verbs are case-insensitive. Strict forms: "MAIL FROM:<path>", "RCPT TO:<path>" with at most one
// space after the colon (as Postfix tolerates); parameters separated by spaces; trailing spaces are
// ignored. Errors: unknown verb 500 5.5.2; control or non-UTF-8 bytes 500 5.5.2; bad syntax
// 501 5.5.4; bad sender address 501 5.1.7; bad recipient address (and any over-long address part)
// 501 5.1.3; UTF-8 address without SMTPUTF8 553 5.6.7; unknown parameter 555 5.5.4; repeated
// parameter 501 5.5.4; EXPN, TURN, ETRN and other known-but-refused verbs 502 5.5.1.
Result<Command, ParseError> parseCommand(std::string_view line, const ParserOptions& options = {});

}  // namespace tern::smtp
