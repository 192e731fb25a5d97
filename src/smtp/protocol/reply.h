// SMTP replies as values (code, RFC 3463 enhanced status code, text lines) and their wire form,
// plus the stock replies the session uses. Pure. Reply text never carries CR, LF or other controls
// (they are replaced), so a client-influenced string cannot inject a reply line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern::smtp {

struct Reply {
  int code = 250;            // 200..599
  std::string enhanced;      // "2.1.0"; empty only where RFC 2034 says none is used: the greeting,
                             // EHLO/HELO/LHLO replies and 3xx intermediate replies (354, 334)
  std::vector<std::string> lines;  // at least one line is written (an empty text if none)
  bool operator==(const Reply&) const = default;
};

// Maximum text per reply line: RFC 5321 4.5.3.1.5 allows 512 octets with code and CRLF.
inline constexpr size_t kMaxReplyTextLength = 512 - 2 - 4 - 8;

// "250-2.1.0 first\r\n250 2.1.0 last\r\n". Controls in text become spaces; text over
// kMaxReplyTextLength is cut. Codes outside 200..599 are a programming error (asserted).
std::string serialize(const Reply& reply);
// Appends serialize(reply) to out.
void appendReply(std::string& out, const Reply& reply);

// Class digit of the code as the first digit of the enhanced code (for mapping checks).
inline bool enhancedMatches(const Reply& r) {
  return r.enhanced.empty() || (r.enhanced[0] - '0') == r.code / 100;
}

// --- stock replies (RFC 5321 codes, RFC 3463/5248 enhanced codes) --------------------------------
namespace replies {

Reply greeting(std::string_view hostname, bool lmtp = false);  // 220 host ESMTP (LMTP) ready
// EHLO/LHLO response: first line "<hostname> <greeting>", then one line per extension keyword
// ("PIPELINING", "SIZE 10485760", "AUTH PLAIN LOGIN SCRAM-SHA-256", ...), in the given order.
Reply ehlo(std::string_view hostname, std::string_view clientDomain,
           const std::vector<std::string>& extensions);
Reply helo(std::string_view hostname);                        // 250 hostname
Reply ok();                                                   // 250 2.0.0 Ok
Reply senderOk();                                             // 250 2.1.0 Ok
Reply recipientOk();                                          // 250 2.1.5 Ok
Reply messageAccepted(std::string_view queueId);              // 250 2.0.0 Ok: queued as <id>
Reply startMailInput();                                       // 354 End data with <CR><LF>.<CR><LF>
Reply bdatAccepted(uint64_t bytes);                           // 250 2.0.0 <n> octets received
Reply closing(std::string_view hostname);                     // 221 2.0.0 Bye
Reply resetOk();                                              // 250 2.0.0 Ok
Reply vrfyCannotVerify();                                     // 252 2.5.0 (never says whether a user exists)
Reply help();                                                 // 214 2.0.0
Reply readyToStartTls();                                      // 220 2.0.0 Ready to start TLS
Reply authSuccess();                                          // 235 2.7.0
Reply authChallenge(std::string_view base64);                 // 334 <base64> (may be empty)

Reply tooManyErrors(std::string_view hostname);               // 421 4.7.0 ... closing
Reply timeout(std::string_view hostname);                     // 421 4.4.2 ... closing
Reply shuttingDown(std::string_view hostname);                // 421 4.3.2 ... closing
Reply localError();                                           // 451 4.3.0 local error in processing
Reply insufficientStorage();                                  // 452 4.3.1
Reply tooManyRecipients();                                    // 452 4.5.3
Reply lineTooLong();                                          // 500 5.5.2
Reply bareLineEnding();                                       // 500 5.5.2 bare <CR> or <LF>
Reply commandUnrecognized();                                  // 500 5.5.2
Reply syntaxError(std::string_view text);                     // 501 5.5.4 <text>
Reply notImplemented();                                       // 502 5.5.1
Reply badSequence(std::string_view text);                     // 503 5.5.1 <text>
Reply parameterNotImplemented();                              // 504 5.5.4
Reply authRequired();                                         // 530 5.7.0 Authentication required
Reply startTlsRequired();                                     // 530 5.7.0 Must issue a STARTTLS command first
Reply authFailed();                                           // 535 5.7.8
Reply encryptionRequiredForAuth();                            // 538 5.7.11
Reply mailboxUnavailable();                                   // 550 5.1.1 User unknown
Reply relayDenied();                                          // 554 5.7.1 Relay access denied
Reply addressRoutingRefused();                                // 550 5.7.1 (%, !, quoted @ tricks)
Reply messageTooBig();                                        // 552 5.3.4
Reply mailboxFull();                                          // 552 5.2.2
Reply smtputf8Required();                                     // 553 5.6.7
Reply transactionFailed(std::string_view text);               // 554 5.0.0 <text>

}  // namespace replies
}  // namespace tern::smtp
