// Content-Type and Content-Disposition parsing with RFC 2045 parameters and RFC 2231 extensions
// (continuations, charsets, languages). Pure; handles untrusted header text; the parameter count
// and continuation indexes are bounded.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct Param {
  std::string name;   // lowercased, without RFC 2231 "*" / "*N" / "*N*" suffixes
  std::string value;  // decoded to UTF-8 (RFC 2231; RFC 2047 words too for name/filename)
  std::string language;  // RFC 2231 language tag, if any
  bool operator==(const Param&) const = default;
};
using Params = std::vector<Param>;

// Value of the first parameter with this (lowercase) name, or nullptr.
const std::string* findParam(const Params& params, std::string_view name);

struct ContentType {
  std::string type;     // lowercased; "text" when the field is absent or unparsable
  std::string subtype;  // lowercased; "plain" likewise
  Params params;
  bool valid = false;   // a type/subtype was found
};

// Parses a Content-Type value. On garbage, valid=false with type/subtype left empty (the caller
// applies the context default: text/plain, or message/rfc822 inside multipart/digest).
ContentType parseContentType(std::string_view value);

struct ContentDisposition {
  std::string type;  // lowercased ("inline", "attachment", ...); empty if absent
  Params params;
};
ContentDisposition parseContentDisposition(std::string_view value);

// Parses "; a=b; c*=utf-8''%e2%82%ac ..." (the text after the type) into parameters.
Params parseParams(std::string_view text);

}  // namespace tern::mime
