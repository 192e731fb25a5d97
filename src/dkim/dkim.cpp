// DKIM-Signature creation (RFC 6376 5, relaxed/relaxed, rsa-sha256 and RFC 8463 ed25519-sha256).
// The message is untrusted bytes from a client: the header section is bounded (kMaxHeaderFields,
// kMaxHeaderBytes) and the body is hashed as a stream; nothing here throws on malformed input.
#include "dkim/dkim.h"

#include <openssl/evp.h>

#include <array>
#include <map>

#include "dkim/canonicalize.h"
#include "dkim/keys.h"
#include "util/strings.h"

namespace tern::dkim {

namespace {

constexpr size_t kFoldWidth = 78;  // RFC 5322 2.1.1's "SHOULD" line length

// One header field: `name` is the text before the colon, `raw` the whole field without its final
// line end (continuation lines included).
struct Field {
  std::string_view name;
  std::string_view raw;
  std::string_view value() const { return raw.substr(name.size() + 1); }
};

struct ParsedMessage {
  std::vector<Field> fields;
  std::string_view body;
};

bool isWsp(char c) { return c == ' ' || c == '\t'; }

// Splits the header section into fields and finds the body: after the first empty line, or empty
// when there is none. Lines end in CRLF or a bare LF.
tern::Result<ParsedMessage, std::string> parseMessage(std::string_view message) {
  ParsedMessage out;
  size_t pos = 0;
  bool open = false;  // a field is being collected
  size_t fieldStart = 0;
  size_t fieldEnd = 0;  // end of its last line, without the line end
  auto close = [&]() -> tern::Result<void, std::string> {
    if (!open) return {};
    open = false;
    const std::string_view raw = message.substr(fieldStart, fieldEnd - fieldStart);
    const size_t colon = raw.find(':');
    if (colon == std::string_view::npos) return tern::unexpected(std::string("header line without a colon"));
    if (out.fields.size() >= kMaxHeaderFields) return tern::unexpected(std::string("too many header fields"));
    out.fields.push_back(Field{raw.substr(0, colon), raw});
    return {};
  };
  while (pos < message.size()) {
    if (pos > kMaxHeaderBytes) return tern::unexpected(std::string("header section too large"));
    size_t nl = message.find('\n', pos);
    const size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
    size_t lineEnd = nl == std::string_view::npos ? message.size() : nl;
    if (lineEnd > pos && message[lineEnd - 1] == '\r' && nl != std::string_view::npos) --lineEnd;
    if (lineEnd == pos) {  // the empty line: the body follows
      if (auto r = close(); !r) return tern::unexpected(r.error());
      out.body = message.substr(next);
      return out;
    }
    if (isWsp(message[pos])) {
      if (!open) return tern::unexpected(std::string("header section starts with a continuation line"));
      fieldEnd = lineEnd;  // a continuation of the open field
    } else {
      if (auto r = close(); !r) return tern::unexpected(r.error());
      open = true;
      fieldStart = pos;
      fieldEnd = lineEnd;
    }
    pos = next;
  }
  if (pos > kMaxHeaderBytes) return tern::unexpected(std::string("header section too large"));
  if (auto r = close(); !r) return tern::unexpected(r.error());
  return out;  // no body
}

// The name a field is selected by for h=: exactly the text before the colon, case-insensitive. A
// name with WSP before the colon (RFC 5322 obsolete syntax) therefore matches no h= entry and is not
// signed, as dkimpy and other verifiers that do not trim it would also not select it.
std::string fieldKey(std::string_view name) { return asciiLowercase(name); }

// The canonicalized header fields named in h=, each name taking the next instance from the bottom
// (RFC 6376 5.4.2); a name with no instance left contributes nothing.
std::string signedHeaderData(const std::vector<Field>& fields, const std::vector<std::string>& names) {
  std::map<std::string, std::vector<const Field*>> byName;
  for (const auto& f : fields) byName[fieldKey(f.name)].push_back(&f);
  std::map<std::string, size_t> used;
  std::string data;
  for (const auto& n : names) {
    const std::string name = fieldKey(n);
    auto it = byName.find(name);
    if (it == byName.end()) continue;
    size_t& u = used[name];
    if (u >= it->second.size()) continue;
    const Field* f = it->second[it->second.size() - 1 - u];
    ++u;
    data += relaxedHeader(f->name, f->value());
  }
  return data;
}

const char* algorithmName(Algorithm a) { return a == Algorithm::RsaSha256 ? "rsa-sha256" : "ed25519-sha256"; }

// Builds a folded header field from tokens: a token goes on the current line after `separator`,
// or on a new line (CRLF SP) when the line would grow past kFoldWidth.
class Folder {
 public:
  explicit Folder(std::string start) : text_(std::move(start)), lineLength_(text_.size()) {}
  void add(std::string_view token, std::string_view separator) {
    if (lineLength_ + separator.size() + token.size() > kFoldWidth && lineLength_ > 1) {
      text_ += "\r\n ";
      lineLength_ = 1;
    } else {
      text_ += separator;
      lineLength_ += separator.size();
    }
    text_ += token;
    lineLength_ += token.size();
  }
  // The signature value: base64 may be folded anywhere (RFC 6376 3.5, b= tag).
  void addBase64(std::string_view b64) {
    while (!b64.empty()) {
      if (lineLength_ >= kFoldWidth) {
        text_ += "\r\n ";
        lineLength_ = 1;
      }
      const size_t n = std::min(b64.size(), kFoldWidth - lineLength_);
      text_.append(b64.substr(0, n));
      lineLength_ += n;
      b64.remove_prefix(n);
    }
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  size_t lineLength_;
};

}  // namespace

const std::vector<std::string>& defaultSignedHeaders() {
  static const std::vector<std::string> names = {
      "From",        "Reply-To",      "Subject",         "Date",           "To",
      "Cc",          "Resent-Date",   "Resent-From",     "Resent-To",      "Resent-Cc",
      "In-Reply-To", "References",    "List-Id",         "List-Help",      "List-Unsubscribe",
      "List-Subscribe", "List-Post",  "List-Owner",      "List-Archive",   "Message-ID",
      "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
  return names;
}

std::string bodyHash(std::string_view body) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  detail::RelaxedBodyCanonicalizer canon([&](std::string_view s) {
    ok = ok && EVP_DigestUpdate(ctx.get(), s.data(), s.size()) == 1;
  });
  canon.feed(body);
  canon.finish();
  ok = ok && EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) == 1;
  // SHA-256 over memory cannot fail short of allocation failure, which would not return here.
  if (!ok) return {};
  return base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), len));
}

