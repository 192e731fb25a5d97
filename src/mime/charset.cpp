// Charset conversion to UTF-8 over glibc iconv. Handles untrusted bytes (header and body text of
// received mail); output grows at most 3 bytes per input byte plus iconv's own expansion.
#include "mime/charset.h"

#include <iconv.h>

#include <cerrno>
#include <utility>

#include "util/strings.h"

namespace tern::mime {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence at s[i], or 0 if it is ill-formed.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = s.size() - i;
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// MIME names that iconv does not know, or knows as a narrower set than senders really use.
std::string canonicalName(std::string_view charset) {
  std::string name = asciiLowercase(charset);
  if (auto star = name.find('*'); star != std::string::npos) name.resize(star);  // RFC 2231 language
  while (!name.empty() && (name.back() == ' ' || name.back() == '"')) name.pop_back();
  while (!name.empty() && (name.front() == ' ' || name.front() == '"')) name.erase(0, 1);
  static const std::pair<std::string_view, std::string_view> kAliases[] = {
      {"ks_c_5601-1987", "CP949"}, {"ks_c_5601", "CP949"},       {"x-sjis", "SHIFT_JIS"},
      {"shift-jis", "SHIFT_JIS"},  {"x-gbk", "GBK"},             {"gb2312", "GB18030"},
      {"gbk", "GB18030"},          {"iso-8859-8-i", "ISO-8859-8"}, {"x-user-defined", "WINDOWS-1252"},
      {"unicode-1-1-utf-7", "UTF-7"}, {"x-mac-roman", "MACINTOSH"}, {"ansi_x3.4-1968", "US-ASCII"},
  };
  for (const auto& [alias, real] : kAliases)
    if (name == alias) return std::string(real);
  // Mail from Windows says iso-8859-1 but means windows-1252 (a superset for printable text).
  if (name == "iso-8859-1" || name == "latin1" || name == "iso_8859-1") return "WINDOWS-1252";
  return name;
}

bool isUtf8Name(std::string_view n) { return n == "utf-8" || n == "utf8" || n == "us-ascii" || n == "ascii" || n.empty(); }

class Iconv {
 public:
  explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
  ~Iconv() {
    if (ok()) iconv_close(cd_);
  }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return cd_; }

 private:
  iconv_t cd_;
};

}  // namespace

bool isValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8SequenceLength(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool isKnownCharset(std::string_view charset) {
  std::string name = canonicalName(charset);
  if (isUtf8Name(name)) return true;
  return Iconv(name).ok();
}

std::string toUtf8(std::string_view bytes, std::string_view charset) {
  std::string name = canonicalName(charset);
  if (isUtf8Name(name)) return sanitizeUtf8(bytes);
  Iconv cd(name);
  if (!cd.ok()) return sanitizeUtf8(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 2 + 16);
  char buf[4096];
  char* in = const_cast<char*>(bytes.data());  // iconv's signature is not const-correct
  size_t inLeft = bytes.size();
  while (true) {
    char* o = buf;
    size_t oLeft = sizeof buf;
    size_t r = inLeft ? iconv(cd.get(), &in, &inLeft, &o, &oLeft) : iconv(cd.get(), nullptr, nullptr, &o, &oLeft);
    out.append(buf, static_cast<size_t>(o - buf));
    if (r != static_cast<size_t>(-1)) {
      if (inLeft == 0) break;
      continue;
    }
    if (errno == E2BIG) continue;
    // EILSEQ: an invalid byte; EINVAL: a truncated sequence at the end. Replace one byte, go on.
    out += kReplacement;
    if (inLeft == 0) break;
    ++in;
    --inLeft;
    iconv(cd.get(), nullptr, nullptr, nullptr, nullptr);  // reset shift state after the bad byte
  }
  // iconv's output is UTF-8 by construction, but stateful decoders may still emit odd things.
  return isValidUtf8(out) ? out : sanitizeUtf8(out);
}

}  // namespace tern::mime
