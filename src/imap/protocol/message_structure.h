// IMAP syntax for a parsed message's structure: ENVELOPE, BODY and BODYSTRUCTURE (RFC 9051 section
// 7.5.2 and the body/envelope ABNF in section 9). Pure; the input is the mime parser's result (or its
// stored, deserialised form, see mime/serialize.h), so FETCH never re-parses the message.
#pragma once

#include <string>

#include "mime/message.h"

namespace tern::imap {

// utf8: the client may receive UTF-8 in quoted strings (IMAP4rev2 or UTF8=ACCEPT). When false,
// 8-bit strings are sent as literals and non-ASCII parameter values in RFC 2231 form.

// "(date subject from sender reply-to to cc bcc in-reply-to message-id)".
std::string formatEnvelope(const mime::Envelope& envelope, bool utf8);

// The body structure of a whole message: FETCH BODYSTRUCTURE (extensible=true) or BODY (false).
std::string formatBodyStructure(const mime::ParsedMessage& msg, bool extensible, bool utf8);
// The same for one part (its subtree), e.g. a part found with mime::findPart.
std::string formatBodyStructure(const mime::Part& part, bool extensible, bool utf8);

}  // namespace tern::imap