tern::Result<std::string, std::string> signatureValue(const SigningKey& key, std::string_view message,
                                                      const std::vector<std::string>& signedHeaderNames,
                                                      std::string_view signatureField) {
  const auto* k = dynamic_cast<const detail::OpensslKey*>(&key);
  if (k == nullptr) return tern::unexpected(std::string("not a key loaded by tern::dkim"));
  auto parsed = parseMessage(message);
  if (!parsed) return tern::unexpected(parsed.error());
  const size_t colon = signatureField.find(':');
  if (colon == std::string_view::npos) return tern::unexpected(std::string("signature field without a colon"));
  // Headers, then the signature field itself with b= empty and no final CRLF (RFC 6376 3.7).
  std::string data = signedHeaderData(parsed->fields, signedHeaderNames);
  std::string self = relaxedHeader(signatureField.substr(0, colon), signatureField.substr(colon + 1));
  self.resize(self.size() - 2);
  data += self;
  auto sig = k->signData(data);
  if (!sig) return tern::unexpected(sig.error());
  return base64Encode(*sig);
}

tern::Result<std::string, std::string> sign(const SigningKey& key, std::string_view message, int64_t timestamp) {
  auto parsed = parseMessage(message);
  if (!parsed) return tern::unexpected(parsed.error());
  // h=: every instance of every listed name present, then From once more, so that a From added
  // later (above or below) breaks the signature.
  std::map<std::string, size_t> counts;
  for (const auto& f : parsed->fields) ++counts[fieldKey(f.name)];
  if (counts["from"] == 0) return tern::unexpected(std::string("message has no From header field"));
  std::vector<std::string> names;
  for (const auto& n : defaultSignedHeaders()) {
    const std::string lower = asciiLowercase(n);
    for (size_t i = 0; i < counts[lower]; ++i) names.push_back(lower);
  }
  names.push_back("from");

  Folder f("DKIM-Signature:");
  f.add("v=1;", " ");
  f.add(std::string("a=") + algorithmName(key.algorithm()) + ";", " ");
  f.add("c=relaxed/relaxed;", " ");
  f.add("d=" + key.domain() + ";", " ");
  f.add("s=" + key.selector() + ";", " ");
  f.add("t=" + std::to_string(timestamp) + ";", " ");
  for (size_t i = 0; i < names.size(); ++i) {
    // FWS may stand around the colons of h= (RFC 6376 3.5), so h= folds between names.
    const bool last = i + 1 == names.size();
    f.add((i == 0 ? "h=" : "") + names[i] + (last ? ";" : ":"), i == 0 ? " " : "");
  }
  f.add("bh=" + bodyHash(parsed->body) + ";", " ");
  f.add("b=", " ");
  auto b = signatureValue(key, message, names, f.text());
  if (!b) return tern::unexpected(b.error());
  f.addBase64(*b);
  return f.text() + "\r\n";
}

}  // namespace tern::dkim
