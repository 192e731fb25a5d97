// SMTP/LMTP command line parser: verb table, MAIL/RCPT paths and ESMTP parameters.
// Handles untrusted bytes: checks characters first (no controls, UTF-8 well-formed), then the verb,
// then arguments; numbers are range-checked; error texts contain no client bytes.
#include "smtp/protocol/parser.h"

#include <array>

#include "smtp/protocol/xtext.h"
#include "util/strings.h"

namespace tern::smtp {
namespace {

using R = Result<Command, ParseError>;

constexpr size_t kMaxEnvidLength = 100;  // RFC 3461 4.4 (encoded)
constexpr size_t kMaxOrcptLength = 500;  // RFC 3461 4.2 (addr-type ";" xtext)

Unexpected<ParseError> fail(int code, std::string_view enhanced, std::string_view text,
                            bool desync = false) {
  return unexpected(ParseError{code, std::string(enhanced), std::string(text), desync});
}
Unexpected<ParseError> syntax(std::string_view text) { return fail(501, "5.5.4", text); }

bool isAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Splits off the next space-separated token (multiple spaces tolerated between tokens).
std::string_view nextToken(std::string_view& rest) {
  size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  size_t end = rest.find(' ');
  std::string_view tok = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return tok;
}

bool allSpaces(std::string_view s) { return s.find_first_not_of(' ') == std::string_view::npos; }

// --- ESMTP parameters ---------------------------------------------------------------------------

struct Param {
  std::string keyword;  // upper-cased
  std::string_view value;
  bool hasValue = false;
};

// esmtp-keyword ["=" esmtp-value]; value = 1*(%d33-60 / %d62-126 / UTF-8)
std::optional<Param> splitParam(std::string_view tok) {
  Param p;
  size_t eq = tok.find('=');
  std::string_view kw = tok.substr(0, eq);
  if (kw.empty() || !isAlnum(static_cast<unsigned char>(kw[0]))) return std::nullopt;
  for (char c : kw)
    if (!isAlnum(static_cast<unsigned char>(c)) && c != '-') return std::nullopt;
  p.keyword = asciiUppercase(kw);
  if (eq != std::string_view::npos) {
    p.hasValue = true;
    p.value = tok.substr(eq + 1);
    if (p.value.empty()) return std::nullopt;
    for (char c : p.value) {
      auto u = static_cast<unsigned char>(c);
      if (u == '=' || u < 33 || u == 127) return std::nullopt;
    }
  }
  return p;
}

// Parameters already seen in one command (by index in the command's keyword list).
template <size_t N>
struct Seen {
  std::array<std::string_view, N> names;
  std::array<bool, N> seen{};
  // -1: unknown keyword; -2: repeated; else the index.
  int mark(std::string_view kw) {
    for (size_t i = 0; i < N; ++i) {
      if (names[i] == kw) {
        if (seen[i]) return -2;
        seen[i] = true;
        return static_cast<int>(i);
      }
    }
    return -1;
  }
};

std::optional<ParseError> parseMailParams(std::string_view rest, MailParams& out) {
  Seen<6> seen{{"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"}};
  while (true) {
    std::string_view tok = nextToken(rest);
    if (tok.empty()) return std::nullopt;
    auto p = splitParam(tok);
    if (!p) return syntax("Bad parameter syntax").error;
    int idx = seen.mark(p->keyword);
    if (idx == -1) return fail(555, "5.5.4", "Unsupported MAIL parameter").error;
    if (idx == -2) return syntax("Parameter given twice").error;
    if (idx != 2 && !p->hasValue) return syntax("Parameter needs a value").error;
    switch (idx) {
      case 0: {  // SIZE = 1*20DIGIT
        if (p->value.size() > 20) return syntax("Bad SIZE value").error;
        uint64_t v = 0;
        for (char c : p->value) {
          if (c < '0' || c > '9') return syntax("Bad SIZE value").error;
          uint64_t d = static_cast<uint64_t>(c - '0');
          v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
        }
        out.size = v;
        break;
      }
      case 1:
        if (iequals(p->value, "7BIT")) out.body = BodyType::SevenBit;
        else if (iequals(p->value, "8BITMIME")) out.body = BodyType::EightBitMime;
        else if (iequals(p->value, "BINARYMIME")) out.body = BodyType::BinaryMime;
        else return syntax("Bad BODY value").error;
        break;
      case 2:
        if (p->hasValue) return syntax("SMTPUTF8 takes no value").error;
        out.smtputf8 = true;
        break;
      case 3:
        if (iequals(p->value, "FULL")) out.ret = DsnRet::Full;
        else if (iequals(p->value, "HDRS")) out.ret = DsnRet::Headers;
        else return syntax("Bad RET value").error;
        break;
      case 4: {
        if (p->value.size() > kMaxEnvidLength) return syntax("ENVID too long").error;
        auto v = xtextDecode(p->value);
        if (!v || v->empty()) return syntax("Bad ENVID value").error;
        for (char c : *v)
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
            return syntax("Bad ENVID value").error;
        out.envid = std::move(*v);
        break;
      }
      case 5: {
        auto v = xtextDecode(p->value);
        if (!v || v->empty()) return syntax("Bad AUTH value").error;
        for (char c : *v)
          if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F)
            return syntax("Bad AUTH value").error;
        out.auth = std::move(*v);
        break;
      }
    }
  }
}

std::optional<ParseError> parseRcptParams(std::string_view rest, bool smtputf8, RcptParams& out) {
  Seen<2> seen{{"NOTIFY", "ORCPT"}};
  while (true) {
    std::string_view tok = nextToken(rest);
    if (tok.empty()) return std::nullopt;
    auto p = splitParam(tok);
    if (!p) return syntax("Bad parameter syntax").error;
    int idx = seen.mark(p->keyword);
    if (idx == -1) return fail(555, "5.5.4", "Unsupported RCPT parameter").error;
    if (idx == -2) return syntax("Parameter given twice").error;
    if (!p->hasValue) return syntax("Parameter needs a value").error;
    if (idx == 0) {
      DsnNotify n;
      std::string_view list = p->value;
      size_t count = 0;
      while (true) {
        size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        bool* flag = iequals(item, "NEVER")     ? &n.never
                     : iequals(item, "SUCCESS") ? &n.success
                     : iequals(item, "FAILURE") ? &n.failure
                     : iequals(item, "DELAY")   ? &n.delay
                                                : nullptr;
        if (!flag || *flag) return syntax("Bad NOTIFY value").error;
        *flag = true;
        ++count;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      if (n.never && count > 1) return syntax("NOTIFY=NEVER cannot be combined").error;
      out.notify = n;
    } else {
      if (p->value.size() > kMaxOrcptLength) return syntax("ORCPT too long").error;
      size_t semi = p->value.find(';');
      if (semi == std::string_view::npos || semi == 0) return syntax("Bad ORCPT value").error;
      OriginalRecipient o;
      std::string_view type = p->value.substr(0, semi);
      for (char c : type)  // addr-type = atom
        if (!isAlnum(static_cast<unsigned char>(c)) &&
            std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) == std::string_view::npos)
          return syntax("Bad ORCPT value").error;
      o.addrType = std::string(type);
      o.encoded = std::string(p->value.substr(semi + 1));
      auto v = iequals(type, "utf-8") ? utf8AddrXtextDecode(o.encoded, smtputf8)
                                      : xtextDecode(o.encoded);
      if (!v || v->empty()) return syntax("Bad ORCPT value").error;
      o.address = std::move(*v);
      out.orcpt = std::move(o);
    }
  }
}

// --- verbs --------------------------------------------------------------------------------------

Unexpected<ParseError> addressError(AddressError e, bool sender) {
  switch (e) {
    case AddressError::Utf8NotAllowed:
      return fail(553, "5.6.7", "Must declare SMTPUTF8 to send UTF-8 address");
    case AddressError::LocalPartTooLong:
    case AddressError::DomainTooLong:
    case AddressError::PathTooLong:
      return fail(501, "5.1.3", describe(e));
    case AddressError::Syntax:
    case AddressError::NullNotAllowed:
      break;
  }
  return sender ? fail(501, "5.1.7", "Bad sender address syntax")
                : fail(501, "5.1.3", "Bad recipient address syntax");
}

// "FROM:" / "TO:" then at most one space, then the path; returns the rest after the path.
Result<std::string_view, ParseError> pathArgument(std::string_view args, std::string_view keyword,
                                                  std::string_view usage, bool sender,
                                                  const AddressOptions& ao, Path& path) {
  if (!istartsWith(args, keyword)) return syntax(usage);
  args.remove_prefix(keyword.size());
  if (!args.empty() && args[0] == ' ') args.remove_prefix(1);
  if (args.empty() || args[0] != '<') return syntax(usage);
  size_t used = 0;
  auto p = parsePath(args, used, ao);
  if (!p) return addressError(p.error(), sender);
  args.remove_prefix(used);
  if (!args.empty() && args[0] != ' ') return syntax(usage);
  path = std::move(*p);
  return args;
}

bool pathUsesUtf8(const Path& p) { return p.mailbox && p.mailbox->utf8; }

R parseHelo(std::string_view args, bool ehlo, bool lhlo, const ParserOptions& o) {
  std::string_view usage = lhlo ? "Syntax: LHLO hostname"
                           : ehlo ? "Syntax: EHLO hostname"
                                  : "Syntax: HELO hostname";
  std::string_view rest = args;
  std::string_view domain = nextToken(rest);
  if (domain.empty() || !allSpaces(rest)) return syntax(usage);
  auto kind = parseDomainOrLiteral(domain, true, o.lenientHeloDomain);
  if (!kind) return syntax("Invalid domain name");
  bool literal = *kind != DomainKind::Name;
  if (ehlo || lhlo) return Command{Ehlo{std::string(domain), literal, lhlo}};
  return Command{Helo{std::string(domain), literal}};
}

R parseMail(std::string_view args, const ParserOptions&) {
  AddressOptions ao;
  ao.allowUtf8 = true;  // checked against SMTPUTF8 below, once the parameters are known
  ao.allowNull = true;
  Mail m;
  auto rest = pathArgument(args, "FROM:", "Syntax: MAIL FROM:<address>", true, ao, m.reversePath);
  if (!rest) return unexpected(rest.error());
  if (auto e = parseMailParams(*rest, m.params)) return unexpected(*e);
  if (pathUsesUtf8(m.reversePath) && !m.params.smtputf8)
    return addressError(AddressError::Utf8NotAllowed, true);
  return Command{std::move(m)};
}

R parseRcpt(std::string_view args, const ParserOptions& o) {
  AddressOptions ao;
  ao.allowUtf8 = o.smtputf8;
  ao.allowPostmaster = true;
  Rcpt r;
  auto rest = pathArgument(args, "TO:", "Syntax: RCPT TO:<address>", false, ao, r.forwardPath);
  if (!rest) return unexpected(rest.error());
  if (auto e = parseRcptParams(*rest, o.smtputf8, r.params)) return unexpected(*e);
  return Command{std::move(r)};
}

R parseBdat(std::string_view args) {
  std::string_view rest = args;
  std::string_view size = nextToken(rest);
  std::string_view last = nextToken(rest);
  auto n = parseUnsigned(size);
  if (size.empty() || !n || !allSpaces(rest) || (!last.empty() && !iequals(last, "LAST")))
    return fail(501, "5.5.4", "Syntax: BDAT size [LAST]", true);
  return Command{Bdat{*n, !last.empty()}};
}

R parseAuth(std::string_view args) {
  std::string_view rest = args;
  std::string_view mech = nextToken(rest);
  std::string_view ir = nextToken(rest);
  if (mech.empty() || !allSpaces(rest)) return syntax("Syntax: AUTH mechanism [initial-response]");
  if (mech.size() > 20) return syntax("Bad mechanism name");
  for (char c : mech)  // RFC 4422 sasl-mech: upper case letters, digits, '-', '_'
    if (!isAlnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return syntax("Bad mechanism name");
  Auth a{asciiUppercase(mech), std::nullopt};
  if (!ir.empty()) {
    if (ir != "=" && !base64Decode(ir)) return fail(501, "5.5.2", "Cannot decode response");
    a.initialResponse = std::string(ir);
  }
  return Command{std::move(a)};
}

// Characters allowed anywhere in a command line: no controls, UTF-8 well-formed.
bool cleanLine(std::string_view line) {
  bool ascii = true;
  for (char ch : line) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return false;
    if (c >= 0x80) ascii = false;
  }
  return ascii || isValidUtf8(line);
}

}  // namespace

