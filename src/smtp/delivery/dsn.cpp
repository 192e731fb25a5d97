// Builds RFC 3464 delivery status notifications (multipart/report, RFC 6522) and RFC 6533 global ones.
// Inputs mix our own state with untrusted bytes (remote replies, addresses, ENVID/ORCPT, the original
// message): control characters are replaced, every generated line stays under 998 octets, the
// returned original is bounded by maxReturnedSize.
#include "smtp/delivery/dsn.h"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>
#include <utility>

#include "mime/header.h"
#include "smtp/protocol/xtext.h"
#include "util/date.h"
#include "util/strings.h"

namespace tern::smtp::delivery {
namespace {

constexpr size_t kFoldWidth = 76;      // preferred line length (RFC 5322 2.1.1 "SHOULD 78")
constexpr size_t kHardWidth = 900;     // a word longer than this is split: lines stay < 998 octets

bool isAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// One line of text from untrusted bytes: CR, LF, TAB and other controls become spaces, runs of spaces
// collapse, the ends are trimmed. UTF-8 is kept (it is only ever placed in 8bit/UTF-8 contexts).
std::string oneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    const bool space = c < 0x20 || c == 0x7f || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += ch;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Cuts at most `max` bytes off the front of s without splitting a UTF-8 sequence.
size_t utf8Cut(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  return n == 0 ? max : n;
}

// Breaks one line of text into lines of about `width` bytes at spaces; words longer than kHardWidth
// are split. Each output line is returned without EOL.
std::vector<std::string> wrap(std::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(pos, end - pos);
    pos = end + 1;
    while (word.size() > kHardWidth) {
      if (!line.empty()) lines.push_back(std::exchange(line, {}));
      const size_t n = utf8Cut(word, kHardWidth);
      lines.emplace_back(word.substr(0, n));
      word.remove_prefix(n);
    }
    if (word.empty()) continue;
    if (!line.empty() && line.size() + 1 + word.size() > width) lines.push_back(std::exchange(line, {}));
    if (!line.empty()) line += ' ';
    line += word;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// "Name: value" folded (RFC 5322 2.2.3) so every line stays short; value must be one line already.
std::string field(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  auto lines = wrap(value, kFoldWidth > name.size() + 2 ? kFoldWidth - name.size() - 2 : 20);
  if (lines.empty()) return out + "\r\n";
  out += ' ';
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\r\n ";
    out += lines[i];
  }
  return out + "\r\n";
}

// Plain text wrapped for the human-readable part, each line indented by `indent`.
std::string paragraph(std::string_view text, std::string_view indent = {}) {
  std::string out;
  for (const auto& l : wrap(oneLine(text), kFoldWidth - indent.size())) {
    out += indent;
    out += l;
    out += "\r\n";
  }
  return out;
}

std::string actionName(DsnAction a) {
  switch (a) {
    case DsnAction::Failed: return "failed";
    case DsnAction::Delayed: return "delayed";
    case DsnAction::Delivered: return "delivered";
    case DsnAction::Relayed: return "relayed";
    case DsnAction::Expanded: return "expanded";
  }
  return "failed";
}

// "smtp; 550 ..." stays; a bare reply text gets the "smtp" diagnostic type (RFC 3464 2.3.6).
std::string diagnosticCode(std::string_view diagnostic) {
  std::string d = oneLine(diagnostic);
  size_t i = 0;
  while (i < d.size() && (std::isalnum(static_cast<unsigned char>(d[i])) || d[i] == '-')) ++i;
  if (i > 0 && std::isalpha(static_cast<unsigned char>(d[0])) && i < d.size() && d[i] == ';') {
    std::string type = d.substr(0, i);
    std::string rest = oneLine(std::string_view(d).substr(i + 1));
    return type + "; " + rest;
  }
  return "smtp; " + d;
}

// The diagnostic without its type, for people.
std::string diagnosticText(std::string_view diagnostic) {
  std::string code = diagnosticCode(diagnostic);
  size_t semi = code.find("; ");
  return semi == std::string::npos ? code : code.substr(semi + 2);
}

// Remote-MTA is "dns; <host name>": keep the name, drop an appended " [address]".
std::string mtaName(std::string_view remote) {
  std::string r = oneLine(remote);
  size_t sp = r.find(' ');
  if (sp != std::string::npos && sp > 0) r.resize(sp);
  return r;
}

// ORCPT as received is "addr-type;xtext" (RFC 3461 4.2); the DSN field carries the decoded address.
// A value that does not decode cleanly is kept as received.
std::string originalRecipient(std::string_view orcpt) {
  size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos) return oneLine(orcpt);
  std::string type = oneLine(orcpt.substr(0, semi));
  std::string_view value = orcpt.substr(semi + 1);
  std::optional<std::string> decoded;
  if (iequals(type, "utf-8")) {
    decoded = smtp::utf8AddrXtextDecode(value, true);
  } else {
    decoded = smtp::xtextDecode(value);
  }
  std::string addr = decoded && oneLine(*decoded) == *decoded ? *decoded : oneLine(value);
  return type + "; " + addr;
}

// Final-Recipient: "rfc822; addr", or "utf-8; addr" for an internationalised address (RFC 6533 3).
std::string finalRecipient(std::string_view addr) {
  std::string a = oneLine(addr);
  return (isAscii(a) ? "rfc822; " : "utf-8; ") + a;
}

// ENVID in the status part: xtext form, so whatever bytes it decoded to stay one clean line.
std::string envelopeId(std::string_view envid) { return smtp::xtextEncode(envid); }

// A few common RFC 3463 codes in plain words, for when the remote gave no text.
std::string statusWords(std::string_view status) {
  struct Row {
    const char* code;
    const char* words;
  };
  static constexpr Row kRows[] = {
      {"5.1.1", "the mailbox does not exist"},
      {"5.1.2", "the destination domain does not exist or does not accept mail"},
      {"5.1.10", "the destination domain does not accept mail (null MX)"},
      {"4.4.1", "the receiving mail server did not answer"},
      {"4.4.2", "the connection to the receiving mail server was lost"},
      {"4.4.3", "the destination domain could not be looked up"},
      {"4.4.7", "the message could not be delivered in time and has expired"},
      {"5.4.7", "the message could not be delivered in time and has expired"},
      {"5.2.2", "the mailbox is full"},
      {"4.2.2", "the mailbox is full"},
      {"5.3.4", "the message is too big for the receiving system"},
      {"5.7.1", "the receiving system refused the message"},
  };
  for (const auto& r : kRows) {
    if (status == r.code) return r.words;
  }
  if (!status.empty() && status[0] == '5') return "permanent failure (status " + std::string(status) + ")";
  if (!status.empty() && status[0] == '4') return "temporary failure (status " + std::string(status) + ")";
  return "status " + std::string(status);
}

// RFC 3464 2.3.4 requires a status; an unknown one is the class's generic code.
std::string statusCode(const DsnRecipient& r) {
  std::string s = oneLine(r.status);
  if (!s.empty()) return s;
  return r.action == DsnAction::Failed ? "5.0.0" : r.action == DsnAction::Delayed ? "4.0.0" : "2.0.0";
}

std::string randomToken() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%08x%08x%04x", rd(), rd(), static_cast<unsigned>(counter.fetch_add(1) & 0xffff));
  return buf;
}

