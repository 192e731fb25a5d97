// Content-Transfer-Encoding decoders. Handles untrusted bytes; linear time, output <= input size.
#include "mime/decode.h"

#include "util/strings.h"

namespace tern::mime {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

TransferEncoding parseTransferEncoding(std::string_view value) {
  std::string v = asciiLowercase(trim(value));
  if (v.empty() || v == "7bit") return TransferEncoding::SevenBit;
  if (v == "8bit") return TransferEncoding::EightBit;
  if (v == "binary") return TransferEncoding::Binary;
  if (v == "base64") return TransferEncoding::Base64;
  if (v == "quoted-printable") return TransferEncoding::QuotedPrintable;
  return TransferEncoding::Unknown;
}

std::string decodeBase64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = base64Value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string decodeQuotedPrintable(std::string_view text, bool rfc2047) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_' && rfc2047) {
      out += ' ';
    } else if (c != '=') {
      out += c;
    } else if (i + 2 < text.size() && hexValue(text[i + 1]) >= 0 && hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else if (i + 1 < text.size() && text[i + 1] == '\n') {
      i += 1;  // soft line break (bare LF)
    } else if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
      i += 2;  // soft line break
    } else {
      // Soft break followed by trailing whitespace ("=  \r\n") is still a soft break.
      size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < text.size() && (text[j] == '\n' || (text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n'))) {
        i = text[j] == '\r' ? j + 1 : j;
      } else if (j == text.size() && !rfc2047) {
        i = j - 1;  // "=" at the very end of the body: a soft break with nothing after it
      } else {
        out += '=';  // malformed escape: keep it readable
      }
    }
  }
  return out;
}

std::optional<std::string> decodeBody(std::string_view body, std::string_view transferEncoding) {
  switch (parseTransferEncoding(transferEncoding)) {
    case TransferEncoding::SevenBit:
    case TransferEncoding::EightBit:
    case TransferEncoding::Binary:
      return std::string(body);
    case TransferEncoding::Base64:
      return decodeBase64(body);
    case TransferEncoding::QuotedPrintable:
      return decodeQuotedPrintable(body);
    case TransferEncoding::Unknown:
      break;
  }
  return std::nullopt;
}

}  // namespace tern::mime
