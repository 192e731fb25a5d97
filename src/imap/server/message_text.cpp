// Case folding, body text and previews for SEARCH and FETCH PREVIEW. Input is message text that
// arrived from the network: decoding is lenient and outputs are bounded (preview: 200 characters).
#include "imap/server/message_text.h"

#include "util/strings.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>

namespace tern::imap::server {
namespace {

// Decodes one code point at s[i], advancing i; malformed sequences give U+FFFD and skip one byte.
char32_t nextCodePoint(std::string_view s, size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  auto at = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b < 0x80) {
    ++i;
    return b;
  }
  if (b >= 0xC2 && b <= 0xDF && cont(1)) {
    char32_t c = ((b & 0x1F) << 6) | at(1);
    i += 2;
    return c;
  }
  if (b >= 0xE0 && b <= 0xEF && cont(1) && cont(2)) {
    char32_t c = ((b & 0x0F) << 12) | (at(1) << 6) | at(2);
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
      i += 3;
      return c;
    }
  }
  if (b >= 0xF0 && b <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    char32_t c = ((b & 0x07) << 18) | (at(1) << 12) | (at(2) << 6) | at(3);
    if (c >= 0x10000 && c <= 0x10FFFF) {
      i += 4;
      return c;
    }
  }
  ++i;
  return 0xFFFD;
}


char32_t lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;                  // Latin-1
  if (c >= 0x100 && c <= 0x137) return c | 1;                               // Latin Extended-A pairs
  if (c >= 0x139 && c <= 0x148) return (c & 1) ? c + 1 : c;
  if (c >= 0x14A && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x179 && c <= 0x17E) return (c & 1) ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;                // Greek
  if (c == 0x3C2) return 0x3C3;                                             // final sigma
  if (c >= 0x410 && c <= 0x42F) return c + 32;                              // Cyrillic
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool isSpace(char32_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xA0 || c == '\f' || c == '\v'; }

// Visits text leaves depth-first; stops when visit returns false.
bool forEachLeaf(const mime::Part& p, const std::function<bool(const mime::Part&)>& visit) {
  if (p.children.empty()) return visit(p);
  for (const auto& c : p.children)
    if (!forEachLeaf(c, visit)) return false;
  return true;
}

// Crude HTML to text for previews: drops tags, <style>/<script> content and decodes a few entities.
std::string stripHtml(std::string_view html) {
  std::string out;
  for (size_t i = 0; i < html.size();) {
    if (html[i] == '<') {
      auto lowerStarts = [&](std::string_view tag) {
        if (html.size() - i < tag.size()) return false;
        for (size_t k = 0; k < tag.size(); ++k)
          if (static_cast<char>(std::tolower(static_cast<unsigned char>(html[i + k]))) != tag[k]) return false;
        return true;
      };
      std::string_view closer = lowerStarts("<style") ? "</style" : lowerStarts("<script") ? "</script" : "";
      size_t end = html.find('>', i);
      if (end == std::string_view::npos) break;
      i = end + 1;
      if (!closer.empty()) {
        size_t c = i;
        while (c < html.size()) {
          size_t lt = html.find('<', c);
          if (lt == std::string_view::npos) {
            c = html.size();
            break;
          }
          i = lt;
          if (lowerStarts(closer)) break;
          c = lt + 1;
        }
        if (c >= html.size()) i = html.size();
      }
      out += ' ';
      continue;
    }
    if (html[i] == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&nbsp;", ' '}};
      bool done = false;
      for (const auto& [name, ch] : kEntities) {
        if (html.substr(i, name.size()) == name) {
          out += ch;
          i += name.size();
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out += html[i++];
  }
  return out;
}

}  // namespace

std::string foldCase(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {  // fast path
      out += static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b);
      ++i;
      continue;
    }
    appendUtf8(out, lower(nextCodePoint(utf8, i)));
  }
  return out;
}

bool containsFolded(std::string_view haystack, std::string_view needleFolded) {
  if (needleFolded.empty()) return true;
  return foldCase(haystack).find(needleFolded) != std::string::npos;
}

std::string bodyText(std::string_view message, const mime::ParsedMessage& parsed) {
  std::string out;
  forEachLeaf(parsed.root, [&](const mime::Part& p) {
    if (p.type == "text") {
      if (auto t = mime::decodedText(message, p)) {
        out += *t;
        out += '\n';
      }
    }
    return true;
  });
  return out;
}

std::string previewText(std::string_view message, const mime::ParsedMessage& parsed) {
  const mime::Part* plain = nullptr;
  const mime::Part* html = nullptr;
  forEachLeaf(parsed.root, [&](const mime::Part& p) {
    if (p.type != "text" || p.disposition == "attachment") return true;
    if (p.subtype == "plain" && !plain) plain = &p;
    if (p.subtype == "html" && !html) html = &p;
    return plain == nullptr;
  });
  const mime::Part* chosen = plain ? plain : html;
  if (!chosen) return {};
  // Only the start of a large part is needed: cap what is decoded.
  mime::Part head = *chosen;
  head.children.clear();
  head.bodySize = std::min<size_t>(head.bodySize, 16 * 1024);
  auto text = mime::decodedText(message, head);
  if (!text) return {};
  std::string source = chosen == plain ? *text : stripHtml(*text);
  std::string out;
  size_t chars = 0;
  bool pendingSpace = false;
  for (size_t i = 0; i < source.size() && chars < 200;) {
    char32_t c = nextCodePoint(source, i);
    if (isSpace(c) || c < 0x20 || c == 0x7F) {
      pendingSpace = !out.empty();
      continue;
    }
    if (pendingSpace) {
      if (chars + 1 >= 200) break;  // a space with nothing after it would end the preview
      out += ' ';
      ++chars;
      pendingSpace = false;
    }
    appendUtf8(out, c);
    ++chars;
  }
  return out;
}

}  // namespace tern::imap::server
