// ENVELOPE / BODY / BODYSTRUCTURE formatting. The strings come from untrusted messages; they are
// written only through response.h's quoting, which turns anything unsafe into a literal. Recursion
// is bounded by the parser's (or deserialiser's) depth limit.
#include "imap/protocol/message_structure.h"

#include "imap/protocol/response.h"
#include "mime/charset.h"
#include "util/strings.h"

namespace tern::imap {

namespace {

using mime::Address;
using mime::Part;

// A quoted string when safe for this client, else a literal (also for invalid UTF-8 on rev2).
void text(std::string& out, std::string_view s, bool utf8) {
  appendString(out, s, utf8 && mime::isValidUtf8(s));
}

void ntext(std::string& out, const std::optional<std::string>& s, bool utf8) {
  if (s)
    text(out, *s, utf8);
  else
    out += "NIL";
}

bool isAscii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// RFC 2231 ext-value for a UTF-8 value: utf-8'lang'%XX..., attribute-chars kept.
std::string rfc2231Encode(std::string_view value, std::string_view language) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "utf-8'";
  out += language;
  out += '\'';
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
    if (plain) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void params(std::string& out, const mime::Params& ps, bool utf8) {
  if (ps.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  for (const auto& p : ps) {
    if (!first) out += ' ';
    first = false;
    std::string name = asciiUppercase(p.name);
    if (utf8 || isAscii(p.value)) {
      text(out, name, utf8);
      out += ' ';
      text(out, p.value, utf8);
    } else {
      text(out, name + "*", false);
      out += ' ';
      text(out, rfc2231Encode(p.value, p.language), false);
    }
  }
  out += ')';
}

void addresses(std::string& out, const std::vector<Address>& list, bool utf8) {
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const Address& a : list) {
    out += '(';
    switch (a.kind) {
      case Address::Kind::GroupStart:
        out += "NIL NIL ";
        text(out, a.mailbox, utf8);
        out += " NIL";
        break;
      case Address::Kind::GroupEnd:
        out += "NIL NIL NIL NIL";
        break;
      case Address::Kind::Mailbox:
        if (a.hasName)
          text(out, a.name, utf8);
        else
          out += "NIL";
        out += ' ';
        if (a.route.empty())
          out += "NIL";
        else
          text(out, a.route, utf8);
        out += ' ';
        text(out, a.mailbox, utf8);
        out += ' ';
        text(out, a.host, utf8);
        break;
    }
    out += ')';
  }
  out += ')';
}

void envelope(std::string& out, const mime::Envelope& e, bool utf8) {
  out += '(';
  ntext(out, e.date, utf8);
  out += ' ';
  ntext(out, e.subject, utf8);
  for (const auto* l : {&e.from, &e.sender, &e.replyTo, &e.to, &e.cc, &e.bcc}) {
    out += ' ';
    addresses(out, *l, utf8);
  }
  out += ' ';
  ntext(out, e.inReplyTo, utf8);
  out += ' ';
  ntext(out, e.messageId, utf8);
  out += ')';
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc
void extensionTail(std::string& out, const Part& p, bool utf8) {
  out += ' ';
  if (p.disposition.empty()) {
    out += "NIL";
  } else {
    out += '(';
    text(out, asciiUppercase(p.disposition), utf8);
    out += ' ';
    params(out, p.dispositionParams, utf8);
    out += ')';
  }
  out += ' ';
  if (p.language.empty()) {
    out += "NIL";
  } else if (p.language.size() == 1) {
    text(out, p.language[0], utf8);
  } else {
    out += '(';
    for (size_t i = 0; i < p.language.size(); ++i) {
      if (i) out += ' ';
      text(out, p.language[i], utf8);
    }
    out += ')';
  }
  out += ' ';
  ntext(out, p.location, utf8);
}

void body(std::string& out, const Part& p, bool ext, bool utf8);

// A multipart without any body part cannot be expressed (1*body): say it holds one empty text part.
void emptyTextPart(std::string& out, bool ext) {
  out += "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0";
  if (ext) out += " NIL NIL NIL NIL";
  out += ')';
}

void body(std::string& out, const Part& p, bool ext, bool utf8) {
  out += '(';
  if (p.isMultipart()) {
    if (p.children.empty()) emptyTextPart(out, ext);
    for (const Part& c : p.children) body(out, c, ext, utf8);
    out += ' ';
    text(out, asciiUppercase(p.subtype), utf8);
    if (ext) {
      out += ' ';
      params(out, p.params, utf8);
      extensionTail(out, p, utf8);
    }
    out += ')';
    return;
  }
  text(out, asciiUppercase(p.type), utf8);
  out += ' ';
  text(out, asciiUppercase(p.subtype), utf8);
  out += ' ';
  if (p.type == "text" && p.params.empty())
    out += "(\"CHARSET\" \"US-ASCII\")";  // RFC 2045 section 5.2 default
  else
    params(out, p.params, utf8);
  out += ' ';
  ntext(out, p.id, utf8);
  out += ' ';
  ntext(out, p.description, utf8);
  out += ' ';
  text(out, p.encoding.empty() ? std::string("7BIT") : asciiUppercase(p.encoding), utf8);
  out += ' ';
  out += std::to_string(p.bodySize);
  if (p.hasNestedMessage()) {
    out += ' ';
    envelope(out, *p.envelope, utf8);
    out += ' ';
    body(out, p.children[0], ext, utf8);
    out += ' ';
    out += std::to_string(p.bodyLines);
  } else if (p.type == "text") {
    out += ' ';
    out += std::to_string(p.bodyLines);
  }
  if (ext) {
    out += ' ';
    ntext(out, p.md5, utf8);
    extensionTail(out, p, utf8);
  }
  out += ')';
}

}  // namespace

std::string formatEnvelope(const mime::Envelope& e, bool utf8) {
  std::string out;
  envelope(out, e, utf8);
  return out;
}

std::string formatBodyStructure(const mime::ParsedMessage& msg, bool extensible, bool utf8) {
  return formatBodyStructure(msg.root, extensible, utf8);
}

std::string formatBodyStructure(const mime::Part& part, bool extensible, bool utf8) {
  std::string out;
  body(out, part, extensible, utf8);
  return out;
}

}  // namespace tern::imap
