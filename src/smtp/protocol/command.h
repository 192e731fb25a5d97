// The typed SMTP/LMTP command: what parseCommand (parser.h) produces from one untrusted command line
// and the session consumes. Pure values; parameters are already validated and decoded (xtext), but
// whether an extension was advertised (and so may be used) is the session's decision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "smtp/protocol/address.h"

namespace tern::smtp {

// --- MAIL FROM parameters -------------------------------------------------------------------------
enum class BodyType { SevenBit, EightBitMime, BinaryMime };  // RFC 6152, RFC 3030
enum class DsnRet { Full, Headers };                         // RFC 3461 RET=FULL|HDRS

struct MailParams {
  std::optional<uint64_t> size;      // RFC 1870 SIZE=; saturates at UINT64_MAX (still "too big")
  std::optional<BodyType> body;      // BODY=
  bool smtputf8 = false;             // RFC 6531 SMTPUTF8
  std::optional<DsnRet> ret;         // RET=
  std::optional<std::string> envid;  // ENVID=, xtext decoded (printable ASCII, <= 100 encoded octets)
  std::optional<std::string> auth;   // RFC 4954 AUTH=, xtext decoded: a mailbox or "<>"
  bool operator==(const MailParams&) const = default;
};

// --- RCPT TO parameters ---------------------------------------------------------------------------
struct DsnNotify {  // NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;
  bool operator==(const DsnNotify&) const = default;
};

struct OriginalRecipient {   // ORCPT=addr-type;xtext
  std::string addrType;      // as sent ("rfc822", "utf-8", ...); compare case-insensitively
  std::string address;       // decoded (xtext; utf-8-addr-xtext/unitext for addr-type utf-8)
  std::string encoded;       // the value after ';' exactly as sent, for relaying unchanged
  bool operator==(const OriginalRecipient&) const = default;
};

struct RcptParams {
  std::optional<DsnNotify> notify;
  std::optional<OriginalRecipient> orcpt;
  bool operator==(const RcptParams&) const = default;
};

// --- commands -------------------------------------------------------------------------------------
struct Ehlo {                  // EHLO, or LHLO (RFC 2033) when lhlo is set
  std::string domain;          // a domain name or an address literal with brackets, as sent
  bool addressLiteral = false;
  bool lhlo = false;
  bool operator==(const Ehlo&) const = default;
};
struct Helo {
  std::string domain;
  bool addressLiteral = false;
  bool operator==(const Helo&) const = default;
};
struct Mail {
  Path reversePath;            // isNull() for "<>"
  MailParams params;
  bool operator==(const Mail&) const = default;
};
struct Rcpt {
  Path forwardPath;            // never null; may be the bare "<Postmaster>"
  RcptParams params;
  bool operator==(const Rcpt&) const = default;
};
struct Data { bool operator==(const Data&) const = default; };
struct Bdat {                  // RFC 3030 BDAT <size> [LAST]; exactly `size` octets follow the line
  uint64_t size = 0;
  bool last = false;
  bool operator==(const Bdat&) const = default;
};
struct Rset { bool operator==(const Rset&) const = default; };
struct Noop { bool operator==(const Noop&) const = default; };
struct Quit { bool operator==(const Quit&) const = default; };
struct Vrfy {                  // answered with 252 whatever the argument (never confirms accounts)
  std::string argument;
  bool operator==(const Vrfy&) const = default;
};
struct Help {
  std::string topic;           // may be empty
  bool operator==(const Help&) const = default;
};
struct StartTls { bool operator==(const StartTls&) const = default; };
struct Auth {                  // RFC 4954 AUTH mechanism [initial-response]
  std::string mechanism;       // upper-cased
  std::optional<std::string> initialResponse;  // base64 as sent; "=" (empty response) is kept as "="
  bool operator==(const Auth&) const = default;
};

using Command = std::variant<Ehlo, Helo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Help,
                             StartTls, Auth>;

// The command's verb in upper case ("EHLO", "LHLO", "MAIL", ...), for logs and the command table.
std::string_view verbOf(const Command& command);

}  // namespace tern::smtp
