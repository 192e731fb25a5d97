// Delivery status notifications (RFC 3464 multipart/report; RFC 6533 message/global-delivery-status
// when an address needs UTF-8), built from the queue's state. Pure: no I/O. The returned original
// content is bounded (headers only when the message exceeds maxReturnedSize).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::smtp::delivery {

enum class DsnAction { Failed, Delayed, Delivered, Relayed, Expanded };

struct DsnRecipient {
  std::string finalRecipient;   // the address we tried
  std::string originalRecipient;// ORCPT as received ("rfc822;x@y"), "" when none
  DsnAction action = DsnAction::Failed;
  std::string status;           // RFC 3463 "5.1.1", "4.4.1"
  std::string remoteMta;        // host name or IP of the MTA that answered ("" when none did)
  std::string diagnostic;       // the remote reply text "550 5.1.1 No such user" ("" when none)
  int64_t lastAttempt = 0;      // unix seconds (0: never attempted)
  std::optional<int64_t> willRetryUntil;  // delayed only
};

struct DsnInput {
  std::string reportingMta;     // our hostname
  std::string originalSender;   // where the report goes (never empty: no DSN to the null sender)
  std::string envid;            // ENVID of the original transaction ("" when none)
  int64_t arrivalDate = 0;      // when we accepted the original
  int64_t now = 0;
  std::vector<DsnRecipient> recipients;  // at least one
  std::string_view originalMessage;      // as queued (CRLF)
  bool returnFullMessage = false;        // RET=FULL; otherwise only the header section is returned
  uint64_t maxReturnedSize = 10 * 1024 * 1024;
};

// The complete report message with CRLF line endings: From MAILER-DAEMON@<reportingMta>, To the
// original sender, Auto-Submitted: auto-replied, a fresh Message-ID and Date, a human-readable part,
// the message/delivery-status part and the returned original (message/rfc822 or text/rfc822-headers).
std::string buildDsn(const DsnInput& input);

// Whether a recipient's NOTIFY value ("" = not given, "NEVER", or "SUCCESS,FAILURE,DELAY" lists) asks
// for a report of this kind. RFC 3461 4.1: absent NOTIFY means FAILURE (and DELAY at our discretion:
// we send it).
bool notifyAllows(std::string_view notify, DsnAction action);

}  // namespace tern::smtp::delivery
