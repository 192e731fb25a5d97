// The MIME structure of a message (RFC 5322, RFC 2045-2049): a tree of parts with byte offsets and
// line counts, the IMAP ENVELOPE source, and the decoded header values SORT and THREAD need.
// Pure, no I/O, no exceptions; handles untrusted bytes. Limits bound nesting depth, part count,
// header fields per part and header value length; any input yields a best-effort structure.
//
// The result owns all its data (no views into the message), so it can be serialised (serialize.h),
// stored with the message at delivery or APPEND, and FETCH/SORT/THREAD never parse the message again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mime/address.h"
#include "mime/date.h"
#include "mime/header_fields.h"
#include "mime/params.h"

namespace tern::mime {

struct Limits {
  size_t maxDepth = 100;     // nesting of multiparts and message/rfc822; deeper ones are leaves
  size_t maxParts = 10000;   // parts in the whole tree; later ones are not split out
  size_t maxBoundaryLength = 998;  // longer boundaries are ignored (RFC 2046 allows 70)
  HeaderLimits header;       // per header block
};

// The IMAP ENVELOPE fields (RFC 9051 section 7.5.2) of a message: unfolded header values as written
// (RFC 2047 words are NOT decoded; IMAP clients do that). Sender and Reply-To already default to From
// when absent or empty, as the RFC requires of the server.
struct Envelope {
  std::optional<std::string> date, subject, inReplyTo, messageId;
  std::vector<Address> from, sender, replyTo, to, cc, bcc;
  bool operator==(const Envelope&) const = default;
};

struct Part {
  // Offsets are from the start of the whole message. The header includes its terminating empty line;
  // the body excludes the CRLF that precedes the next boundary delimiter (RFC 2046 section 5.1.1).
  size_t headerOffset = 0, headerSize = 0;
  size_t bodyOffset = 0, bodySize = 0;
  // Lines in the body: the number of LFs, plus one if the body does not end with LF.
  size_t bodyLines = 0;

  std::string type = "text", subtype = "plain";  // lowercased; the RFC 2045/2046 default if absent
  Params params;                                  // Content-Type parameters, RFC 2231 decoded
  bool hasContentType = false;                    // a valid Content-Type field was present
  std::optional<std::string> id, description, md5, location;  // Content-ID etc., unfolded raw
  std::string encoding;                           // Content-Transfer-Encoding as written; empty: 7bit
  std::string disposition;                        // lowercased type; empty when absent
  Params dispositionParams;
  std::vector<std::string> language;              // Content-Language tags

  // multipart/*: the body parts. message/rfc822 and message/global (identity-encoded): exactly one
  // child, the encapsulated message itself (its header is that message's header), and `envelope`.
  std::vector<Part> children;
  std::optional<Envelope> envelope;

  bool isMultipart() const { return type == "multipart"; }
  // True for a message/rfc822 or message/global part whose content was parsed as a message.
  bool hasNestedMessage() const { return envelope.has_value() && children.size() == 1; }
  bool operator==(const Part&) const = default;
};

// Decoded header values for SORT (RFC 5256, RFC 5957) and THREAD. UTF-8, RFC 2047 decoded.
struct SortFields {
  std::string subject;      // decoded Subject
  std::string baseSubject;  // RFC 5256 section 2.1 (case is kept; the comparator folds it)
  std::optional<Date> date; // from Date:, nullopt when missing or unreadable
  // First mailbox of each list: addr-mailbox (SORT FROM/TO/CC) and display name (SORT DISPLAYFROM,
  // DISPLAYTO: the decoded name, or the addr-spec when there is no name).
  std::string fromMailbox, fromDisplay, toMailbox, toDisplay, ccMailbox;
  std::string messageId;                // first msg-id of Message-ID, with the angle brackets
  std::vector<std::string> inReplyTo;   // msg-ids of In-Reply-To
  std::vector<std::string> references;  // msg-ids of References, in order
  bool operator==(const SortFields&) const = default;
};

struct ParsedMessage {
  Part root;           // the message: its header is the message header
  Envelope envelope;
  SortFields sort;
  size_t size = 0;     // bytes of the message
  bool truncated = false;  // a limit was hit somewhere; the structure is still consistent
  bool operator==(const ParsedMessage&) const = default;
};

ParsedMessage parseMessage(std::string_view bytes, const Limits& limits = {});

// How the session layer serves FETCH from a ParsedMessage (offsets index the stored message bytes):
//   BODY[<n>]          findPart(n) body range; for a message/rfc822 part that is the whole
//                      encapsulated message. BODY[] / RFC822 are the whole message.
//   BODY[<n>.MIME]     findPart(n) header range (n non-empty).
//   BODY[<n>.HEADER], BODY[<n>.TEXT] for a message/rfc822 part: children[0]'s header / body range;
//                      for n empty: root's header / body range.
//   BINARY[<n>]        decodeBody(body range, part.encoding); nullopt means [UNKNOWN-CTE].
//   ENVELOPE, BODY, BODYSTRUCTURE: imap/protocol/message_structure.h on the stored result.
//
// The part named by an IMAP section part number (RFC 9051 section 6.4.5); empty = the whole message
// (root). For a non-multipart message "1" is the root itself (its body); inside a message/rfc822
// part, numbers refer to the encapsulated message's parts, and for a non-multipart encapsulated
// message "N.1" is that message. A number that names nothing gives nullptr.
const Part* findPart(const ParsedMessage& msg, const std::vector<uint32_t>& partNumber);

// The envelope of a header block (used for the message and each encapsulated message).
Envelope buildEnvelope(const HeaderBlock& header);
// SORT/THREAD values from a message header.
SortFields buildSortFields(const HeaderBlock& header);

// RFC 5256 section 2.1 base subject of an already decoded subject.
std::string baseSubject(std::string_view subject);

// msg-ids ("<a@b>") found in a Message-ID / In-Reply-To / References value, comments and junk skipped.
std::vector<std::string> parseMessageIds(std::string_view value);

// The text of a text/* part as UTF-8 (transfer-decoded, then converted from its charset), for the
// search index. nullopt for non-text parts and unknown transfer encodings.
std::optional<std::string> decodedText(std::string_view message, const Part& part);

// Body lines as Part::bodyLines counts them.
size_t countLines(std::string_view body);

}  // namespace tern::mime
