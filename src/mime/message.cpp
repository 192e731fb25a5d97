// MIME structure parser. One pass over the message with a stack of active boundaries (an outer
// boundary also ends every inner part, which is how a missing final boundary is survived). Handles
// untrusted bytes: recursion depth <= Limits::maxDepth, parts <= maxParts, per-line boundary checks
// <= maxDepth comparisons of <= maxBoundaryLength bytes.
#include "mime/message.h"

#include <algorithm>
#include <cstring>

#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/encoded_words.h"
#include "util/strings.h"

namespace tern::mime {

namespace {

std::string_view stripEol(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Where a part ended: at a delimiter line of boundary `which` (index in the stack), or at the end.
struct Stop {
  size_t line = 0;      // start of the delimiter line, or message size at the end
  size_t lineEnd = 0;   // just past the delimiter line's EOL
  int which = -1;       // -1: end of message
  bool close = false;   // "--boundary--"
};

class Parser {
 public:
  Parser(std::string_view msg, const Limits& limits) : msg_(msg), limits_(limits) {}

  Part parse(bool& truncated) {
    Stop stop;
    Part root = parsePart(0, 0, false, nullptr, stop);
    truncated = truncated_;
    return root;
  }

 private:
  // Index of the innermost boundary this line (without EOL) delimits, or -1.
  int matchBoundary(std::string_view line, bool& close) const {
    if (boundaries_.empty() || line.size() < 2 || line[0] != '-' || line[1] != '-') return -1;
    std::string_view rest = line.substr(2);
    for (size_t i = boundaries_.size(); i-- > 0;) {
      std::string_view b = boundaries_[i];
      if (!rest.starts_with(b)) continue;
      std::string_view tail = rest.substr(b.size());
      bool isClose = tail.starts_with("--");
      if (isClose) tail.remove_prefix(2);
      // Only transport padding may follow (RFC 2046), as Python's parser also requires.
      if (tail.find_first_not_of(" \t") != std::string_view::npos) continue;
      close = isClose;
      return static_cast<int>(i);
    }
    return -1;
  }

  Stop scan(size_t pos) const {
    Stop s;
    while (pos < msg_.size()) {
      const void* nl = std::memchr(msg_.data() + pos, '\n', msg_.size() - pos);
      size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - msg_.data()) + 1 : msg_.size();
      if (msg_[pos] == '-' && !boundaries_.empty()) {
        bool close = false;
        int which = matchBoundary(stripEol(msg_.substr(pos, end - pos)), close);
        if (which >= 0) {
          s.line = pos;
          s.lineEnd = end;
          s.which = which;
          s.close = close;
          return s;
        }
      }
      pos = end;
    }
    s.line = s.lineEnd = msg_.size();
    return s;
  }

  // The body ends before the EOL that precedes the delimiter line (it belongs to the delimiter).
  // May return less than bodyOffset when the header itself ends with that EOL.
  size_t bodyEnd(size_t partStart, const Stop& stop) const {
    size_t end = stop.line;
    if (stop.which < 0) return end;
    if (end > partStart && msg_[end - 1] == '\n') --end;
    if (end > partStart && msg_[end - 1] == '\r') --end;
    return end;
  }

  void fillFromHeader(Part& p, const HeaderBlock& h, bool digestChild) {
    ContentType ct;
    if (const std::string* v = h.value("content-type")) ct = parseContentType(*v);
    if (ct.valid) {
      p.type = ct.type;
      p.subtype = ct.subtype;
      p.hasContentType = true;
    } else if (digestChild) {
      p.type = "message";  // RFC 2046 section 5.1.5
      p.subtype = "rfc822";
    }
    p.params = std::move(ct.params);
    if (const std::string* v = h.value("content-transfer-encoding")) p.encoding = trimmed(*v);
    if (const std::string* v = h.value("content-id")) p.id = *v;
    if (const std::string* v = h.value("content-description")) p.description = *v;
    if (const std::string* v = h.value("content-md5")) p.md5 = *v;
    if (const std::string* v = h.value("content-location")) p.location = *v;
    if (const std::string* v = h.value("content-disposition")) {
      ContentDisposition d = parseContentDisposition(*v);
      p.disposition = std::move(d.type);
      p.dispositionParams = std::move(d.params);
    }
    if (const std::string* v = h.value("content-language")) {
      std::string cur;
      for (char c : *v) {
        if (c == ',' || c == ' ' || c == '\t') {
          if (!cur.empty()) p.language.push_back(std::move(cur));
          cur.clear();
        } else {
          cur += c;
        }
      }
      if (!cur.empty()) p.language.push_back(std::move(cur));
    }
  }

  // Parses the part whose header starts at pos; `stop` tells where and why it ended. When the part
  // is an encapsulated message, `envelope` receives its ENVELOPE.
  Part parsePart(size_t pos, size_t depth, bool digestChild, Envelope* envelope, Stop& stop) {
    ++parts_;
    Part p;
    p.headerOffset = pos;
    auto boundaryLine = [this](std::string_view line) {
      bool close;
      return matchBoundary(line, close) >= 0;
    };
    HeaderBlock h = boundaries_.empty()
                        ? parseHeaderFields(msg_.substr(pos), limits_.header)
                        : parseHeaderFields(msg_.substr(pos), limits_.header, boundaryLine);
    if (h.truncated) truncated_ = true;
    p.headerSize = h.size;
    p.bodyOffset = pos + h.size;
    fillFromHeader(p, h, digestChild);
    if (envelope) *envelope = buildEnvelope(h);

    bool deeper = depth < limits_.maxDepth;
    const std::string* boundary = findParam(p.params, "boundary");
    auto enc = parseTransferEncoding(p.encoding);
    bool identity = enc == TransferEncoding::SevenBit || enc == TransferEncoding::EightBit ||
                    enc == TransferEncoding::Binary;
    if (p.isMultipart() && boundary && !boundary->empty() && boundary->size() <= limits_.maxBoundaryLength &&
        deeper) {
      parseMultipart(p, depth, *boundary, stop);
    } else if (p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global") && identity && deeper &&
               parts_ < limits_.maxParts) {
      Envelope env;
      Part inner = parsePart(p.bodyOffset, depth + 1, false, &env, stop);
      p.envelope = std::move(env);
      p.children.push_back(std::move(inner));
    } else {
      if ((p.isMultipart() || p.type == "message") && (!deeper || parts_ >= limits_.maxParts)) truncated_ = true;
      stop = scan(p.bodyOffset);
    }
    size_t end = bodyEnd(p.headerOffset, stop);
    if (end < p.bodyOffset) {
      // The header ran up to the delimiter line: the EOL before it belongs to the delimiter, so the
      // header gives it up and the part stays inside its parent's body.
      end = std::max(end, p.headerOffset);
      p.headerSize = end - p.headerOffset;
      p.bodyOffset = end;
    }
    p.bodySize = end - p.bodyOffset;
    p.bodyLines = countLines(msg_.substr(p.bodyOffset, p.bodySize));
    // An empty last child that starts right at the delimiter shares that EOL with us; keep it inside.
    if (!p.children.empty()) {
      const Part& last = p.children.back();
      if (last.bodyOffset + last.bodySize > end)
        for (Part& c : p.children) clampInto(c, end);
    }
    return p;
  }

  // Cuts a part's ranges (and its descendants') so they end by `end`.
  void clampInto(Part& c, size_t end) const {
    if (c.bodyOffset + c.bodySize <= end) return;
    size_t headerEnd = std::min(c.bodyOffset, end);
    size_t bodyEnd = std::min(c.bodyOffset + c.bodySize, end);
    c.headerOffset = std::min(c.headerOffset, end);
    c.headerSize = headerEnd - c.headerOffset;
    c.bodyOffset = headerEnd;
    c.bodySize = bodyEnd - headerEnd;
    c.bodyLines = countLines(msg_.substr(c.bodyOffset, c.bodySize));
    for (Part& g : c.children) clampInto(g, end);
  }

  void parseMultipart(Part& p, size_t depth, const std::string& boundary, Stop& stop) {
    boundaries_.push_back(boundary);
    const int mine = static_cast<int>(boundaries_.size()) - 1;
    bool digest = p.subtype == "digest";
    Stop s = scan(p.bodyOffset);  // skips the preamble
    while (true) {
      if (s.which != mine) break;  // end of message, or an outer boundary: we end here too
      if (s.close) {
        boundaries_.pop_back();
        s = scan(s.lineEnd);  // the epilogue runs to an outer boundary or the end
        stop = s;
        return;
      }
      if (parts_ >= limits_.maxParts) {
        truncated_ = true;
        s = scan(s.lineEnd);
        continue;
      }
      Stop childStop;
      Part child = parsePart(s.lineEnd, depth + 1, digest, nullptr, childStop);
      p.children.push_back(std::move(child));
      s = childStop;
    }
    boundaries_.pop_back();
    stop = s;
  }

  std::string_view msg_;
  const Limits& limits_;
  std::vector<std::string> boundaries_;
  size_t parts_ = 0;
  bool truncated_ = false;
};

bool isWsp(char c) { return c == ' ' || c == '\t'; }

// subj-blob at s[i]: "[" *BLOBCHAR "]" *WSP; returns the end or npos.
size_t matchBlob(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '[') return std::string_view::npos;
  size_t j = i + 1;
  while (j < s.size() && s[j] != ']' && s[j] != '[') ++j;
  if (j >= s.size() || s[j] != ']') return std::string_view::npos;
  ++j;
  while (j < s.size() && isWsp(s[j])) ++j;
  return j;
}

// subj-refwd at s[i]: ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"; returns the end or npos.
size_t matchRefwd(std::string_view s, size_t i) {
  size_t j;
  if (istartsWith(s.substr(i), "re")) {
    j = i + 2;
  } else if (istartsWith(s.substr(i), "fwd")) {
    j = i + 3;
  } else if (istartsWith(s.substr(i), "fw")) {
    j = i + 2;
  } else {
    return std::string_view::npos;
  }
  while (j < s.size() && isWsp(s[j])) ++j;
  if (size_t b = matchBlob(s, j); b != std::string_view::npos) j = b;
  if (j < s.size() && s[j] == ':') return j + 1;
  return std::string_view::npos;
}

// subj-leader: (*subj-blob subj-refwd) / WSP
size_t matchLeader(std::string_view s) {
  if (!s.empty() && isWsp(s[0])) return 1;
  size_t i = 0;
  while (true) {
    if (size_t r = matchRefwd(s, i); r != std::string_view::npos) return r;
    size_t b = matchBlob(s, i);
    if (b == std::string_view::npos) return 0;
    i = b;
  }
}

}  // namespace

