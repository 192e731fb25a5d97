// Pure session policy: command table and gate, EHLO extensions, subaddresses, trace headers, and the
// submission From check. headerFromAddresses reads untrusted header bytes; it never reads past the
// header block it is given and keeps no more than that block.
#include "smtp/server/policy.h"

#include <array>
#include <ctime>

#include "mime/address.h"
#include "util/date.h"
#include "util/strings.h"

namespace tern::smtp::server {
namespace {

// One row per Command alternative, in variant order.
constexpr std::array<CommandRule, std::variant_size_v<Command>> kRules = {{
    {"EHLO", kNotInBdat},                                              // Ehlo (LHLO when lhlo)
    {"HELO", kSmtpOnly | kNotInBdat},                                  // Helo
    {"MAIL", kNeedsGreeting | kNeedsTlsOnSubmission | kNeedsAuthOnSubmission | kNotInBdat},
    {"RCPT", kNeedsGreeting | kNeedsTlsOnSubmission | kNeedsAuthOnSubmission | kNotInBdat},
    {"DATA", kNeedsGreeting | kNeedsTlsOnSubmission | kNeedsAuthOnSubmission | kNotInBdat},
    {"BDAT", kNeedsGreeting | kNeedsTlsOnSubmission | kNeedsAuthOnSubmission},
    {"RSET", 0},
    {"NOOP", 0},
    {"QUIT", 0},
    {"VRFY", kNotInBdat},
    {"HELP", kNotInBdat},
    {"STARTTLS", kNeedsGreeting | kSmtpOnly | kNotInBdat},
    {"AUTH", kNeedsGreeting | kNotInBdat},
}};
static_assert(std::variant_size_v<Command> == 13, "update kRules with Command");

bool isSubmission(Service s) { return s == Service::Submission || s == Service::Submissions; }

}  // namespace

const CommandRule& ruleFor(const Command& command) { return kRules[command.index()]; }

std::optional<Reply> gate(const Command& command, const GateState& st) {
  const CommandRule& rule = ruleFor(command);
  const bool lmtp = st.service == Service::Lmtp;
  if (const auto* e = std::get_if<Ehlo>(&command)) {
    if (e->lhlo != lmtp) return replies::commandUnrecognized();
  }
  if ((rule.flags & kSmtpOnly) && lmtp) return replies::commandUnrecognized();
  if ((rule.flags & kNotInBdat) && st.inBdat) return replies::badSequence("BDAT chunks in progress");
  if ((rule.flags & kNeedsGreeting) && !st.greeted) {
    return replies::badSequence(lmtp ? "Send LHLO first" : "Send EHLO/HELO first");
  }
  if (isSubmission(st.service) && !st.authenticated) {
    if ((rule.flags & kNeedsTlsOnSubmission) && !st.tls) return replies::startTlsRequired();
    if (rule.flags & kNeedsAuthOnSubmission) return replies::authRequired();
  }
  return std::visit(
      [&](const auto& c) -> std::optional<Reply> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, Mail>) {
          if (st.inTransaction) return replies::badSequence("Nested MAIL command");
        } else if constexpr (std::is_same_v<T, Rcpt>) {
          if (!st.inTransaction) return replies::badSequence("Need MAIL before RCPT");
        } else if constexpr (std::is_same_v<T, Data> || std::is_same_v<T, Bdat>) {
          if (!st.inTransaction) return replies::badSequence("Need MAIL command");
          if (!st.hasRecipients) return Reply{554, "5.5.1", {"No valid recipients"}};
        } else if constexpr (std::is_same_v<T, StartTls>) {
          if (st.tls) return replies::badSequence("Already in TLS");
          if (st.inTransaction) return replies::badSequence("Mail transaction in progress");
        } else if constexpr (std::is_same_v<T, Auth>) {
          if (!isSubmission(st.service)) return replies::notImplemented();
          if (!st.tls) return replies::encryptionRequiredForAuth();
          if (st.authenticated) return replies::badSequence("Already authenticated");
          if (st.inTransaction) return replies::badSequence("Mail transaction in progress");
        }
        return std::nullopt;
      },
      command);
}

