// Modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8 for mailbox names, and strict UTF-8 validation.
// Handles untrusted bytes: decoding rejects every non-canonical form (encoded printable ASCII, null
// shifts, stray bits, unpaired surrogates) so that one name has exactly one spelling.
#include "imap/protocol/mutf7.h"

#include "util/strings.h"

#include <cstdint>

namespace tern::imap {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}


// Decodes one UTF-8 sequence at s[i]; returns its length, 0 if invalid.
size_t decodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t len;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, min = 0x80, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, min = 0x800, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool isPrintable(uint32_t c) { return c >= 0x20 && c <= 0x7E; }

void flushBase64(std::string& out, const std::u16string& units) {
  out += '&';
  uint32_t bits = 0;
  int nbits = 0;
  for (char16_t u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += kB64[(bits >> nbits) & 0x3F];
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) out += kB64[(bits << (6 - nbits)) & 0x3F];
  out += '-';
}

}  // namespace

bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t n = decodeUtf8(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::optional<std::string> mutf7Decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  bool afterShift = false;  // the previous character ended a base64 run: "-&" would be a null shift
  while (i < in.size()) {
    char c = in[i];
    auto uc = static_cast<unsigned char>(c);
    if (c != '&') {
      if (!isPrintable(uc)) return std::nullopt;
      out += c;
      ++i;
      afterShift = false;
      continue;
    }
    ++i;
    if (i < in.size() && in[i] == '-') {  // "&-" is a literal '&'
      out += '&';
      ++i;
      afterShift = false;
      continue;
    }
    if (afterShift) return std::nullopt;
    uint32_t bits = 0;
    int nbits = 0;
    uint32_t highSurrogate = 0;
    bool any = false;
    while (true) {
      if (i >= in.size()) return std::nullopt;  // no implicit shift back
      char d = in[i++];
      if (d == '-') break;
      int v = b64Value(d);
      if (v < 0) return std::nullopt;
      bits = (bits << 6) | static_cast<uint32_t>(v);
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        uint32_t unit = (bits >> nbits) & 0xFFFF;
        bits &= (1u << nbits) - 1;
        any = true;
        if (highSurrogate) {
          if (unit < 0xDC00 || unit > 0xDFFF) return std::nullopt;
          appendUtf8(out, 0x10000 + ((highSurrogate - 0xD800) << 10) + (unit - 0xDC00));
          highSurrogate = 0;
        } else if (unit >= 0xD800 && unit <= 0xDBFF) {
          highSurrogate = unit;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
          return std::nullopt;
        } else if (isPrintable(unit) || unit == 0) {
          return std::nullopt;  // printable ASCII must represent itself
        } else {
          appendUtf8(out, unit);
        }
      }
    }
    // Leftover bits must be fewer than 6 and all zero; a run must encode something.
    if (!any || highSurrogate || nbits >= 6 || bits != 0) return std::nullopt;
    afterShift = true;
  }
  return out;
}

std::string mutf7Encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size() + 8);
  std::u16string run;
  size_t i = 0;
  while (i < utf8.size()) {
    uint32_t cp = 0;
    size_t n = decodeUtf8(utf8, i, cp);
    if (n == 0) {  // invalid input: encode U+FFFD rather than guess
      cp = 0xFFFD;
      n = 1;
    }
    i += n;
    if (isPrintable(cp)) {
      if (!run.empty()) {
        flushBase64(out, run);
        run.clear();
      }
      if (cp == '&') out += "&-";
      else out += static_cast<char>(cp);
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      run += static_cast<char16_t>(0xD800 + (cp >> 10));
      run += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      run += static_cast<char16_t>(cp);
    }
  }
  if (!run.empty()) flushBase64(out, run);
  return out;
}

}  // namespace tern::imap
