// RFC 5321 Path/Mailbox parser (section 4.1.2 grammar, RFC 6531 UTF-8 extensions).
// Handles untrusted bytes: a single forward scan, every byte class-checked; length limits from
// RFC 5321 4.5.3.1 are enforced; address literals are fully validated (IPv4 octets, IPv6 groups).
#include "smtp/protocol/address.h"

#include "smtp/protocol/xtext.h"
#include "util/strings.h"

namespace tern::smtp {
namespace {

bool isAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isHex(unsigned char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 5322 atext (ASCII part).
bool isAtext(unsigned char c) {
  if (isAlpha(c) || isDigit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// qtextSMTP: %d32-33 / %d35-91 / %d93-126
bool isQtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

// Length of a valid UTF-8 sequence at s[i] (>= 2 bytes), or 0.
size_t utf8At(std::string_view s, size_t i) {
  // isValidUtf8 on growing prefixes would be quadratic; check the one sequence directly.
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  return isValidUtf8(s.substr(i, n)) ? n : 0;
}

bool isDotString(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '.') {
      if (s[i - 1] == '.') return false;
    } else if (c >= 0x80) {
      size_t n = utf8At(s, i);
      if (n == 0) return false;
      i += n - 1;
    } else if (!isAtext(c)) {
      return false;
    }
  }
  return true;
}

std::string quoteLocal(std::string_view content) {
  std::string out = "\"";
  for (char c : content) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool validIpv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && isDigit(static_cast<unsigned char>(s[i])) && i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

// Splits a side of an IPv6 address into groups; counts hex groups, notes a trailing IPv4.
bool ipv6Side(std::string_view side, bool mayEndInV4, int& groups, bool& v4) {
  if (side.empty()) return true;
  size_t pos = 0;
  while (true) {
    size_t colon = side.find(':', pos);
    std::string_view g = side.substr(pos, colon == std::string_view::npos ? side.npos : colon - pos);
    bool last = colon == std::string_view::npos;
    if (last && mayEndInV4 && g.find('.') != std::string_view::npos) {
      if (!validIpv4(g)) return false;
      v4 = true;
      return true;
    }
    if (g.empty() || g.size() > 4) return false;
    for (char c : g)
      if (!isHex(static_cast<unsigned char>(c))) return false;
    ++groups;
    if (last) return true;
    pos = colon + 1;
  }
}

// RFC 5321 IPv6-addr: IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp.
bool validIpv6(std::string_view s) {
  size_t dc = s.find("::");
  int groups = 0;
  bool v4 = false;
  if (dc == std::string_view::npos) {
    if (!ipv6Side(s, true, groups, v4)) return false;
    return v4 ? groups == 6 : groups == 8;
  }
  if (s.find("::", dc + 1) != std::string_view::npos) return false;
  std::string_view left = s.substr(0, dc), right = s.substr(dc + 2);
  if (!ipv6Side(left, right.empty(), groups, v4)) return false;
  if (v4) return false;  // "1.2.3.4::" is not an address
  if (!ipv6Side(right, true, groups, v4)) return false;
  return v4 ? groups <= 4 : groups <= 6;
}

class Scanner {
 public:
  Scanner(std::string_view s, const AddressOptions& o, bool allowUnderscore = false)
      : s_(s), opt_(o), underscore_(allowUnderscore) {}

  size_t pos() const { return pos_; }
  bool atEnd() const { return pos_ >= s_.size(); }
  char peek() const { return atEnd() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (peek() != c || atEnd()) return false;
    ++pos_;
    return true;
  }

  // Consumes one UTF-8 sequence at pos_ (first byte >= 0x80); error if invalid or not allowed.
  std::optional<AddressError> eatUtf8(bool& sawUtf8) {
    size_t n = utf8At(s_, pos_);
    if (n == 0) return AddressError::Syntax;
    if (!opt_.allowUtf8) return AddressError::Utf8NotAllowed;
    pos_ += n;
    sawUtf8 = true;
    return std::nullopt;
  }

  // Domain = sub-domain *("." sub-domain); stops at the first byte that cannot continue it.
  std::optional<AddressError> domain(bool& sawUtf8) {
    size_t start = pos_;
    while (true) {
      size_t labelStart = pos_;
      bool asciiOnly = true;
      char last = '\0';
      while (!atEnd()) {
        auto c = static_cast<unsigned char>(peek());
        if (isAlpha(c) || isDigit(c) || c == '-' || (underscore_ && c == '_')) {
          last = static_cast<char>(c);
          ++pos_;
        } else if (c >= 0x80) {
          if (auto e = eatUtf8(sawUtf8)) return e;
          asciiOnly = false;
          last = 'a';
        } else {
          break;
        }
      }
      size_t len = pos_ - labelStart;
      if (len == 0 || s_[labelStart] == '-' || last == '-') return AddressError::Syntax;
      if (asciiOnly && len > 63) return AddressError::DomainTooLong;
      if (!eat('.')) break;
    }
    if (pos_ - start > kMaxDomainLength) return AddressError::DomainTooLong;
    return std::nullopt;
  }

  // address-literal = "[" ( IPv4 / "IPv6:" IPv6 ) "]"; General-address-literal has no registered
  // tags besides IPv6, so it is refused.
  std::optional<AddressError> literal(DomainKind& kind) {
    size_t start = pos_;
    if (!eat('[')) return AddressError::Syntax;
    size_t close = s_.find(']', pos_);
    if (close == std::string_view::npos) return AddressError::Syntax;
    std::string_view inside = s_.substr(pos_, close - pos_);
    if (istartsWith(inside, "IPv6:")) {
      if (!validIpv6(inside.substr(5))) return AddressError::Syntax;
      kind = DomainKind::Ipv6;
    } else if (validIpv4(inside)) {
      kind = DomainKind::Ipv4;
    } else {
      return AddressError::Syntax;
    }
    pos_ = close + 1;
    if (pos_ - start > kMaxDomainLength) return AddressError::DomainTooLong;
    return std::nullopt;
  }

  std::optional<AddressError> domainOrLiteral(Mailbox& m) {
    size_t start = pos_;
    if (peek() == '[') {
      if (auto e = literal(m.domainKind)) return e;
      m.domain = std::string(s_.substr(start, pos_ - start));
      m.domainNormalised = asciiLowercase(m.domain);
      if (m.domainKind == DomainKind::Ipv6) m.domainNormalised.replace(1, 4, "IPv6");
      return std::nullopt;
    }
    m.domainKind = DomainKind::Name;
    if (auto e = domain(m.utf8)) return e;
    m.domain = std::string(s_.substr(start, pos_ - start));
    m.domainNormalised = asciiLowercase(m.domain);
    return std::nullopt;
  }

  // Local-part = Dot-string / Quoted-string
  std::optional<AddressError> localPart(Mailbox& m) {
    size_t start = pos_;
    if (eat('"')) {
      m.quoted = true;
      while (true) {
        if (atEnd()) return AddressError::Syntax;
        auto c = static_cast<unsigned char>(peek());
        if (c == '"') {
          ++pos_;
          break;
        }
        if (c == '\\') {
          ++pos_;
          auto q = static_cast<unsigned char>(peek());
          if (atEnd() || q < 32 || q > 126) return AddressError::Syntax;
          m.localContent += static_cast<char>(q);
          ++pos_;
        } else if (c >= 0x80) {
          size_t from = pos_;
          if (auto e = eatUtf8(m.utf8)) return e;
          m.localContent.append(s_.substr(from, pos_ - from));
        } else if (isQtext(c)) {
          m.localContent += static_cast<char>(c);
          ++pos_;
        } else {
          return AddressError::Syntax;
        }
      }
    } else {
      bool needAtom = true;
      while (!atEnd()) {
        auto c = static_cast<unsigned char>(peek());
        if (c == '.') {
          if (needAtom) return AddressError::Syntax;
          needAtom = true;
          ++pos_;
        } else if (isAtext(c)) {
          needAtom = false;
          ++pos_;
        } else if (c >= 0x80) {
          if (auto e = eatUtf8(m.utf8)) return e;
          needAtom = false;
        } else {
          break;
        }
      }
      if (needAtom) return AddressError::Syntax;  // empty, or ends with '.'
      m.localContent = std::string(s_.substr(start, pos_ - start));
    }
    m.localPart = std::string(s_.substr(start, pos_ - start));
    if (m.localPart.size() > kMaxLocalPartLength) return AddressError::LocalPartTooLong;
    m.localNormalised = isDotString(m.localContent) ? m.localContent : quoteLocal(m.localContent);
    m.hasPercent = m.localContent.find('%') != std::string::npos;
    m.hasBang = m.localContent.find('!') != std::string::npos;
    m.hasQuotedAt = m.quoted && m.localContent.find('@') != std::string::npos;
    return std::nullopt;
  }

  std::optional<AddressError> mailbox(Mailbox& m) {
    if (auto e = localPart(m)) return e;
    if (!eat('@')) return AddressError::Syntax;
    return domainOrLiteral(m);
  }

  // A-d-l ":" (only called when the path starts with '@')
  std::optional<AddressError> route() {
    bool ignored = false;
    do {
      if (!eat('@')) return AddressError::Syntax;
      if (peek() == '[') {
        DomainKind k;
        if (auto e = literal(k)) return e;
      } else if (auto e = domain(ignored)) {
        return e;
      }
    } while (eat(','));
    if (!eat(':')) return AddressError::Syntax;
    return std::nullopt;
  }

 private:
  std::string_view s_;
  AddressOptions opt_;
  bool underscore_;
  size_t pos_ = 0;
};

}  // namespace

Result<Path, AddressError> parsePath(std::string_view text, size_t& consumed,
                                     const AddressOptions& options) {
  consumed = 0;
  Scanner sc(text, options);
  if (!sc.eat('<')) return unexpected(AddressError::Syntax);
  Path path;
  if (sc.eat('>')) {
    if (!options.allowNull) return unexpected(AddressError::NullNotAllowed);
    consumed = sc.pos();
    return path;
  }
  if (sc.peek() == '@') {
    if (auto e = sc.route()) return unexpected(*e);
    path.sourceRoute = true;
  }
  Mailbox m;
  if (auto e = sc.localPart(m)) return unexpected(*e);
  if (sc.eat('>')) {
    // Only "<Postmaster>" may omit the domain (RFC 5321 4.1.1.3).
    if (!options.allowPostmaster || m.quoted || path.sourceRoute ||
        !iequals(m.localPart, "postmaster"))
      return unexpected(AddressError::Syntax);
    path.postmaster = true;
    consumed = sc.pos();
    return path;
  }
  if (!sc.eat('@')) return unexpected(AddressError::Syntax);
  if (auto e = sc.domainOrLiteral(m)) return unexpected(*e);
  if (!sc.eat('>')) return unexpected(AddressError::Syntax);
  if (sc.pos() > kMaxPathLength) return unexpected(AddressError::PathTooLong);
  path.mailbox = std::move(m);
  consumed = sc.pos();
  return path;
}

Result<Mailbox, AddressError> parseMailbox(std::string_view text, const AddressOptions& options) {
  Scanner sc(text, options);
  Mailbox m;
  if (auto e = sc.mailbox(m)) return unexpected(*e);
  if (!sc.atEnd()) return unexpected(AddressError::Syntax);
  if (text.size() > kMaxPathLength - 2) return unexpected(AddressError::PathTooLong);
  return m;
}

Result<DomainKind, AddressError> parseDomainOrLiteral(std::string_view text, bool allowUtf8,
                                                      bool allowUnderscore) {
  AddressOptions o;
  o.allowUtf8 = allowUtf8;
  Scanner sc(text, o, allowUnderscore);
  Mailbox m;
  if (auto e = sc.domainOrLiteral(m)) return unexpected(*e);
  if (!sc.atEnd()) return unexpected(AddressError::Syntax);
  return m.domainKind;
}

std::string_view describe(AddressError error) {
  switch (error) {
    case AddressError::Syntax: return "Bad address syntax";
    case AddressError::LocalPartTooLong: return "Local part too long";
    case AddressError::DomainTooLong: return "Domain too long";
    case AddressError::PathTooLong: return "Path too long";
    case AddressError::Utf8NotAllowed: return "Must declare SMTPUTF8 to send UTF-8 address";
    case AddressError::NullNotAllowed: return "Null address not allowed here";
  }
  return "Bad address";
}

}  // namespace tern::smtp
