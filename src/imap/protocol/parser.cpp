// Recursive-descent parser of one framed IMAP command (RFC 9051 / RFC 3501 plus the extensions in
// command.h) into a typed Command. Handles untrusted bytes: every read is bounds-checked, numbers are
// range-checked, search nesting and list lengths are bounded by ParserOptions; no exceptions.
#include "imap/protocol/parser.h"

#include <array>
#include <cstring>

#include "util/strings.h"

namespace tern::imap {

namespace {

constexpr uint64_t kMaxNumber = UINT32_MAX;           // number / nz-number
constexpr uint64_t kMaxNumber64 = INT64_MAX;          // number64, mod-sequence-value (63-bit)

bool isAtomChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}
bool isAstringChar(unsigned char c) { return isAtomChar(c) || c == ']'; }
bool isListChar(unsigned char c) { return isAstringChar(c) || c == '%' || c == '*'; }
bool isTagChar(unsigned char c) { return isAstringChar(c) && c != '+'; }
bool isDigit(int c) { return c >= '0' && c <= '9'; }
bool isAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string normaliseMailbox(std::string s) {
  if (iequals(s, "INBOX")) return "INBOX";
  return s;
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {  // proleptic Gregorian, 1970-01-01 = 0
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool validDate(int y, int m, int d) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  int max = kDays[static_cast<size_t>(m - 1)];
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
  return d <= max;
}

class Parser {
 public:
  Parser(std::string_view in, const ParserOptions& opt) : in_(in), opt_(opt) {}

  Result<Command, ParseError> parse() {
    Command cmd;
    size_t tagEnd = 0;
    while (tagEnd < in_.size() && isTagChar(static_cast<unsigned char>(in_[tagEnd]))) ++tagEnd;
    if (tagEnd == 0 || tagEnd >= in_.size() || (in_[tagEnd] != ' ' && in_[tagEnd] != '\r')) {
      return unexpected(ParseError{"*", "", "Missing or invalid tag"});
    }
    cmd.tag.assign(in_.data(), tagEnd);
    pos_ = tagEnd;
    if (!consume(' ')) return unexpected(ParseError{cmd.tag, "", "Missing command"});
    std::string_view verb = atom();
    if (verb.empty()) return unexpected(ParseError{cmd.tag, "", "Missing command"});
    bool known = true;
    bool ok = dispatch(verb, cmd.body, known);
    if (!known) return unexpected(ParseError{cmd.tag, "", "Unknown command"});
    if (ok) ok = end();
    if (!ok) {
      return unexpected(ParseError{std::move(cmd.tag), code_, err_ ? err_ : "Syntax error"});
    }
    return cmd;
  }

  Result<SequenceSet, ParseError> parseSetOnly() {
    SequenceSet s;
    if (!sequenceSet(s) || pos_ != in_.size()) {
      return unexpected(ParseError{"*", "", err_ ? err_ : "Invalid sequence set"});
    }
    return s;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  const ParserOptions& opt_;
  const char* err_ = nullptr;
  const char* code_ = "";
  size_t depth_ = 0;

  // --- primitives --------------------------------------------------------------------------------
  bool fail(const char* text, const char* code = "") {
    if (!err_) {
      err_ = text;
      code_ = code;
    }
    return false;
  }
  int peek(size_t ahead = 0) const {
    return pos_ + ahead < in_.size() ? static_cast<unsigned char>(in_[pos_ + ahead]) : -1;
  }
  bool consume(char c) {
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool expect(char c, const char* text) { return consume(c) || fail(text); }
  bool sp() { return consume(' ') || fail("Expected space"); }
  bool atCrlf() const { return pos_ + 1 < in_.size() && in_[pos_] == '\r' && in_[pos_ + 1] == '\n'; }
  bool end() {
    if (atCrlf() && pos_ + 2 == in_.size()) return true;
    return fail(atCrlf() ? "Unexpected data after command" : "Unexpected extra arguments");
  }
  template <class Pred>
  std::string_view take(Pred pred) {
    size_t start = pos_;
    while (pos_ < in_.size() && pred(static_cast<unsigned char>(in_[pos_]))) ++pos_;
    return in_.substr(start, pos_ - start);
  }
  std::string_view atom() { return take(isAtomChar); }
  // Letters, digits, '.' and '-': FETCH attribute names and other keywords followed by '[' or '('.
  std::string_view word() {
    return take([](unsigned char c) { return isAlpha(c) || isDigit(c) || c == '.' || c == '-'; });
  }
  // Case-insensitive keyword at the current position, followed by a non-atom char.
  bool peekKeyword(std::string_view kw) const {
    if (in_.size() - pos_ < kw.size() || !iequals(in_.substr(pos_, kw.size()), kw)) return false;
    size_t after = pos_ + kw.size();
    return after == in_.size() || !isAtomChar(static_cast<unsigned char>(in_[after]));
  }

  bool number(uint64_t max, bool nonZero, uint64_t& out) {
    size_t start = pos_;
    uint64_t v = 0;
    while (pos_ < in_.size() && isDigit(in_[pos_])) {
      unsigned d = static_cast<unsigned>(in_[pos_] - '0');
      if (v > (max - d) / 10) return fail("Number out of range");
      v = v * 10 + d;
      ++pos_;
    }
    if (pos_ == start) return fail("Expected number");
    if (nonZero && v == 0) return fail("Number must not be zero");
    out = v;
    return true;
  }
  bool number32(bool nonZero, uint32_t& out) {
    uint64_t v = 0;
    if (!number(kMaxNumber, nonZero, v)) return false;
    out = static_cast<uint32_t>(v);
    return true;
  }
  bool checkCount(size_t n) { return n < opt_.maxListItems || fail("Too many list items"); }

  // quoted = DQUOTE *QUOTED-CHAR DQUOTE; 8-bit allowed (UTF-8 in IMAP4rev2), CR/LF/NUL never.
  bool quoted(std::string& out) {
    if (!consume('"')) return fail("Expected quoted string");
    out.clear();
    size_t runStart = pos_;
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == '"') {
        out.append(in_.data() + runStart, pos_ - runStart);
        ++pos_;
        return true;
      }
      if (c == '\\') {
        out.append(in_.data() + runStart, pos_ - runStart);
        ++pos_;
        if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\\')) {
          return fail("Invalid escape in quoted string");
        }
        out += in_[pos_++];
        runStart = pos_;
        continue;
      }
      if (c == '\r' || c == '\n' || c == '\0') return fail("Invalid character in quoted string");
      ++pos_;
    }
    return fail("Unterminated quoted string");
  }

  // literal = "{" number64 ["+"] "}" CRLF *CHAR8; literal8 = "~{" ... (only where allowBinary).
  bool literal(std::string_view& out, bool allowBinary, bool* binary = nullptr) {
    bool isBinary = false;
    if (peek() == '~') {
      if (!allowBinary) return fail("Binary literal not allowed here");
      isBinary = true;
      ++pos_;
    }
    if (!consume('{')) return fail("Expected literal");
    uint64_t n = 0;
    if (!number(kMaxNumber64, false, n)) return false;
    consume('+');
    if (!consume('}') || !atCrlf()) return fail("Invalid literal");
    pos_ += 2;
    if (n > in_.size() - pos_) return fail("Truncated literal");
    out = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    if (!isBinary && std::memchr(out.data(), '\0', out.size()) != nullptr) {
      return fail("NUL in literal (use literal8)");
    }
    if (binary) *binary = isBinary;
    return true;
  }

  bool string(std::string& out) {
    if (peek() == '"') return quoted(out);
    if (peek() == '{') {
      std::string_view v;
      if (!literal(v, false)) return false;
      out.assign(v);
      return true;
    }
    return fail("Expected string");
  }
  bool astring(std::string& out) {
    int c = peek();
    if (c == '"' || c == '{') return string(out);
    std::string_view a = take(isAstringChar);
    if (a.empty()) return fail("Expected string");
    out.assign(a);
    return true;
  }
  bool nstring(std::optional<std::string>& out) {
    if (peekKeyword("NIL")) {
      pos_ += 3;
      out.reset();
      return true;
    }
    std::string s;
    if (!string(s)) return false;
    out = std::move(s);
    return true;
  }
  bool mailbox(std::string& out) {
    if (!astring(out)) return false;
    out = normaliseMailbox(std::move(out));
    return true;
  }
  // list-mailbox = 1*list-char / string
  bool listMailbox(std::string& out) {
    int c = peek();
    if (c == '"' || c == '{') return string(out);
    std::string_view a = take(isListChar);
    if (a.empty()) return fail("Expected mailbox pattern");
    out.assign(a);
    return true;
  }

  // flag = "\" atom / atom (keyword)
  bool flag(std::string& out) {
    size_t start = pos_;
    consume('\\');
    std::string_view a = atom();
    if (a.empty()) return fail("Invalid flag");
    out.assign(in_.data() + start, pos_ - start);
    return true;
  }
  bool flagList(std::vector<std::string>& out) {
    if (!expect('(', "Expected flag list")) return false;
    if (consume(')')) return true;
    while (true) {
      if (!checkCount(out.size())) return false;
      out.emplace_back();
      if (!flag(out.back())) return false;
      if (consume(')')) return true;
      if (!sp()) return false;
    }
  }
  // "(" atom *(SP atom) ")", uppercased; empty list allowed when allowEmpty.
  bool atomList(std::vector<std::string>& out, bool allowEmpty) {
    if (!expect('(', "Expected list")) return false;
    if (consume(')')) return allowEmpty || fail("Empty list");
    while (true) {
      if (!checkCount(out.size())) return false;
      std::string_view a = atom();
      if (a.empty()) return fail("Expected atom");
      out.push_back(asciiUppercase(a));
      if (consume(')')) return true;
      if (!sp()) return false;
    }
  }

  // seq-number = nz-number / "*"
  bool seqNumber(uint32_t& out) {
    if (consume('*')) {
      out = 0;
      return true;
    }
    return number32(true, out);
  }
  bool sequenceSet(SequenceSet& set) {
    set = SequenceSet{};
    if (consume('$')) {
      set.savedResult = true;
      return true;
    }
    while (true) {
      if (!checkCount(set.ranges.size())) return false;
      SeqRange r;
      if (!seqNumber(r.first)) return fail("Invalid sequence set");
      r.last = r.first;
      if (consume(':') && !seqNumber(r.last)) return fail("Invalid sequence set");
      set.ranges.push_back(r);
      if (!consume(',')) return true;
    }
  }

  // date = date-text / DQUOTE date-text DQUOTE; date-text = 1*2DIGIT "-" Mon "-" 4DIGIT
  bool month(int& m) {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (in_.size() - pos_ < 3) return fail("Invalid date");
    std::string_view s = in_.substr(pos_, 3);
    for (int i = 0; i < 12; ++i) {
      if (iequals(s, kMonths[i])) {
        m = i + 1;
        pos_ += 3;
        return true;
      }
    }
    return fail("Invalid date");
  }
  bool fixedDigits(size_t n, int& out) {
    if (in_.size() - pos_ < n) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!isDigit(in_[pos_ + i])) return false;
      v = v * 10 + (in_[pos_ + i] - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  bool date(Date& d) {
    bool q = consume('"');
    int day = 0;
    if (!isDigit(peek())) return fail("Invalid date");
    day = peek() - '0';
    ++pos_;
    if (isDigit(peek())) {
      day = day * 10 + (peek() - '0');
      ++pos_;
    }
    if (!consume('-') || !month(d.month) || !consume('-') || !fixedDigits(4, d.year)) {
      return fail("Invalid date");
    }
    d.day = day;
    if (!validDate(d.year, d.month, d.day)) return fail("Invalid date");
    if (q && !consume('"')) return fail("Invalid date");
    return true;
  }
  // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
  bool dateTime(DateTime& dt) {
    if (!consume('"')) return fail("Invalid date-time");
    int day = 0, mon = 0, year = 0, hh = 0, mm = 0, ss = 0, zone = 0;
    // date-day-fixed is (SP DIGIT) / 2DIGIT; a lone digit is accepted too, as other servers do.
    consume(' ');
    if (!fixedDigits(1, day)) return fail("Invalid date-time");
    if (isDigit(peek())) day = day * 10 + (in_[pos_++] - '0');
    if (!consume('-') || !month(mon) || !consume('-') || !fixedDigits(4, year) || !consume(' ') ||
        !fixedDigits(2, hh) || !consume(':') || !fixedDigits(2, mm) || !consume(':') ||
        !fixedDigits(2, ss) || !consume(' ')) {
      return fail("Invalid date-time");
    }
    int sign = 0;
    if (consume('+')) sign = 1;
    else if (consume('-')) sign = -1;
    if (sign == 0 || !fixedDigits(4, zone) || !consume('"')) return fail("Invalid date-time");
    if (!validDate(year, mon, day) || hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59) {
      return fail("Invalid date-time");
    }
    int32_t offset = sign * ((zone / 100) * 60 + zone % 100);
    int64_t local = daysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
                    hh * 3600 + mm * 60 + ss;
    dt.unixSeconds = local - int64_t{offset} * 60;
    dt.tzOffsetMinutes = offset;
    return true;
  }

  // --- commands ----------------------------------------------------------------------------------
  bool dispatch(std::string_view verb, CommandBody& body, bool& known) {
    known = true;
    switch (verb.size()) {
      case 2:
        if (iequals(verb, "ID")) return id(body);
        break;
      case 3:
        if (iequals(verb, "UID")) return uid(body, known);
        break;
      case 4:
        if (iequals(verb, "NOOP")) return (body = Noop{}, true);
        if (iequals(verb, "LIST")) return list(body, false);
        if (iequals(verb, "LSUB")) return list(body, true);
        if (iequals(verb, "IDLE")) return (body = Idle{}, true);
        if (iequals(verb, "COPY")) return copy(body, false, false);
        if (iequals(verb, "MOVE")) return copy(body, false, true);
        if (iequals(verb, "SORT")) return sort(body, false);
        break;
      case 5:
        if (iequals(verb, "LOGIN")) return login(body);
        if (iequals(verb, "CHECK")) return (body = Check{}, true);
        if (iequals(verb, "CLOSE")) return (body = Close{}, true);
        if (iequals(verb, "STORE")) return store(body, false);
        if (iequals(verb, "FETCH")) return fetch(body, false);
        break;
      case 6:
        if (iequals(verb, "LOGOUT")) return (body = Logout{}, true);
        if (iequals(verb, "ENABLE")) return enable(body);
        if (iequals(verb, "SELECT")) return select(body, false);
        if (iequals(verb, "CREATE")) return create(body);
        if (iequals(verb, "DELETE")) return mailboxOnly<Delete>(body);
        if (iequals(verb, "RENAME")) return rename(body);
        if (iequals(verb, "STATUS")) return status(body);
        if (iequals(verb, "APPEND")) return append(body);
        if (iequals(verb, "SEARCH")) return search(body, false);
        if (iequals(verb, "THREAD")) return thread(body, false);
        break;
      case 7:
        if (iequals(verb, "EXAMINE")) return select(body, true);
        if (iequals(verb, "EXPUNGE")) return (body = Expunge{}, true);
        break;
      case 8:
        if (iequals(verb, "STARTTLS")) return (body = StartTls{}, true);
        if (iequals(verb, "UNSELECT")) return (body = Unselect{}, true);
        break;
      case 9:
        if (iequals(verb, "NAMESPACE")) return (body = Namespace{}, true);
        if (iequals(verb, "SUBSCRIBE")) return subscribe(body, true);
        break;
      case 10:
        if (iequals(verb, "CAPABILITY")) return (body = Capability{}, true);
        break;
      case 11:
        if (iequals(verb, "UNSUBSCRIBE")) return subscribe(body, false);
        break;
      case 12:
        if (iequals(verb, "AUTHENTICATE")) return authenticate(body);
        break;
      default:
        break;
    }
    known = false;
    return false;
  }

  bool uid(CommandBody& body, bool& known) {
    if (!consume(' ')) {
      known = false;
      return false;
    }
    std::string_view verb = atom();
    if (iequals(verb, "FETCH")) return fetch(body, true);
    if (iequals(verb, "SEARCH")) return search(body, true);
    if (iequals(verb, "SORT")) return sort(body, true);
    if (iequals(verb, "THREAD")) return thread(body, true);
    if (iequals(verb, "STORE")) return store(body, true);
    if (iequals(verb, "COPY")) return copy(body, true, false);
    if (iequals(verb, "MOVE")) return copy(body, true, true);
    if (iequals(verb, "EXPUNGE")) {
      Expunge e;
      e.uids.emplace();
      if (!sp() || !sequenceSet(*e.uids)) return false;
      body = std::move(e);
      return true;
    }
    known = false;
    return false;
  }

  bool authenticate(CommandBody& body) {
    Authenticate a;
    if (!sp()) return false;
    std::string_view mech = atom();
    if (mech.empty()) return fail("Expected mechanism");
    a.mechanism = asciiUppercase(mech);
    if (consume(' ')) {
      std::string_view ir = take([](unsigned char c) {
        return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '=';
      });
      if (ir.empty()) return fail("Invalid initial response");
      a.initialResponse.emplace(ir);
    }
    body = std::move(a);
    return true;
  }

  bool login(CommandBody& body) {
    Login l;
    if (!sp() || !astring(l.user) || !sp() || !astring(l.password)) return false;
    body = std::move(l);
    return true;
  }

  bool enable(CommandBody& body) {
    Enable e;
    do {
      if (!sp()) return false;
      if (!checkCount(e.capabilities.size())) return false;
      std::string_view a = atom();
      if (a.empty()) return fail("Expected capability");
      e.capabilities.push_back(asciiUppercase(a));
    } while (peek() == ' ');
    body = std::move(e);
    return true;
  }

  bool id(CommandBody& body) {
    Id i;
    if (!sp()) return false;
    if (peekKeyword("NIL")) {
      pos_ += 3;
      body = std::move(i);
      return true;
    }
    if (!expect('(', "Expected ID parameter list")) return false;
    if (!consume(')')) {
      while (true) {
        if (!checkCount(i.fields.size())) return false;
        std::string key;
        std::optional<std::string> value;
        if (!string(key) || !sp() || !nstring(value)) return false;
        i.fields.emplace_back(std::move(key), std::move(value));
        if (consume(')')) break;
        if (!sp()) return false;
      }
    }
    body = std::move(i);
    return true;
  }

  bool qresyncParams(QResyncParams& q) {
    // "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
    if (!expect('(', "Expected QRESYNC parameters") || !number32(true, q.uidValidity) || !sp() ||
        !number(kMaxNumber64, true, q.modSeq)) {
      return false;
    }
    if (consume(' ')) {
      if (peek() != '(') {
        q.knownUids.emplace();
        if (!sequenceSet(*q.knownUids)) return false;
        if (!consume(' ')) return expect(')', "Expected ')'");
      }
      q.knownSequenceSet.emplace();
      q.knownUidSet.emplace();
      if (!expect('(', "Expected '('") || !sequenceSet(*q.knownSequenceSet) || !sp() ||
          !sequenceSet(*q.knownUidSet) || !expect(')', "Expected ')'")) {
        return false;
      }
    }
    return expect(')', "Expected ')'");
  }

  bool select(CommandBody& body, bool readOnly) {
    Select s;
    s.readOnly = readOnly;
    if (!sp() || !mailbox(s.mailbox)) return false;
    if (consume(' ')) {
      if (!expect('(', "Expected select parameters")) return false;
      if (!consume(')')) {
        while (true) {
          std::string_view p = atom();
          if (iequals(p, "CONDSTORE")) {
            s.condstore = true;
          } else if (iequals(p, "QRESYNC") && !s.qresync) {
            s.qresync.emplace();
            if (!sp() || !qresyncParams(*s.qresync)) return false;
          } else {
            return fail("Unknown select parameter");
          }
          if (consume(')')) break;
          if (!sp()) return false;
        }
      }
    }
    body = std::move(s);
    return true;
  }

  bool create(CommandBody& body) {
    Create c;
    if (!sp() || !mailbox(c.mailbox)) return false;
    if (consume(' ')) {
      if (!expect('(', "Expected create parameters")) return false;
      while (true) {
        std::string_view p = atom();
        if (!iequals(p, "USE")) return fail("Unknown create parameter");
        if (!sp() || !flagList(c.specialUse)) return false;
        if (consume(')')) break;
        if (!sp()) return false;
      }
    }
    body = std::move(c);
    return true;
  }

  template <class T>
  bool mailboxOnly(CommandBody& body) {
    T t;
    if (!sp() || !mailbox(t.mailbox)) return false;
    body = std::move(t);
    return true;
  }

  bool rename(CommandBody& body) {
    Rename r;
    if (!sp() || !mailbox(r.from) || !sp() || !mailbox(r.to)) return false;
    body = std::move(r);
    return true;
  }

  bool subscribe(CommandBody& body, bool on) {
    Subscribe s;
    s.subscribe = on;
    if (!sp() || !mailbox(s.mailbox)) return false;
    body = std::move(s);
    return true;
  }

  bool statusAtts(std::vector<std::string>& items) {
    static constexpr std::string_view kItems[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
                                                  "DELETED",  "SIZE",    "RECENT",      "HIGHESTMODSEQ"};
    if (!atomList(items, false)) return false;
    for (const auto& it : items) {
      bool ok = false;
      for (auto k : kItems) ok = ok || it == k;
      if (!ok) return fail("Unknown status item");
    }
    return true;
  }

  bool list(CommandBody& body, bool lsub) {
    List l;
    l.lsub = lsub;
    if (!sp()) return false;
    if (!lsub && peek() == '(') {
      if (!atomList(l.selectionOptions, true)) return false;
      bool base = false, recursive = false;
      for (const auto& o : l.selectionOptions) {
        if (o == "SUBSCRIBED") base = true;
        else if (o == "RECURSIVEMATCH") recursive = true;
        else if (o != "REMOTE" && o != "SPECIAL-USE") return fail("Unknown selection option");
      }
      if (recursive && !base) return fail("RECURSIVEMATCH needs a base option");
      if (!sp()) return false;
    }
    if (!astring(l.reference) || !sp()) return false;
    if (!lsub && peek() == '(') {
      ++pos_;
      while (true) {
        if (!checkCount(l.patterns.size())) return false;
        l.patterns.emplace_back();
        if (!listMailbox(l.patterns.back())) return false;
        if (consume(')')) break;
        if (!sp()) return false;
      }
    } else {
      l.patterns.emplace_back();
      if (!listMailbox(l.patterns.back())) return false;
    }
    if (!lsub && consume(' ')) {
      if (!peekKeyword("RETURN")) return fail("Expected RETURN");
      pos_ += 6;
      if (!sp() || !expect('(', "Expected return options")) return false;
      if (!consume(')')) {
        while (true) {
          if (!checkCount(l.returnOptions.size())) return false;
          std::string opt = asciiUppercase(atom());
          if (opt == "STATUS") {
            if (!sp() || !statusAtts(l.returnStatus)) return false;
          } else if (opt != "SUBSCRIBED" && opt != "CHILDREN" && opt != "SPECIAL-USE") {
            return fail("Unknown return option");
          }
          l.returnOptions.push_back(std::move(opt));
          if (consume(')')) break;
          if (!sp()) return false;
        }
      }
    }
    body = std::move(l);
    return true;
  }

  bool status(CommandBody& body) {
    Status s;
    if (!sp() || !mailbox(s.mailbox) || !sp() || !statusAtts(s.items)) return false;
    body = std::move(s);
    return true;
  }

  bool append(CommandBody& body) {
    Append a;
    if (!sp() || !mailbox(a.mailbox)) return false;
    do {
      if (!sp()) return false;
      if (!checkCount(a.messages.size())) return false;
      AppendMessage m;
      if (peek() == '(') {
        if (!flagList(m.flags) || !sp()) return false;
      }
      if (peek() == '"') {
        m.internalDate.emplace();
        if (!dateTime(*m.internalDate) || !sp()) return false;
      }
      std::string_view data;
      if (peekKeyword("UTF8")) {
        // RFC 6855 3.4 (UTF8=ACCEPT): append-data = "UTF8" SP "(" literal8 ")"
        pos_ += 4;
        if (!sp() || !expect('(', "Expected '('") || !literal(data, true, &m.binaryLiteral) ||
            !expect(')', "Expected ')'"))
          return false;
      } else if (!literal(data, true, &m.binaryLiteral)) {
        return false;
      }
      m.message.assign(data);
      a.messages.push_back(std::move(m));
    } while (peek() == ' ');
    body = std::move(a);
    return true;
  }

  bool copy(CommandBody& body, bool isUid, bool move) {
    Copy c;
    c.uid = isUid;
    c.move = move;
    if (!sp() || !sequenceSet(c.set) || !sp() || !mailbox(c.mailbox)) return false;
    body = std::move(c);
    return true;
  }

  bool store(CommandBody& body, bool isUid) {
    Store s;
    s.uid = isUid;
    if (!sp() || !sequenceSet(s.set) || !sp()) return false;
    if (consume('(')) {
      if (!peekKeyword("UNCHANGEDSINCE")) return fail("Unknown store modifier");
      pos_ += 14;
      uint64_t v = 0;
      if (!sp() || !number(kMaxNumber64, false, v) || !expect(')', "Expected ')'") || !sp()) return false;
      s.unchangedSince = v;
    }
    if (consume('+')) s.op = Store::Op::Add;
    else if (consume('-')) s.op = Store::Op::Remove;
    std::string_view item = atom();
    if (iequals(item, "FLAGS.SILENT")) s.silent = true;
    else if (!iequals(item, "FLAGS")) return fail("Expected FLAGS");
    if (!sp()) return false;
    if (peek() == '(') {
      if (!flagList(s.flags)) return false;
    } else {
      do {
        if (!checkCount(s.flags.size())) return false;
        s.flags.emplace_back();
        if (!flag(s.flags.back())) return false;
      } while (consume(' '));
    }
    body = std::move(s);
    return true;
  }

  // section-part = nz-number *("." nz-number), leaving a "." before section-text unconsumed.
  bool sectionPart(std::vector<uint32_t>& part) {
    while (true) {
      if (!checkCount(part.size())) return false;
      uint32_t n = 0;
      if (!number32(true, n)) return false;
      part.push_back(n);
      if (peek() == '.' && isDigit(peek(1))) {
        ++pos_;
        continue;
      }
      return true;
    }
  }
  bool section(Section& s) {
    if (!expect('[', "Expected '['")) return false;
    if (consume(']')) return true;
    if (isDigit(peek())) {
      if (!sectionPart(s.part)) return false;
      if (consume(']')) return true;
      if (!expect('.', "Invalid section")) return false;
    }
    std::string_view t = word();
    if (iequals(t, "HEADER")) {
      s.text = Section::Text::Header;
    } else if (iequals(t, "TEXT")) {
      s.text = Section::Text::Text;
    } else if (iequals(t, "MIME") && !s.part.empty()) {
      s.text = Section::Text::Mime;
    } else if (iequals(t, "HEADER.FIELDS") || iequals(t, "HEADER.FIELDS.NOT")) {
      s.text = t.size() == 13 ? Section::Text::HeaderFields : Section::Text::HeaderFieldsNot;
      if (!sp() || !expect('(', "Expected header list")) return false;
      while (true) {
        if (!checkCount(s.fields.size())) return false;
        s.fields.emplace_back();
        if (!astring(s.fields.back())) return false;
        if (consume(')')) break;
        if (!sp()) return false;
      }
    } else {
      return fail("Invalid section");
    }
    return expect(']', "Expected ']'");
  }
  bool binarySection(Section& s) {
    if (!expect('[', "Expected '['")) return false;
    if (consume(']')) return true;
    if (!sectionPart(s.part)) return false;
    return expect(']', "Expected ']'");
  }
  bool partial(std::optional<Partial>& p) {
    if (!consume('<')) return true;
    Partial v;
    if (!number(kMaxNumber64, false, v.offset) || !expect('.', "Invalid partial") ||
        !number(kMaxNumber64, true, v.length) || !expect('>', "Invalid partial")) {
      return false;
    }
    p = v;
    return true;
  }

  bool fetchAtt(std::vector<FetchAtt>& atts) {
    using K = FetchAtt::Kind;
    if (!checkCount(atts.size())) return false;
    std::string_view w = word();
    FetchAtt a;
    auto simple = [&](K k) {
      a.kind = k;
      atts.push_back(std::move(a));
      return true;
    };
    if (iequals(w, "ENVELOPE")) return simple(K::Envelope);
    if (iequals(w, "FLAGS")) return simple(K::Flags);
    if (iequals(w, "INTERNALDATE")) return simple(K::InternalDate);
    if (iequals(w, "RFC822")) return simple(K::Rfc822);
    if (iequals(w, "RFC822.HEADER")) return simple(K::Rfc822Header);
    if (iequals(w, "RFC822.SIZE")) return simple(K::Rfc822Size);
    if (iequals(w, "RFC822.TEXT")) return simple(K::Rfc822Text);
    if (iequals(w, "BODYSTRUCTURE")) return simple(K::BodyStructure);
    if (iequals(w, "UID")) return simple(K::Uid);
    if (iequals(w, "MODSEQ")) return simple(K::ModSeq);
    if (iequals(w, "SAVEDATE")) return simple(K::SaveDate);
    if (iequals(w, "PREVIEW")) {
      // PREVIEW [SP "(" "LAZY" *(SP "LAZY") ")"] (RFC 8970); LAZY only changes timing, so ignored.
      if (peek() == ' ' && peek(1) == '(' && in_.size() - pos_ >= 6 && iequals(in_.substr(pos_ + 2, 4), "LAZY")) {
        pos_ += 2;
        while (true) {
          if (!peekKeyword("LAZY")) return fail("Unknown preview modifier");
          pos_ += 4;
          if (consume(')')) break;
          if (!sp()) return false;
        }
      }
      return simple(K::Preview);
    }
    if (iequals(w, "BODY") || iequals(w, "BODY.PEEK")) {
      if (peek() != '[') {
        if (w.size() != 4) return fail("Expected section");
        return simple(K::Body);
      }
      a.kind = K::BodySection;
      a.peek = w.size() != 4;
      if (!section(a.section) || !partial(a.partial)) return false;
      atts.push_back(std::move(a));
      return true;
    }
    if (iequals(w, "BINARY") || iequals(w, "BINARY.PEEK") || iequals(w, "BINARY.SIZE")) {
      bool size = iequals(w, "BINARY.SIZE");
      a.kind = size ? K::BinarySize : K::Binary;
      a.peek = iequals(w, "BINARY.PEEK");
      if (!binarySection(a.section)) return false;
      if (!size && !partial(a.partial)) return false;
      atts.push_back(std::move(a));
      return true;
    }
    return fail("Unknown FETCH attribute");
  }

  bool fetch(CommandBody& body, bool isUid) {
    using K = FetchAtt::Kind;
    Fetch f;
    f.uid = isUid;
    if (!sp() || !sequenceSet(f.set) || !sp()) return false;
    if (consume('(')) {
      while (true) {
        if (!fetchAtt(f.atts)) return false;
        if (consume(')')) break;
        if (!sp()) return false;
      }
    } else if (peekKeyword("ALL") || peekKeyword("FAST") || peekKeyword("FULL")) {
      std::string_view m = atom();
      for (K k : {K::Flags, K::InternalDate, K::Rfc822Size}) f.atts.push_back(FetchAtt{k});
      if (!iequals(m, "FAST")) f.atts.push_back(FetchAtt{K::Envelope});
      if (iequals(m, "FULL")) f.atts.push_back(FetchAtt{K::Body});
    } else if (!fetchAtt(f.atts)) {
      return false;
    }
    if (consume(' ')) {
      if (!expect('(', "Expected FETCH modifiers")) return false;
      while (true) {
        if (peekKeyword("CHANGEDSINCE") && !f.changedSince) {
          pos_ += 12;
          uint64_t v = 0;
          if (!sp() || !number(kMaxNumber64, true, v)) return false;
          f.changedSince = v;
        } else if (peekKeyword("VANISHED") && !f.vanished) {
          pos_ += 8;
          f.vanished = true;
        } else {
          return fail("Unknown FETCH modifier");
        }
        if (consume(')')) break;
        if (!sp()) return false;
      }
      // RFC 7162 3.6: VANISHED only in UID FETCH and only together with CHANGEDSINCE.
      if (f.vanished && (!f.uid || !f.changedSince)) {
        return fail("VANISHED needs UID FETCH and CHANGEDSINCE", "CLIENTBUG");
      }
    }
    body = std::move(f);
    return true;
  }

  bool searchText(SearchKey& k, SearchKey::Kind kind) {
    k.kind = kind;
    return sp() && astring(k.text);
  }
  bool searchDate(SearchKey& k, SearchKey::Kind kind) {
    k.kind = kind;
    return sp() && date(k.date);
  }
  bool searchKeyword(SearchKey& k, SearchKey::Kind kind) {
    k.kind = kind;
    if (!sp()) return false;
    std::string_view a = atom();
    if (a.empty()) return fail("Expected keyword");
    k.text.assign(a);
    return true;
  }

  bool searchKey(SearchKey& k) {
    using K = SearchKey::Kind;
    int c = peek();
    if (c == '(') {
      if (++depth_ > opt_.maxSearchDepth) return fail("Search nesting too deep");
      ++pos_;
      k.kind = K::And;
      while (true) {
        if (!checkCount(k.children.size())) return false;
        k.children.emplace_back();
        if (!searchKey(k.children.back())) return false;
        if (consume(')')) break;
        if (!sp()) return false;
      }
      --depth_;
      return true;
    }
    if (isDigit(c) || c == '*' || c == '$') {
      k.kind = K::SequenceSet;
      return sequenceSet(k.set);
    }
    std::string_view w = take([](unsigned char ch) { return isAlpha(ch); });
    switch (w.size()) {
      case 2:
        if (iequals(w, "ON")) return searchDate(k, K::On);
        if (iequals(w, "OR")) {
          if (++depth_ > opt_.maxSearchDepth) return fail("Search nesting too deep");
          k.kind = K::Or;
          k.children.resize(2);
          if (!sp() || !searchKey(k.children[0]) || !sp() || !searchKey(k.children[1])) return false;
          --depth_;
          return true;
        }
        if (iequals(w, "TO")) return searchText(k, K::To);
        if (iequals(w, "CC")) return searchText(k, K::Cc);
        break;
      case 3:
        if (iequals(w, "ALL")) return (k.kind = K::All, true);
        if (iequals(w, "NEW")) return (k.kind = K::New, true);
        if (iequals(w, "OLD")) return (k.kind = K::Old, true);
        if (iequals(w, "BCC")) return searchText(k, K::Bcc);
        if (iequals(w, "UID")) {
          k.kind = K::Uid;
          return sp() && sequenceSet(k.set);
        }
        if (iequals(w, "NOT")) {
          if (++depth_ > opt_.maxSearchDepth) return fail("Search nesting too deep");
          k.kind = K::Not;
          k.children.resize(1);
          if (!sp() || !searchKey(k.children[0])) return false;
          --depth_;
          return true;
        }
        break;
      case 4:
        if (iequals(w, "SEEN")) return (k.kind = K::Seen, true);
        if (iequals(w, "BODY")) return searchText(k, K::Body);
        if (iequals(w, "FROM")) return searchText(k, K::From);
        if (iequals(w, "TEXT")) return searchText(k, K::Text);
        break;
      case 5:
        if (iequals(w, "DRAFT")) return (k.kind = K::Draft, true);
        if (iequals(w, "SINCE")) return searchDate(k, K::Since);
        if (iequals(w, "OLDER")) {
          k.kind = K::Older;
          return sp() && number(kMaxNumber, true, k.number);
        }
        break;
      case 6:
        if (iequals(w, "RECENT")) return (k.kind = K::Recent, true);
        if (iequals(w, "UNSEEN")) return (k.kind = K::Unseen, true);
        if (iequals(w, "BEFORE")) return searchDate(k, K::Before);
        if (iequals(w, "SENTON")) return searchDate(k, K::SentOn);
        if (iequals(w, "HEADER")) {
          k.kind = K::Header;
          return sp() && astring(k.field) && sp() && astring(k.text);
        }
        if (iequals(w, "LARGER") || iequals(w, "MODSEQ")) {
          k.kind = iequals(w, "LARGER") ? K::Larger : K::ModSeq;
          if (!sp()) return false;
          if (k.kind == K::ModSeq && peek() == '"') {
            // [entry-name SP entry-type-req]: per-flag modseqs are not kept apart; accepted, ignored.
            std::string entry;
            if (!quoted(entry) || !sp()) return false;
            std::string_view type = atom();
            if (!iequals(type, "priv") && !iequals(type, "shared") && !iequals(type, "all")) {
              return fail("Invalid MODSEQ entry type");
            }
            if (!sp()) return false;
          }
          return number(kMaxNumber64, false, k.number);
        }
        break;
      case 7:
        if (iequals(w, "DELETED")) return (k.kind = K::Deleted, true);
        if (iequals(w, "FLAGGED")) return (k.kind = K::Flagged, true);
        if (iequals(w, "KEYWORD")) return searchKeyword(k, K::Keyword);
        if (iequals(w, "SUBJECT")) return searchText(k, K::Subject);
        if (iequals(w, "SMALLER")) {
          k.kind = K::Smaller;
          return sp() && number(kMaxNumber64, false, k.number);
        }
        if (iequals(w, "UNDRAFT")) return (k.kind = K::Undraft, true);
        if (iequals(w, "YOUNGER")) {
          k.kind = K::Younger;
          return sp() && number(kMaxNumber, true, k.number);
        }
        break;
      case 8:
        if (iequals(w, "ANSWERED")) return (k.kind = K::Answered, true);
        break;
      case 9:
        if (iequals(w, "UNDELETED")) return (k.kind = K::Undeleted, true);
        if (iequals(w, "UNFLAGGED")) return (k.kind = K::Unflagged, true);
        if (iequals(w, "UNKEYWORD")) return searchKeyword(k, K::Unkeyword);
        if (iequals(w, "SENTSINCE")) return searchDate(k, K::SentSince);
        break;
      case 10:
        if (iequals(w, "UNANSWERED")) return (k.kind = K::Unanswered, true);
        if (iequals(w, "SENTBEFORE")) return searchDate(k, K::SentBefore);
        break;
      default:
        break;
    }
    return fail("Unknown search key");
  }

  bool search(CommandBody& body, bool isUid) {
    Search s;
    s.uid = isUid;
    s.key.kind = SearchKey::Kind::And;
    if (!sp()) return false;
    if (peekKeyword("RETURN")) {
      pos_ += 6;
      s.esearch = true;
      if (!sp() || !atomList(s.returnOptions, true) || !sp()) return false;
      for (const auto& o : s.returnOptions) {
        if (o != "MIN" && o != "MAX" && o != "ALL" && o != "COUNT" && o != "SAVE") {
          return fail("Unknown search return option");
        }
      }
    }
    if (peekKeyword("CHARSET")) {
      pos_ += 7;
      if (!sp()) return false;
      std::string cs;
      if (peek() == '"') {
        if (!quoted(cs)) return false;
      } else {
        std::string_view a = atom();
        if (a.empty()) return fail("Expected charset");
        cs.assign(a);
      }
      s.charset = std::move(cs);
      if (!sp()) return false;
    }
    if (!searchKeys(s.key)) return false;
    body = std::move(s);
    return true;
  }

  // One or more search keys separated by SP, as children of an And key.
  bool searchKeys(SearchKey& and_) {
    while (true) {
      if (!checkCount(and_.children.size())) return false;
      and_.children.emplace_back();
      if (!searchKey(and_.children.back())) return false;
      if (!consume(' ')) return true;
    }
  }

  // charset = atom / quoted (mandatory in SORT and THREAD)
  bool charset(std::string& out) {
    if (peek() == '"') return quoted(out);
    std::string_view a = atom();
    if (a.empty()) return fail("Expected charset");
    out.assign(a);
    return true;
  }

  // sort = ["UID" SP] "SORT" [SP "RETURN" SP (options)] SP sort-criteria SP charset SP search-key
  bool sort(CommandBody& body, bool isUid) {
    using K = SortCriterion::Key;
    Sort s;
    s.uid = isUid;
    s.key.kind = SearchKey::Kind::And;
    if (!sp()) return false;
    if (peekKeyword("RETURN")) {
      pos_ += 6;
      s.esearch = true;
      if (!sp() || !atomList(s.returnOptions, true) || !sp()) return false;
      for (const auto& o : s.returnOptions) {
        if (o != "MIN" && o != "MAX" && o != "ALL" && o != "COUNT" && o != "SAVE") {
          return fail("Unknown sort return option");
        }
      }
    }
    if (!expect('(', "Expected sort criteria")) return false;
    while (true) {
      if (!checkCount(s.criteria.size())) return false;
      SortCriterion c;
      std::string_view w = atom();
      if (iequals(w, "REVERSE")) {
        c.reverse = true;
        if (!sp()) return false;
        w = atom();
      }
      if (iequals(w, "ARRIVAL")) c.key = K::Arrival;
      else if (iequals(w, "CC")) c.key = K::Cc;
      else if (iequals(w, "DATE")) c.key = K::Date;
      else if (iequals(w, "FROM")) c.key = K::From;
      else if (iequals(w, "SIZE")) c.key = K::Size;
      else if (iequals(w, "SUBJECT")) c.key = K::Subject;
      else if (iequals(w, "TO")) c.key = K::To;
      else if (iequals(w, "DISPLAYFROM")) c.key = K::DisplayFrom;
      else if (iequals(w, "DISPLAYTO")) c.key = K::DisplayTo;
      else return fail("Unknown sort criterion");
      s.criteria.push_back(c);
      if (consume(')')) break;
      if (!sp()) return false;
    }
    if (!sp() || !charset(s.charset) || !sp() || !searchKeys(s.key)) return false;
    body = std::move(s);
    return true;
  }

  // thread = ["UID" SP] "THREAD" SP thread-alg SP search-charset 1*(SP search-key)
  bool thread(CommandBody& body, bool isUid) {
    Thread t;
    t.uid = isUid;
    t.key.kind = SearchKey::Kind::And;
    if (!sp()) return false;
    std::string_view alg = atom();
    if (iequals(alg, "ORDEREDSUBJECT")) t.algorithm = Thread::Algorithm::OrderedSubject;
    else if (iequals(alg, "REFERENCES")) t.algorithm = Thread::Algorithm::References;
    else return fail("Unknown thread algorithm");
    if (!sp() || !charset(t.charset) || !sp() || !searchKeys(t.key)) return false;
    body = std::move(t);
    return true;
  }
};

}  // namespace

Result<Command, ParseError> parseCommand(std::string_view command, const ParserOptions& options) {
  Parser p(command, options);
  return p.parse();
}

Result<SequenceSet, ParseError> parseSequenceSet(std::string_view text) {
  ParserOptions options;
  Parser p(text, options);
  return p.parseSetOnly();
}

}  // namespace tern::imap
