// RFC 5322 header block parsing: splits a header into fields with exact byte offsets, unfolds them,
// tolerates obsolete syntax (space before the colon, bare LF, lines without a colon). Pure; handles
// untrusted bytes; the field count and the unfolded length of each value are bounded by HeaderLimits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct HeaderLimits {
  size_t maxFields = 1000;         // fields beyond this are skipped (still inside the header)
  size_t maxValueLength = 65536;   // unfolded values are cut here (a 1 MB line stays cheap)
};

struct HeaderField {
  std::string name;       // as written, surrounding whitespace removed
  std::string_view raw;   // the value as written (a view into the parsed text): after the colon, up
                          // to but not including the final EOL
  std::string value;      // unfolded (CRLF/LF before WSP removed) and trimmed; at most maxValueLength
  size_t offset = 0;      // offset of the field's first byte in the parsed text
  size_t size = 0;        // bytes of the field including its final EOL
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  size_t size = 0;        // header length including the empty line that ends it, if present
  bool hasBody = false;   // an empty line was found
  bool truncated = false; // more than maxFields fields

  // First field with this name (case-insensitive), or nullptr.
  const HeaderField* find(std::string_view name) const;
  // Unfolded value of the first such field, or nullptr when absent.
  const std::string* value(std::string_view name) const;
};

// Parses the header at the start of `text`. The header ends at the first empty line, at the end of
// text, or (when stopAt returns true for a line, given without its EOL) before that line: multipart
// parsing uses it so a boundary inside a broken header still ends the part.
HeaderBlock parseHeaderFields(std::string_view text, const HeaderLimits& limits = {},
                              const std::function<bool(std::string_view)>& stopAt = {});

// Unfolds a raw value: removes EOLs (a folding CRLF WSP keeps the WSP), trims, cuts at maxLength.
std::string unfold(std::string_view raw, size_t maxLength = SIZE_MAX);

}  // namespace tern::mime
