// Address-list parser: a tokenizer (atoms, quoted strings, comments, domain literals, specials)
// followed by a per-element interpretation. Handles untrusted bytes; linear in the value length,
// at most kMaxAddresses entries.
#include "mime/address.h"

#include <algorithm>

#include "util/strings.h"

namespace tern::mime {

namespace {

struct Token {
  enum class Kind { Word, Quoted, Comment, Literal, Special };
  Kind kind;
  std::string text;  // unescaped content; the special character itself for Special
  bool spaceBefore = false;
};

bool isSpecial(char c) { return c == '<' || c == '>' || c == '@' || c == ',' || c == ':' || c == ';'; }

std::vector<Token> tokenize(std::string_view v) {
  std::vector<Token> out;
  size_t i = 0;
  bool space = false;
  while (i < v.size()) {
    char c = v[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      ++i;
      continue;
    }
    Token t{Token::Kind::Word, {}, space};
    space = false;
    if (c == '"') {
      t.kind = Token::Kind::Quoted;
      for (++i; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        t.text += v[i];
      }
      ++i;
    } else if (c == '(') {
      t.kind = Token::Kind::Comment;
      int depth = 1;
      for (++i; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          t.text += v[++i];
          continue;
        }
        if (v[i] == '(') ++depth;
        if (v[i] == ')' && --depth == 0) break;
        t.text += v[i];
      }
      ++i;
    } else if (c == '[') {
      t.kind = Token::Kind::Literal;
      size_t end = v.find(']', i);
      end = end == std::string_view::npos ? v.size() : end + 1;
      t.text = std::string(v.substr(i, end - i));
      i = end;
    } else if (isSpecial(c)) {
      t.kind = Token::Kind::Special;
      t.text = std::string(1, c);
      ++i;
    } else {
      size_t start = i;
      while (i < v.size() && !isSpecial(v[i]) && v[i] != ' ' && v[i] != '\t' && v[i] != '"' && v[i] != '(' &&
             v[i] != '[' && v[i] != '\r' && v[i] != '\n' && v[i] != ')')
        ++i;
      if (i == start) ++i;  // a stray ')': drop it
      t.text = std::string(v.substr(start, i - start));
      if (t.text == ")") continue;
    }
    out.push_back(std::move(t));
  }
  return out;
}

bool isSpecialTok(const Token& t, char c) { return t.kind == Token::Kind::Special && t.text[0] == c; }

// Display name: words joined by single spaces.
std::string phrase(const std::vector<const Token*>& toks) {
  std::string out;
  for (const Token* t : toks) {
    if (t->kind == Token::Kind::Comment || t->kind == Token::Kind::Special) continue;
    if (!out.empty()) out += ' ';
    out += t->text;
  }
  return out;
}

// addr-spec pieces: everything joined without spaces (obs-local-part allows CFWS between atoms).
std::string joined(const std::vector<const Token*>& toks) {
  std::string out;
  for (const Token* t : toks)
    if (t->kind != Token::Kind::Comment) out += t->text;
  return out;
}

// Interprets one element (the tokens between separators) as a mailbox.
bool interpret(const std::vector<const Token*>& toks, Address& a) {
  size_t lt = toks.size();
  for (size_t i = 0; i < toks.size(); ++i)
    if (isSpecialTok(*toks[i], '<')) {
      lt = i;
      break;
    }
  std::vector<const Token*> spec;
  std::string lastComment;
  bool hadComment = false;
  if (lt < toks.size()) {
    std::vector<const Token*> namePart(toks.begin(), toks.begin() + static_cast<std::ptrdiff_t>(lt));
    a.name = phrase(namePart);
    a.hasName = !a.name.empty() || std::any_of(namePart.begin(), namePart.end(), [](const Token* t) {
      return t->kind == Token::Kind::Quoted;
    });
    size_t i = lt + 1;
    // obs-route: "@a,@b:" before the addr-spec.
    if (i < toks.size() && isSpecialTok(*toks[i], '@')) {
      size_t colon = i;
      while (colon < toks.size() && !isSpecialTok(*toks[colon], ':') && !isSpecialTok(*toks[colon], '>')) ++colon;
      if (colon < toks.size() && isSpecialTok(*toks[colon], ':')) {
        std::vector<const Token*> route(toks.begin() + static_cast<std::ptrdiff_t>(i),
                                        toks.begin() + static_cast<std::ptrdiff_t>(colon));
        a.route = joined(route);
        i = colon + 1;
      }
    }
    for (; i < toks.size() && !isSpecialTok(*toks[i], '>'); ++i) spec.push_back(toks[i]);
    if (!a.hasName) {
      // "<a@b> (Name)": a comment after the angle address is the name in obsolete mail.
      for (size_t j = i; j < toks.size(); ++j)
        if (toks[j]->kind == Token::Kind::Comment) {
          lastComment = toks[j]->text;
          hadComment = true;
        }
    }
  } else {
    for (const Token* t : toks) {
      if (t->kind == Token::Kind::Comment) {
        lastComment = t->text;
        hadComment = true;
      } else {
        spec.push_back(t);
      }
    }
    if (spec.empty()) return false;
  }
  if (!a.hasName && hadComment) {
    a.name = lastComment;
    a.hasName = !a.name.empty();
  }
  size_t at = spec.size();
  for (size_t i = spec.size(); i-- > 0;)
    if (isSpecialTok(*spec[i], '@')) {
      at = i;
      break;
    }
  std::vector<const Token*> local(spec.begin(), spec.begin() + static_cast<std::ptrdiff_t>(at));
  a.mailbox = joined(local);
  if (at < spec.size()) {
    std::vector<const Token*> domain(spec.begin() + static_cast<std::ptrdiff_t>(at + 1), spec.end());
    a.host = joined(domain);
  }
  if (a.mailbox.empty() && a.host.empty() && !a.hasName && lt == toks.size()) return false;
  if (a.mailbox.empty()) a.mailbox = "MISSING_MAILBOX";
  if (a.host.empty()) a.host = "MISSING_DOMAIN";
  return true;
}

bool needsQuoting(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return true;
  for (size_t i = 0; i < local.size(); ++i) {
    auto c = static_cast<unsigned char>(local[i]);
    if (c <= 0x20 || c == 0x7f || std::string_view("()<>[]:;@\\,\"").find(local[i]) != std::string_view::npos)
      return true;
    if (local[i] == '.' && i + 1 < local.size() && local[i + 1] == '.') return true;
  }
  return false;
}

}  // namespace