std::vector<std::string> ehloExtensions(Service service, bool tls, bool tlsAvailable, bool authenticated,
                                        uint64_t maxMessageSize) {
  std::vector<std::string> ext = {"PIPELINING", "SIZE " + std::to_string(maxMessageSize), "8BITMIME",
                                  "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN"};
  if (service != Service::Lmtp && !tls && tlsAvailable) ext.push_back("STARTTLS");
  // AUTH only where it may be used: submission, over TLS, not yet authenticated (RFC 4954 4).
  if (isSubmission(service) && tls && !authenticated) ext.push_back("AUTH PLAIN LOGIN SCRAM-SHA-256");
  return ext;
}

std::optional<std::string> subaddressBase(std::string_view localPart) {
  size_t plus = localPart.find('+');
  if (plus == std::string_view::npos || plus == 0 || plus + 1 == localPart.size()) return std::nullopt;
  return std::string(localPart.substr(0, plus));
}

std::string protocolName(Service service, bool ehlo, bool tls, bool authenticated) {
  if (service == Service::Lmtp) return tls ? "LMTPS" : "LMTP";
  if (!ehlo) return "SMTP";
  std::string p = "ESMTP";
  if (tls) p += "S";
  if (authenticated) p += "A";
  return p;
}

std::string traceHeaders(const TraceInfo& i) {
  std::string h = "Return-Path: <" + i.reversePath + ">\r\n";
  // RFC 5321 4.4 TCP-info: an address literal, "IPv6:" tagged for IPv6.
  const std::string literal = (i.remoteIp.find(':') != std::string::npos ? "IPv6:" : "") + i.remoteIp;
  h += "Received: from " + i.heloDomain + " ([" + literal + "])\r\n";
  h += "\tby " + i.hostname + " (Tern) with " + i.protocol + " id " + i.queueId + "\r\n";
  if (!i.tlsVersion.empty()) h += "\t(using " + i.tlsVersion + " with cipher " + i.tlsCipher + ")\r\n";
  if (!i.authenticatedUser.empty()) h += "\t(authenticated as " + i.authenticatedUser + ")\r\n";
  if (!i.singleRecipient.empty()) h += "\tfor <" + i.singleRecipient + ">\r\n";
  h += "\t; " + rfc5322Date(i.unixTime) + "\r\n";
  return h;
}

std::optional<std::vector<std::string>> headerFromAddresses(std::string_view message) {
  std::optional<std::string> from;
  size_t pos = 0;
  std::string current;  // the field being unfolded
  auto finish = [&](std::string& field) -> bool {
    if (field.size() >= 5 && iequals(std::string_view(field).substr(0, 5), "from:")) {
      if (from) return false;  // two From fields
      from = field.substr(5);
    }
    field.clear();
    return true;
  };
  while (pos < message.size()) {
    size_t eol = message.find('\n', pos);
    std::string_view line = message.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? message.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header block
    if (line[0] == ' ' || line[0] == '\t') {
      current += line;
      continue;
    }
    if (!finish(current)) return std::nullopt;
    current = std::string(line);
  }
  if (!finish(current)) return std::nullopt;
  if (!from) return std::nullopt;
  // The same RFC 5322 parser that builds IMAP's ENVELOPE, so what is checked here is exactly what
  // the recipient's client will show as the sender.
  std::vector<std::string> out;
  for (const auto& a : mime::parseAddressList(*from)) {
    if (a.kind != mime::Address::Kind::Mailbox) return std::nullopt;  // From is a mailbox-list, no groups
    if (a.mailbox.empty() || a.host.empty() || a.host == "MISSING_DOMAIN" || !a.route.empty()) return std::nullopt;
    out.push_back(a.mailbox + "@" + asciiLowercase(a.host));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace tern::smtp::server
