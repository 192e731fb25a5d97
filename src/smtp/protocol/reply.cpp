// SMTP reply serialisation and the stock replies.
// Reply text may include client-influenced strings (domains, queue ids): controls are replaced and
// each line is cut at the RFC 5321 reply line limit.
#include "smtp/protocol/reply.h"

#include <cassert>

namespace tern::smtp {
namespace {

Reply make(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), {std::string(text)}};
}

}  // namespace

void appendReply(std::string& out, const Reply& reply) {
  assert(reply.code >= 200 && reply.code <= 599);
  std::string code = std::to_string(reply.code);
  static const std::vector<std::string> kEmpty{std::string()};
  const auto& lines = reply.lines.empty() ? kEmpty : reply.lines;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += code;
    out += (i + 1 < lines.size()) ? '-' : ' ';
    std::string_view text = lines[i];
    if (!reply.enhanced.empty()) {
      out += reply.enhanced;
      if (!text.empty()) out += ' ';
    }
    if (text.size() > kMaxReplyTextLength) text = text.substr(0, kMaxReplyTextLength);
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      out += (u < 0x20 || u == 0x7F) ? ' ' : c;
    }
    out += "\r\n";
  }
}

std::string serialize(const Reply& reply) {
  std::string out;
  appendReply(out, reply);
  return out;
}

namespace replies {

Reply greeting(std::string_view hostname, bool lmtp) {
  return make(220, "", std::string(hostname) + (lmtp ? " LMTP ready" : " ESMTP ready"));
}

Reply ehlo(std::string_view hostname, std::string_view clientDomain,
           const std::vector<std::string>& extensions) {
  Reply r{250, "", {}};
  r.lines.push_back(std::string(hostname) + " Hello " + std::string(clientDomain));
  for (const auto& e : extensions) r.lines.push_back(e);
  return r;
}

Reply helo(std::string_view hostname) { return make(250, "", hostname); }
Reply ok() { return make(250, "2.0.0", "Ok"); }
Reply senderOk() { return make(250, "2.1.0", "Sender ok"); }
Reply recipientOk() { return make(250, "2.1.5", "Recipient ok"); }
Reply messageAccepted(std::string_view queueId) {
  return make(250, "2.0.0", "Ok: queued as " + std::string(queueId));
}
Reply startMailInput() { return make(354, "", "End data with <CR><LF>.<CR><LF>"); }
Reply bdatAccepted(uint64_t bytes) {
  return make(250, "2.0.0", std::to_string(bytes) + " octets received");
}
Reply closing(std::string_view hostname) {
  return make(221, "2.0.0", std::string(hostname) + " Bye");
}
Reply resetOk() { return make(250, "2.0.0", "Ok"); }
Reply vrfyCannotVerify() {
  return make(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}
Reply help() { return make(214, "2.0.0", "See RFC 5321"); }
Reply readyToStartTls() { return make(220, "2.0.0", "Ready to start TLS"); }
Reply authSuccess() { return make(235, "2.7.0", "Authentication successful"); }
Reply authChallenge(std::string_view base64) { return make(334, "", base64); }

Reply tooManyErrors(std::string_view hostname) {
  return make(421, "4.7.0", std::string(hostname) + " Error: too many errors, closing connection");
}
Reply timeout(std::string_view hostname) {
  return make(421, "4.4.2", std::string(hostname) + " Error: timeout exceeded, closing connection");
}
Reply shuttingDown(std::string_view hostname) {
  return make(421, "4.3.2", std::string(hostname) + " Service shutting down, closing connection");
}
Reply localError() { return make(451, "4.3.0", "Error: local error in processing"); }
Reply insufficientStorage() { return make(452, "4.3.1", "Error: insufficient system storage"); }
Reply tooManyRecipients() { return make(452, "4.5.3", "Error: too many recipients"); }
Reply lineTooLong() { return make(500, "5.5.2", "Error: line too long"); }
Reply bareLineEnding() { return make(500, "5.5.2", "Error: bare <CR> or <LF> received"); }
Reply commandUnrecognized() { return make(500, "5.5.2", "Error: command not recognized"); }
Reply syntaxError(std::string_view text) { return make(501, "5.5.4", text); }
Reply notImplemented() { return make(502, "5.5.1", "Error: command not implemented"); }
Reply badSequence(std::string_view text) { return make(503, "5.5.1", text); }
Reply parameterNotImplemented() { return make(504, "5.5.4", "Error: parameter not implemented"); }
Reply authRequired() { return make(530, "5.7.0", "Authentication required"); }
Reply startTlsRequired() { return make(530, "5.7.0", "Must issue a STARTTLS command first"); }
Reply authFailed() { return make(535, "5.7.8", "Error: authentication failed"); }
Reply encryptionRequiredForAuth() {
  return make(538, "5.7.11", "Encryption required for requested authentication mechanism");
}
Reply mailboxUnavailable() { return make(550, "5.1.1", "Error: user unknown"); }
Reply relayDenied() { return make(554, "5.7.1", "Error: relay access denied"); }
Reply addressRoutingRefused() {
  return make(550, "5.7.1", "Error: address routing syntax (%, !, quoted @) not accepted");
}
Reply messageTooBig() { return make(552, "5.3.4", "Error: message size exceeds fixed limit"); }
Reply mailboxFull() { return make(552, "5.2.2", "Error: mailbox full"); }
Reply smtputf8Required() { return make(553, "5.6.7", "Error: must declare SMTPUTF8 to send UTF-8 address"); }
Reply transactionFailed(std::string_view text) { return make(554, "5.0.0", text); }

}  // namespace replies
}  // namespace tern::smtp