std::string Address::addrSpec() const {
  if (kind != Kind::Mailbox) return {};
  std::string out;
  if (needsQuoting(mailbox)) {
    out += '"';
    for (char c : mailbox) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out += mailbox;
  }
  out += '@';
  out += host;
  return out;
}

std::vector<Address> parseAddressList(std::string_view value) {
  std::vector<Token> toks = tokenize(value);
  std::vector<Address> out;
  std::vector<const Token*> element;
  bool inGroup = false;
  bool groupOpen = false;  // a GroupStart was emitted, so a GroupEnd must follow (room is reserved)
  int angle = 0;
  auto room = [&] { return out.size() + (groupOpen ? 1 : 0) < kMaxAddresses; };
  auto closeGroup = [&] {
    if (groupOpen) {
      Address g;
      g.kind = Address::Kind::GroupEnd;
      out.push_back(std::move(g));
    }
    groupOpen = inGroup = false;
  };
  auto flush = [&] {
    Address a;
    if (!element.empty() && room() && interpret(element, a)) out.push_back(std::move(a));
    element.clear();
  };
  for (const Token& t : toks) {
    if (t.kind == Token::Kind::Special) {
      char c = t.text[0];
      if (c == '<') ++angle;
      if (c == '>' && angle > 0) --angle;
      if (angle == 0 && c == ',') {
        flush();
        continue;
      }
      if (angle == 0 && c == ':' && !inGroup) {
        // Group start: the phrase so far is the group name.
        bool hasAt = false;
        for (const Token* e : element)
          if (isSpecialTok(*e, '@')) hasAt = true;
        if (!hasAt) {
          if (out.size() + 2 <= kMaxAddresses) {
            Address g;
            g.kind = Address::Kind::GroupStart;
            g.mailbox = phrase(element);
            out.push_back(std::move(g));
            groupOpen = true;
          }
          element.clear();
          inGroup = true;
          continue;
        }
      }
      if (angle == 0 && c == ';' && inGroup) {
        flush();
        closeGroup();
        continue;
      }
    }
    element.push_back(&t);
  }
  flush();
  closeGroup();  // an unterminated group is closed so IMAP clients see a balanced list
  return out;
}

}  // namespace tern::mime