size_t countLines(std::string_view body) {
  size_t n = static_cast<size_t>(std::count(body.begin(), body.end(), '\n'));
  if (!body.empty() && body.back() != '\n') ++n;
  return n;
}

std::vector<std::string> parseMessageIds(std::string_view v) {
  std::vector<std::string> ids;
  size_t i = 0;
  while (i < v.size() && ids.size() < 1000) {
    char c = v[i];
    if (c == '(') {  // comment
      int depth = 0;
      for (; i < v.size(); ++i) {
        if (v[i] == '(') ++depth;
        if (v[i] == ')' && --depth == 0) break;
      }
      ++i;
      continue;
    }
    if (c == '<') {
      size_t close = v.find('>', i);
      if (close == std::string_view::npos) break;
      std::string id;
      for (size_t k = i; k <= close; ++k)
        if (v[k] != ' ' && v[k] != '\t' && v[k] != '\r' && v[k] != '\n') id += v[k];
      if (id.size() > 2 && id.find('<', 1) == std::string::npos) ids.push_back(std::move(id));
      i = close + 1;
      continue;
    }
    ++i;
  }
  return ids;
}

Envelope buildEnvelope(const HeaderBlock& h) {
  Envelope e;
  auto opt = [&](std::string_view name) -> std::optional<std::string> {
    if (const std::string* v = h.value(name)) return *v;
    return std::nullopt;
  };
  auto list = [&](std::string_view name) {
    const std::string* v = h.value(name);
    return v ? parseAddressList(*v) : std::vector<Address>{};
  };
  e.date = opt("date");
  e.subject = opt("subject");
  e.inReplyTo = opt("in-reply-to");
  e.messageId = opt("message-id");
  e.from = list("from");
  e.sender = list("sender");
  e.replyTo = list("reply-to");
  e.to = list("to");
  e.cc = list("cc");
  e.bcc = list("bcc");
  if (e.sender.empty()) e.sender = e.from;
  if (e.replyTo.empty()) e.replyTo = e.from;
  return e;
}