std::string boundaryFor(std::string_view original) {
  std::string b;
  for (int i = 0; i < 16; ++i) {  // a collision with the content is astronomically unlikely; bounded anyway
    b = "=_tern-dsn-" + randomToken();
    if (original.find(b) == std::string_view::npos) break;
  }
  return b;
}

bool hasEightBit(std::string_view s) { return !isAscii(s); }

// The human-readable part: per action group, who and why.
std::string humanText(const DsnInput& in) {
  std::string out;
  out += paragraph("This is the mail delivery system at " + oneLine(in.reportingMta) + ".");
  out += "\r\n";
  auto section = [&](DsnAction action, std::string_view intro) {
    bool any = false;
    for (const auto& r : in.recipients) {
      if (r.action != action) continue;
      if (!any) {
        out += paragraph(intro);
        out += "\r\n";
        any = true;
      }
      std::string why = r.diagnostic.empty() ? statusWords(r.status) : diagnosticText(r.diagnostic);
      out += paragraph("<" + oneLine(r.finalRecipient) + ">: " + why, "  ");
      if (!r.remoteMta.empty()) out += paragraph("(reported by " + oneLine(r.remoteMta) + ")", "    ");
      if (r.willRetryUntil) out += paragraph("Will keep trying until " + rfc5322Date(*r.willRetryUntil) + ".", "    ");
      out += "\r\n";
    }
  };
  section(DsnAction::Failed,
          "Your message could not be delivered to the recipients below. This is a permanent error: the "
          "message will not be sent to them again. The reason given for each recipient follows.");
  section(DsnAction::Delayed,
          "Your message has not yet been delivered to the recipients below. This is only a warning: the "
          "mail system is still trying and you do not need to send the message again. If it cannot be "
          "delivered before the time shown, you will get another notice.");
  section(DsnAction::Delivered, "Your message was delivered to the recipients below.");
  section(DsnAction::Relayed,
          "Your message was passed on to the recipients below, to a system that does not send delivery "
          "notices: you may not hear about it again.");
  section(DsnAction::Expanded, "Your message was delivered to the recipients below, which are lists.");
  return out;
}