Result<Command, ParseError> parseCommand(std::string_view line, const ParserOptions& options) {
  if (!cleanLine(line)) return fail(500, "5.5.2", "Error: invalid characters in command");
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view args = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  bool hasArgs = !args.empty();

  auto noArgs = [&](Command c, std::string_view usage) -> R {
    if (hasArgs) return syntax(usage);
    return c;
  };

  if (iequals(verb, "EHLO")) return parseHelo(args, true, false, options);
  if (iequals(verb, "HELO")) return parseHelo(args, false, false, options);
  if (iequals(verb, "LHLO")) return parseHelo(args, false, true, options);
  if (iequals(verb, "MAIL")) return parseMail(args, options);
  if (iequals(verb, "RCPT")) return parseRcpt(args, options);
  if (iequals(verb, "DATA")) return noArgs(Data{}, "Syntax: DATA");
  if (iequals(verb, "BDAT")) return parseBdat(args);
  if (iequals(verb, "RSET")) return noArgs(Rset{}, "Syntax: RSET");
  if (iequals(verb, "NOOP")) return Command{Noop{}};  // "NOOP [ SP String ]": argument ignored
  if (iequals(verb, "QUIT")) return noArgs(Quit{}, "Syntax: QUIT");
  if (iequals(verb, "VRFY")) {
    if (allSpaces(args)) return syntax("Syntax: VRFY address");
    return Command{Vrfy{std::string(args)}};
  }
  if (iequals(verb, "HELP")) return Command{Help{std::string(args)}};
  if (iequals(verb, "STARTTLS")) return noArgs(StartTls{}, "Syntax: STARTTLS");
  if (iequals(verb, "AUTH")) return parseAuth(args);
  for (std::string_view refused : {"EXPN", "TURN", "ETRN", "ATRN", "SEND", "SOML", "SAML"})
    if (iequals(verb, refused)) return fail(502, "5.5.1", "Error: command not implemented");
  return fail(500, "5.5.2", "Error: command not recognized");
}

std::string_view verbOf(const Command& command) {
  struct V {
    std::string_view operator()(const Ehlo& e) const { return e.lhlo ? "LHLO" : "EHLO"; }
    std::string_view operator()(const Helo&) const { return "HELO"; }
    std::string_view operator()(const Mail&) const { return "MAIL"; }
    std::string_view operator()(const Rcpt&) const { return "RCPT"; }
    std::string_view operator()(const Data&) const { return "DATA"; }
    std::string_view operator()(const Bdat&) const { return "BDAT"; }
    std::string_view operator()(const Rset&) const { return "RSET"; }
    std::string_view operator()(const Noop&) const { return "NOOP"; }
    std::string_view operator()(const Quit&) const { return "QUIT"; }
    std::string_view operator()(const Vrfy&) const { return "VRFY"; }
    std::string_view operator()(const Help&) const { return "HELP"; }
    std::string_view operator()(const StartTls&) const { return "STARTTLS"; }
    std::string_view operator()(const Auth&) const { return "AUTH"; }
  };
  return std::visit(V{}, command);
}

}  // namespace tern::smtp