SortFields buildSortFields(const HeaderBlock& h) {
  SortFields s;
  if (const std::string* v = h.value("subject")) s.subject = decodeEncodedWords(*v);
  s.baseSubject = baseSubject(s.subject);
  if (const std::string* v = h.value("date")) s.date = parseDate(*v);
  auto first = [&](std::string_view name, std::string& mailbox, std::string* display) {
    const std::string* v = h.value(name);
    if (!v) return;
    for (const Address& a : parseAddressList(*v)) {
      if (a.kind != Address::Kind::Mailbox) continue;
      mailbox = headerTextToUtf8(a.mailbox);
      if (display) {
        *display = a.hasName ? decodeEncodedWords(a.name) : std::string();
        if (display->empty()) *display = headerTextToUtf8(a.addrSpec());  // RFC 5957 section 3
      }
      return;
    }
  };
  first("from", s.fromMailbox, &s.fromDisplay);
  first("to", s.toMailbox, &s.toDisplay);
  first("cc", s.ccMailbox, nullptr);
  if (const std::string* v = h.value("message-id")) {
    auto ids = parseMessageIds(*v);
    if (!ids.empty()) s.messageId = ids.front();
  }
  if (const std::string* v = h.value("in-reply-to")) s.inReplyTo = parseMessageIds(*v);
  if (const std::string* v = h.value("references")) s.references = parseMessageIds(*v);
  return s;
}