// The header section of the original (with its ending empty line), bounded.
std::string headerSection(std::string_view original, uint64_t max) {
  std::string_view h = mime::splitHeader(original).header;
  if (h.size() > max) {
    h = h.substr(0, max);
    size_t eol = h.rfind("\r\n");
    h = eol == std::string_view::npos ? std::string_view() : h.substr(0, eol + 2);
  }
  std::string out(h);
  if (out.empty() || out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

}  // namespace

std::string buildDsn(const DsnInput& in) {
  // RFC 6533: a UTF-8 address anywhere makes this a global report (UTF-8 in the status fields).
  bool global = !isAscii(in.originalSender);
  for (const auto& r : in.recipients) {
    if (!isAscii(r.finalRecipient) || !isAscii(r.originalRecipient)) global = true;
  }
  const std::string host = oneLine(in.reportingMta);

  bool anyFailed = false, allDelayed = !in.recipients.empty(), allSuccess = !in.recipients.empty();
  for (const auto& r : in.recipients) {
    anyFailed = anyFailed || r.action == DsnAction::Failed;
    allDelayed = allDelayed && r.action == DsnAction::Delayed;
    allSuccess = allSuccess && (r.action == DsnAction::Delivered || r.action == DsnAction::Relayed ||
                                r.action == DsnAction::Expanded);
  }
  const char* subject = anyFailed    ? "Undelivered Mail Returned to Sender"
                        : allDelayed ? "Delayed Mail (still being retried)"
                        : allSuccess ? "Successful Mail Delivery Report"
                                     : "Mail Delivery Status Report";

  // The returned original: the whole message when RET=FULL and it fits, else its header section.
  const bool full = in.returnFullMessage && in.originalMessage.size() <= in.maxReturnedSize;
  std::string returned;
  std::string returnedType;
  if (!in.originalMessage.empty()) {
    if (full) {
      returned = std::string(in.originalMessage);
      const bool utf8Header = hasEightBit(mime::splitHeader(in.originalMessage).header);
      returnedType = utf8Header ? "message/global" : "message/rfc822";
    } else {
      returned = headerSection(in.originalMessage, in.maxReturnedSize);
      returnedType = hasEightBit(returned) ? "message/global-headers" : "text/rfc822-headers";
    }
  }
  const std::string boundary = boundaryFor(in.originalMessage);

  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + host + ">\r\n";
  m += "To: <" + oneLine(in.originalSender) + ">\r\n";
  m += std::string("Subject: ") + subject + "\r\n";
  m += "Date: " + rfc5322Date(in.now) + "\r\n";
  m += "Message-ID: <" + std::to_string(in.now) + "." + randomToken() + "@" + host + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=" +
       std::string(global ? "global-delivery-status" : "delivery-status") + ";\r\n\tboundary=\"" + boundary +
       "\"\r\n";
  m += "\r\n";
  m += "This is a MIME-encapsulated delivery status notification.\r\n";

  // 1. For people.
  const std::string text = humanText(in);
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (hasEightBit(text) ? "8bit" : "7bit") + "\r\n";
  m += "Content-Description: Notification\r\n\r\n";
  m += text;

  // 2. For programs (RFC 3464 2.2, 2.3).
  std::string status;
  if (!in.envid.empty()) status += field("Original-Envelope-Id", envelopeId(in.envid));
  status += field("Reporting-MTA", "dns; " + host);
  if (in.arrivalDate > 0) status += field("Arrival-Date", rfc5322Date(in.arrivalDate));
  for (const auto& r : in.recipients) {
    status += "\r\n";
    if (!r.originalRecipient.empty()) status += field("Original-Recipient", originalRecipient(r.originalRecipient));
    status += field("Final-Recipient", finalRecipient(r.finalRecipient));
    status += field("Action", actionName(r.action));
    status += field("Status", statusCode(r));
    if (!r.remoteMta.empty()) status += field("Remote-MTA", "dns; " + mtaName(r.remoteMta));
    if (!r.diagnostic.empty()) status += field("Diagnostic-Code", diagnosticCode(r.diagnostic));
    if (r.lastAttempt > 0) status += field("Last-Attempt-Date", rfc5322Date(r.lastAttempt));
    if (r.willRetryUntil) status += field("Will-Retry-Until", rfc5322Date(*r.willRetryUntil));
  }
  m += "\r\n--" + boundary + "\r\n";
  m += std::string("Content-Type: ") + (global ? "message/global-delivery-status" : "message/delivery-status") + "\r\n";
  if (hasEightBit(status)) m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "Content-Description: Delivery report\r\n\r\n";
  m += status;

  // 3. The original, or its header section.
  if (!returnedType.empty()) {
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Type: " + returnedType + "\r\n";
    if (hasEightBit(returned)) m += "Content-Transfer-Encoding: 8bit\r\n";
    m += std::string("Content-Description: ") + (full ? "Undelivered message" : "Undelivered message headers") +
         "\r\n\r\n";
    m += returned;
    if (returned.size() < 2 || returned.compare(returned.size() - 2, 2, "\r\n") != 0) m += "\r\n";
  }
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

bool notifyAllows(std::string_view notify, DsnAction action) {
  // Split the comma list, compare case-insensitively; NEVER anywhere wins (it excludes the others).
  bool success = false, failure = false, delay = false, never = false, any = false;
  size_t pos = 0;
  while (pos <= notify.size()) {
    size_t comma = notify.find(',', pos);
    if (comma == std::string_view::npos) comma = notify.size();
    std::string word;
    for (char c : notify.substr(pos, comma - pos)) {
      if (c == ' ' || c == '\t') continue;
      word += asciiUpper(c);
    }
    if (!word.empty()) any = true;
    if (word == "SUCCESS") success = true;
    else if (word == "FAILURE") failure = true;
    else if (word == "DELAY") delay = true;
    else if (word == "NEVER") never = true;
    pos = comma + 1;
  }
  if (never) return false;
  if (!any) {  // NOTIFY absent: FAILURE, and DELAY at our discretion (we send it)
    return action == DsnAction::Failed || action == DsnAction::Delayed;
  }
  switch (action) {
    case DsnAction::Failed: return failure;
    case DsnAction::Delayed: return delay;
    case DsnAction::Delivered:
    case DsnAction::Relayed:
    case DsnAction::Expanded: return success;
  }
  return false;
}

}  // namespace tern::smtp::delivery
