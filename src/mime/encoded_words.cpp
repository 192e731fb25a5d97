// RFC 2047 decoder. Handles untrusted bytes; a single linear scan, no recursion.
#include "mime/encoded_words.h"

#include <optional>

#include "mime/charset.h"
#include "mime/decode.h"
#include "util/strings.h"

namespace tern::mime {

namespace {

struct EncodedWord {
  size_t end;           // offset just past "?="
  std::string charset;  // as written, language suffix included
  std::string bytes;    // decoded, still in `charset`
};

// Parses an encoded word starting at v[pos] == '=' '?'. Encoded text may not contain '?' or
// whitespace; we tolerate spaces inside Q text only when the word is still closed by "?=" before the
// next "=?" (some mailers do not encode spaces).
std::optional<EncodedWord> parseWord(std::string_view v, size_t pos) {
  if (v.substr(pos, 2) != "=?") return std::nullopt;
  size_t q1 = v.find('?', pos + 2);
  if (q1 == std::string_view::npos || q1 == pos + 2 || q1 - pos > 80) return std::nullopt;
  std::string_view charset = v.substr(pos + 2, q1 - pos - 2);
  for (char c : charset)
    if (c == ' ' || c == '\t' || c == '=' || c == '"') return std::nullopt;
  if (q1 + 2 >= v.size() || v[q1 + 2] != '?') return std::nullopt;
  char enc = asciiLower(v[q1 + 1]);
  if (enc != 'b' && enc != 'q') return std::nullopt;
  size_t textStart = q1 + 3;
  size_t close = v.find("?=", textStart);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view text = v.substr(textStart, close - textStart);
  for (char c : text)
    if (c == '\r' || c == '\n') return std::nullopt;
  if (enc == 'b' && text.find(' ') != std::string_view::npos) return std::nullopt;
  if (text.find("=?") != std::string_view::npos) return std::nullopt;  // ran into the next word
  EncodedWord w;
  w.end = close + 2;
  w.charset = std::string(charset);
  w.bytes = enc == 'b' ? decodeBase64(text) : decodeQuotedPrintable(text, true);
  return w;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string headerTextToUtf8(std::string_view raw) {
  if (isValidUtf8(raw)) return std::string(raw);
  return toUtf8(raw, "windows-1252");
}

std::string decodeEncodedWords(std::string_view v) {
  if (v.find("=?") == std::string_view::npos) return headerTextToUtf8(v);
  std::string out;
  std::string pendingCharset;  // bytes of adjacent words waiting for conversion
  std::string pendingBytes;
  auto flushWords = [&] {
    if (!pendingBytes.empty() || !pendingCharset.empty()) out += toUtf8(pendingBytes, pendingCharset);
    pendingBytes.clear();
    pendingCharset.clear();
  };
  size_t pos = 0;
  size_t textStart = 0;  // start of plain text not yet copied
  bool lastWasWord = false;
  while (pos < v.size()) {
    size_t at = v.find("=?", pos);
    if (at == std::string_view::npos) break;
    auto word = parseWord(v, at);
    if (!word) {
      pos = at + 1;
      continue;
    }
    std::string_view between = v.substr(textStart, at - textStart);
    bool onlySpace = true;
    for (char c : between)
      if (!isSpace(c)) onlySpace = false;
    if (lastWasWord && onlySpace) {
      // Whitespace between adjacent words disappears; same charset joins raw bytes.
      if (!iequals(word->charset, pendingCharset)) flushWords();
    } else {
      flushWords();
      out += headerTextToUtf8(between);
    }
    if (pendingCharset.empty()) pendingCharset = word->charset;
    pendingBytes += word->bytes;
    lastWasWord = true;
    pos = textStart = word->end;
  }
  flushWords();
  out += headerTextToUtf8(v.substr(textStart));
  return out;
}

}  // namespace tern::mime
