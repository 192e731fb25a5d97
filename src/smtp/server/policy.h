// Pure session policy: the command table and its gate (which verbs each service and state allows),
// the EHLO extension list, subaddress handling, the trace headers, and the header From check of
// submission. No I/O, so it is unit-tested alone. Handles untrusted bytes only in headerFromAddresses
// (bounded by the header block it is given, which the session caps with the message size).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/protocol/command.h"
#include "smtp/protocol/reply.h"
#include "smtp/server/context.h"

namespace tern::smtp::server {

// What the gate needs to know about the session.
struct GateState {
  Service service = Service::Inbound;
  bool tls = false;
  bool greeted = false;        // EHLO/HELO/LHLO accepted
  bool authenticated = false;
  bool inTransaction = false;  // MAIL accepted
  bool hasRecipients = false;  // at least one RCPT accepted
  bool inBdat = false;         // a BDAT (not LAST) chunk was accepted
};

// Command table flags.
enum CommandFlag : uint32_t {
  kNeedsGreeting = 1u << 0,   // 503 before EHLO/HELO/LHLO
  kNeedsAuthOnSubmission = 1u << 1,  // 530 on 587/465 before AUTH
  kNeedsTlsOnSubmission = 1u << 2,   // 530 "STARTTLS first" on 587 before TLS
  kSmtpOnly = 1u << 3,        // not in LMTP (HELO, EHLO)
  kLmtpOnly = 1u << 4,        // LHLO
  kNotInBdat = 1u << 5,       // refused between BDAT chunks (RFC 3030: only BDAT, RSET, QUIT, NOOP)
};

struct CommandRule {
  std::string_view verb;
  uint32_t flags;
};

// The row for a command's verb.
const CommandRule& ruleFor(const Command& command);

// Checks state, service and authorisation before any handler runs; nullopt means run the handler.
std::optional<Reply> gate(const Command& command, const GateState& state);

// EHLO/LHLO keywords, in the order they are advertised.
std::vector<std::string> ehloExtensions(Service service, bool tls, bool tlsAvailable, bool authenticated,
                                        uint64_t maxMessageSize);

// "user+tag" -> "user"; nullopt without a '+' or when either side is empty.
std::optional<std::string> subaddressBase(std::string_view localPart);

struct TraceInfo {
  std::string heloDomain;     // validated by the parser
  std::string remoteIp;
  std::string hostname;
  std::string protocol;       // "ESMTP", "ESMTPS", "ESMTPSA", "LMTP" ... (RFC 3848)
  std::string queueId;
  std::string tlsVersion;     // empty when plain
  std::string tlsCipher;
  std::string authenticatedUser;  // empty when not authenticated
  std::string singleRecipient;    // "for <x>" only with exactly one recipient (privacy)
  std::string reversePath;        // for Return-Path, without brackets ("" = null sender)
  int64_t unixTime = 0;
};

// "Return-Path: <...>\r\nReceived: ...\r\n", folded, every line ending in CRLF.
std::string traceHeaders(const TraceInfo& info);

// Addresses (lower-cased domain, local part as written) of the message's From field(s). nullopt when
// there is no From field, more than one, or one without a parseable address. Only the header block
// (up to the first empty line) is read.
std::optional<std::vector<std::string>> headerFromAddresses(std::string_view message);

// Protocol name for the Received header (RFC 3848).
std::string protocolName(Service service, bool ehlo, bool tls, bool authenticated);

}  // namespace tern::smtp::server
