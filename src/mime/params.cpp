// Content-Type / Content-Disposition and RFC 2231 parameter parsing. Handles untrusted bytes:
// linear scan; at most kMaxParams parameters and kMaxSections continuations per parameter.
#include "mime/params.h"

#include <algorithm>
#include <optional>

#include "mime/charset.h"
#include "mime/encoded_words.h"
#include "util/strings.h"

namespace tern::mime {

namespace {

constexpr size_t kMaxParams = 64;
constexpr int kMaxSections = 999;

bool isTokenChar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c == 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(ch) == std::string_view::npos;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void next() { ++i_; }
  // Skips whitespace and RFC 5322 comments (nesting bounded by the input length).
  void skipCfws() {
    while (!done()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (c == '(') {
        int depth = 0;
        while (!done()) {
          char d = s_[i_++];
          if (d == '\\') {
            if (!done()) ++i_;  // a quoted pair; a trailing backslash must not step past the end
          } else if (d == '(') {
            ++depth;
          } else if (d == ')' && --depth == 0) {
            break;
          }
        }
      } else {
        break;
      }
    }
  }
  std::string_view token() {
    size_t start = i_;
    while (!done() && isTokenChar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  std::string quoted() {  // at '"'
    std::string out;
    ++i_;
    while (!done()) {
      char c = s_[i_++];
      if (c == '"') break;
      if (c == '\\' && !done()) c = s_[i_++];
      if (c == '\r' || c == '\n') continue;
      out += c;
    }
    return out;
  }
  // An unquoted value: up to ';', with a trailing comment and whitespace dropped. Tolerates
  // spaces and specials that senders forget to quote.
  std::string bareValue() {
    size_t start = i_;
    while (!done() && s_[i_] != ';') ++i_;
    std::string_view v = s_.substr(start, i_ - start);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (!v.empty() && v.back() == ')') {
      if (size_t open = v.find('('); open != std::string_view::npos && open > 0) v = v.substr(0, open);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return std::string(v);
  }
  size_t pos() const { return i_; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

struct RawParam {
  std::string name;  // lowercase base name
  int section = -1;  // RFC 2231 continuation index, -1 when none
  bool extended = false;
  std::string value;
};

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = asciiLower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Splits "name", "name*", "name*3", "name*3*".
RawParam splitName(std::string_view attr) {
  RawParam p;
  std::string n = asciiLowercase(attr);
  if (!n.empty() && n.back() == '*') {
    p.extended = true;
    n.pop_back();
  }
  if (size_t star = n.rfind('*'); star != std::string::npos) {
    auto idx = parseUnsigned(std::string_view(n).substr(star + 1), kMaxSections);
    if (idx) {
      p.section = static_cast<int>(*idx);
      n.resize(star);
    }
  }
  p.name = std::move(n);
  return p;
}

// Joins RFC 2231 sections and converts everything to UTF-8.
Params assemble(std::vector<RawParam>& raw) {
  Params out;
  std::vector<bool> used(raw.size(), false);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (used[i]) continue;
    const std::string name = raw[i].name;
    std::vector<RawParam*> group;
    for (size_t j = i; j < raw.size(); ++j)
      if (!used[j] && raw[j].name == name) {
        group.push_back(&raw[j]);
        used[j] = true;
      }
    // RFC 2231 forms win over a plain duplicate (senders add a plain fallback for old clients).
    bool any2231 = std::any_of(group.begin(), group.end(), [](auto* p) { return p->extended || p->section >= 0; });
    Param result;
    result.name = name;
    if (!any2231) {
      const std::string& v = group.front()->value;
      if (name == "boundary")
        result.value = v;  // must match body bytes exactly
      else if ((name == "name" || name == "filename") && v.find("=?") != std::string::npos)
        result.value = decodeEncodedWords(v);
      else
        result.value = headerTextToUtf8(v);
      out.push_back(std::move(result));
      continue;
    }
    std::vector<RawParam*> parts;
    for (auto* p : group)
      if (p->extended || p->section >= 0) parts.push_back(p);
    std::stable_sort(parts.begin(), parts.end(), [](auto* a, auto* b) { return a->section < b->section; });
    std::string charset;
    std::string bytes;
    bool first = true;
    int expected = 0;
    for (auto* p : parts) {
      if (!first && p->section != expected) break;  // a gap or duplicate: stop there
      std::string_view v = p->value;
      if (p->extended && first) {
        // charset'language'value; both quotes may be missing in broken mail.
        size_t q1 = v.find('\'');
        size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 != std::string_view::npos) {
          charset = std::string(v.substr(0, q1));
          result.language = std::string(v.substr(q1 + 1, q2 - q1 - 1));
          v = v.substr(q2 + 1);
        }
      }
      bytes += p->extended ? percentDecode(v) : std::string(v);
      first = false;
      if (p->section < 0) break;
      expected = p->section + 1;
    }
    result.value = charset.empty() ? headerTextToUtf8(bytes) : toUtf8(bytes, charset);
    out.push_back(std::move(result));
  }
  return out;
}

}  // namespace

const std::string* findParam(const Params& params, std::string_view name) {
  for (const auto& p : params)
    if (p.name == name) return &p.value;
  return nullptr;
}

Params parseParams(std::string_view text) {
  Scanner s(text);
  std::vector<RawParam> raw;
  while (!s.done() && raw.size() < kMaxParams) {
    s.skipCfws();
    if (s.peek() == ';') {
      s.next();
      continue;
    }
    size_t before = s.pos();
    std::string_view attr = s.token();
    s.skipCfws();
    if (attr.empty() || s.peek() != '=') {
      // Junk: skip to the next ';'.
      while (!s.done() && s.peek() != ';') s.next();
      if (s.pos() == before && !s.done()) s.next();
      continue;
    }
    s.next();  // '='
    s.skipCfws();
    RawParam p = splitName(attr);
    if (s.peek() == '"') {
      p.value = s.quoted();
      // Anything after the closing quote up to ';' is junk.
      while (!s.done() && s.peek() != ';') s.next();
    } else {
      p.value = s.bareValue();
    }
    if (!p.name.empty()) raw.push_back(std::move(p));
  }
  return assemble(raw);
}

ContentType parseContentType(std::string_view value) {
  ContentType ct;
  Scanner s(value);
  s.skipCfws();
  std::string_view type = s.token();
  s.skipCfws();
  if (type.empty() || s.peek() != '/') {
    // No subtype: keep the params (a charset may still be useful) but report invalid.
    size_t semi = value.find(';');
    if (semi != std::string_view::npos) ct.params = parseParams(value.substr(semi));
    return ct;
  }
  s.next();
  s.skipCfws();
  std::string_view subtype = s.token();
  if (subtype.empty()) return ct;
  ct.type = asciiLowercase(type);
  ct.subtype = asciiLowercase(subtype);
  ct.valid = true;
  ct.params = parseParams(value.substr(s.pos()));
  return ct;
}

ContentDisposition parseContentDisposition(std::string_view value) {
  ContentDisposition d;
  Scanner s(value);
  s.skipCfws();
  d.type = asciiLowercase(s.token());
  d.params = parseParams(value.substr(s.pos()));
  return d;
}

}  // namespace tern::mime
