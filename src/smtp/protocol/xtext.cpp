// RFC 3461 xtext and RFC 6533 utf-8-addr-xtext encoding/decoding.
// Handles untrusted bytes (MAIL/RCPT parameter values); strict character classes, bounded output.
#include "smtp/protocol/xtext.h"

#include "util/strings.h"

#include <cstdint>

namespace tern::smtp {
namespace {

bool isXchar(unsigned char c) { return c >= 0x21 && c <= 0x7E && c != '+' && c != '='; }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Length of the UTF-8 sequence starting at s[i] if it is valid, else 0.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}


}  // namespace

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string xtextEncode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    auto c = static_cast<unsigned char>(ch);
    if (isXchar(c)) {
      out += ch;
    } else {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    }
  }
  return out;
}

std::optional<std::string> xtextDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hexValue(text[i + 1]), lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (isXchar(c)) {
      out += static_cast<char>(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string> utf8AddrXtextDecode(std::string_view text, bool allowUtf8) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      // "\x{" 1*6HEXDIG "}"
      if (text.substr(i, 3) != "\\x{") return std::nullopt;
      size_t j = i + 3;
      uint32_t cp = 0;
      size_t digits = 0;
      while (j < text.size() && hexValue(text[j]) >= 0 && digits < 6) {
        cp = cp * 16 + static_cast<uint32_t>(hexValue(text[j]));
        ++j;
        ++digits;
      }
      if (digits == 0 || j >= text.size() || text[j] != '}') return std::nullopt;
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
      appendUtf8(out, cp);
      i = j + 1;
    } else if (c == '+') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hexValue(text[i + 1]), lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 3;
    } else if (c >= 0x80) {
      if (!allowUtf8) return std::nullopt;
      size_t n = utf8SequenceLength(text, i);
      if (n == 0) return std::nullopt;
      out.append(text.substr(i, n));
      i += n;
    } else if (isXchar(c)) {
      out += static_cast<char>(c);
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace tern::smtp
