// Parses one complete IMAP command (as framed by CommandReader) into a typed Command.
// Handles untrusted bytes: never throws, never reads past the input; nesting depth of search keys and
// parenthesised lists is bounded; every number is range-checked.
#pragma once

#include <string>
#include <string_view>

#include "imap/protocol/command.h"
#include "util/result.h"

namespace tern::imap {

struct ParseError {
  std::string tag;   // "*" when no valid tag could be read
  std::string code;  // response code without brackets ("BADCHARSET", "CLIENTBUG"...), may be empty
  std::string text;  // human-readable, safe to send (no CR/LF, no client bytes beyond the verb)
};

struct ParserOptions {
  size_t maxSearchDepth = 64;  // nesting of NOT/OR/parentheses
  size_t maxListItems = 10000; // elements in any parenthesised list or sequence set
};

// `command` includes the final CRLF. Verbs and keywords are case-insensitive. Any case of "INBOX" as
// a mailbox argument becomes "INBOX". Literals may not contain NUL except literal8 (~{n}, APPEND
// only). Options the session could not honour are rejected here with BAD: unknown SELECT/CREATE
// parameters, LIST selection/return options, STATUS items, SEARCH RETURN options and FETCH
// modifiers; VANISHED without UID FETCH + CHANGEDSINCE gets code CLIENTBUG (RFC 7162 3.6).
// Charset names, mailbox existence and mUTF-7 are the session's business.
Result<Command, ParseError> parseCommand(std::string_view command, const ParserOptions& options = {});

// Parses a sequence set ("1:5,7,9:*", "$"); exposed for tests and fuzzing.
Result<SequenceSet, ParseError> parseSequenceSet(std::string_view text);

}  // namespace tern::imap