std::string baseSubject(std::string_view subject) {
  // (1) tabs and continuations to spaces, runs of spaces to one.
  std::string s;
  for (char c : subject) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s += c;
  }
  while (true) {
    // (2) subj-trailer: "(fwd)" / WSP, repeatedly.
    while (true) {
      if (!s.empty() && s.back() == ' ') {
        s.pop_back();
      } else if (s.size() >= 5 && iequals(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
        s.resize(s.size() - 5);
      } else {
        break;
      }
    }
    // (3)-(5) subj-leader, then a subj-blob when something remains after it.
    while (true) {
      if (size_t n = matchLeader(s); n > 0) {
        s.erase(0, n);
        continue;
      }
      size_t b = matchBlob(s, 0);
      if (b != std::string_view::npos && b < s.size()) {
        s.erase(0, b);
        continue;
      }
      break;
    }
    // (6) "[fwd:" ... "]" wrapper.
    if (s.size() >= 6 && istartsWith(s, "[fwd:") && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      continue;
    }
    break;
  }
  return s;
}

ParsedMessage parseMessage(std::string_view bytes, const Limits& limits) {
  ParsedMessage m;
  m.size = bytes.size();
  Parser parser(bytes, limits);
  m.root = parser.parse(m.truncated);
  HeaderBlock h = parseHeaderFields(bytes, limits.header);
  m.envelope = buildEnvelope(h);
  m.sort = buildSortFields(h);
  return m;
}

std::optional<std::string> decodedText(std::string_view message, const Part& part) {
  if (part.type != "text" || part.bodyOffset + part.bodySize > message.size()) return std::nullopt;
  auto bytes = decodeBody(message.substr(part.bodyOffset, part.bodySize), part.encoding);
  if (!bytes) return std::nullopt;
  const std::string* charset = findParam(part.params, "charset");
  return toUtf8(*bytes, charset ? *charset : "us-ascii");
}

const Part* findPart(const ParsedMessage& msg, const std::vector<uint32_t>& number) {
  const Part* p = &msg.root;
  bool atMessage = true;  // p is a message (the root or an encapsulated one)
  for (uint32_t n : number) {
    if (n == 0) return nullptr;
    if (!atMessage && p->hasNestedMessage()) {
      p = &p->children[0];
      atMessage = true;
    }
    if (p->isMultipart()) {
      if (n > p->children.size()) return nullptr;
      p = &p->children[n - 1];
    } else if (atMessage && n == 1) {
      // The body of a non-multipart message is its part 1: the same Part.
    } else {
      return nullptr;
    }
    atMessage = false;
  }
  return p;
}

}  // namespace tern::mime
