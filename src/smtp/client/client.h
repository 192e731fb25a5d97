// One outbound SMTP connection to a remote MTA or a smarthost: greeting, EHLO (HELO fallback), STARTTLS
// (opportunistic or required), AUTH, then any number of transactions with PIPELINING when offered.
// Everything the peer sends is untrusted: replies are parsed with bounded line length and line count,
// and every step has the RFC 5321 4.5.3.2 timeout.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/protocol/reply.h"
#include "util/result.h"

namespace tern::smtp::client {

enum class TlsPolicy {
  None,          // never STARTTLS (tests, local relays)
  Opportunistic, // STARTTLS when offered; certificate checked and recorded, not enforced (RFC 3207 4.1)
  Required,      // fail (temporarily) without TLS; certificate not checked
  Verified,      // fail without TLS or without a certificate valid for the host name
};

struct Timeouts {  // RFC 5321 4.5.3.2
  std::chrono::seconds connect{30};
  std::chrono::seconds greeting{300};
  std::chrono::seconds ehlo{300};
  std::chrono::seconds mail{300};
  std::chrono::seconds rcpt{300};
  std::chrono::seconds dataInit{120};
  std::chrono::seconds dataBlock{180};
  std::chrono::seconds dataTermination{600};
};

struct ClientSettings {
  std::string heloName = "localhost";  // our hostname
  TlsPolicy tls = TlsPolicy::Opportunistic;
  // A client context (verify paths set by the caller); null: no STARTTLS even when offered.
  std::shared_ptr<asio::ssl::context> tlsContext;
  bool implicitTls = false;            // smarthost on 465
  std::optional<std::string> username; // AUTH (PLAIN, else LOGIN), only over TLS
  std::optional<std::string> password;
  Timeouts timeouts;
};

// What the peer offered in its EHLO reply.
struct Capabilities {
  bool esmtp = false;        // EHLO worked (false: HELO fallback)
  bool pipelining = false;
  bool startTls = false;
  bool eightBitMime = false;
  bool smtpUtf8 = false;
  bool dsn = false;
  bool chunking = false;
  std::optional<uint64_t> maxSize;  // SIZE n (0 or absent: no limit announced)
  std::vector<std::string> authMechanisms;
};

struct EnvelopeRecipient {
  std::string address;
  std::string notify;   // passed as NOTIFY= when the peer offers DSN ("" : none)
  std::string orcpt;    // "addr-type;xtext" passed as ORCPT= when the peer offers DSN
};

struct Envelope {
  std::string sender;   // "" for the null reverse path
  std::vector<EnvelopeRecipient> recipients;
  bool eightBit = false;   // BODY=8BITMIME
  bool smtpUtf8 = false;   // SMTPUTF8
  std::string ret;         // RET= when the peer offers DSN
  std::string envid;       // ENVID= (xtext-encoded here) when the peer offers DSN
};

// The outcome of one transaction. A connection-level failure (closed, timeout) is a synthesized
// reply "451 4.4.2 ..." for everything not yet answered.
struct SendResult {
  std::optional<Reply> transactionFailure;  // MAIL FROM refused, no recipient accepted, DATA refused
  std::vector<Reply> recipientReplies;      // one per envelope recipient, in order: RCPT reply, or the
                                            // final DATA reply for accepted ones
};

// The EHLO reply's keyword lines (all but the first), case-insensitive: PIPELINING, STARTTLS,
// 8BITMIME, SMTPUTF8, DSN, CHUNKING, SIZE [n], AUTH mech... (and the old "AUTH=mech..." form).
// Unknown keywords are ignored; a SIZE value that is not a number is taken as "no limit".
Capabilities parseCapabilities(const Reply& ehloReply);

// A connection-level failure before any transaction: "connect to 192.0.2.1: Connection refused",
// or the peer's refusing greeting/EHLO reply.
struct ConnectFailure {
  std::string detail;
  std::optional<Reply> reply;  // when the peer answered (e.g. 554 in the greeting)
  bool permanent() const { return reply && reply->code >= 500; }
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Sends one message: MAIL, RCPTs, DATA (PIPELINING when offered). `message` is the raw message with
  // CRLF line endings, not dot-stuffed; `prefix` (a DKIM-Signature field, may be empty) goes first.
  // A peer SIZE limit smaller than the message yields 552 5.3.4 for every recipient without sending;
  // SMTPUTF8 mail to a peer without SMTPUTF8 yields 553 5.6.7 (RFC 6531 3.4), 8-bit mail to a peer
  // without 8BITMIME 554 5.6.3 (we do not downgrade to quoted-printable). These pre-checks also set
  // transactionFailure. A connection that is not usable() yields 451 4.4.2 for every recipient.
  virtual asio::awaitable<SendResult> send(const Envelope& envelope, std::string_view prefix,
                                           std::string_view message) = 0;
  // RSET between transactions on a reused connection; false when the connection is no longer usable.
  virtual asio::awaitable<bool> reset() = 0;
  virtual asio::awaitable<void> quit() = 0;  // QUIT and close (bounded in time)

  virtual bool usable() const = 0;
  virtual const Capabilities& capabilities() const = 0;
  virtual const std::string& peerAddress() const = 0;   // the IP connected to
  virtual const std::string& peerGreeting() const = 0;  // first greeting line (for DSN Remote-MTA)
  virtual std::string tlsVersion() const = 0;           // "" when plain
  virtual std::string tlsCipher() const = 0;
  virtual bool certificateVerified() const = 0;         // chain and host name checked OK
};

// Connects to `addresses` in order (textual IPs) on `port` until one answers, then greeting, EHLO,
// STARTTLS per policy (EHLO again), AUTH when credentials are set. `hostName` is the name used for
// SNI and certificate verification.
asio::awaitable<tern::Result<std::unique_ptr<Connection>, ConnectFailure>> connect(
    asio::any_io_executor executor, const std::vector<std::string>& addresses, uint16_t port,
    std::string hostName, const ClientSettings& settings);

}  // namespace tern::smtp::client
