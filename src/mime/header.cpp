// Header splitting and field selection; byte-exact on the original text.
#include "mime/header.h"

#include "util/strings.h"

namespace tern::mime {

HeaderSplit splitHeader(std::string_view m) {
  // An empty first line means an empty header.
  if (m.starts_with("\r\n")) return {m.substr(0, 2), m.substr(2)};
  if (m.starts_with("\n")) return {m.substr(0, 1), m.substr(1)};
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] != '\n') continue;
    size_t next = i + 1;
    if (next < m.size() && m[next] == '\n') return {m.substr(0, next + 1), m.substr(next + 1)};
    if (next + 1 < m.size() && m[next] == '\r' && m[next + 1] == '\n')
      return {m.substr(0, next + 2), m.substr(next + 2)};
  }
  return {m, std::string_view()};
}

std::string selectHeaderFields(std::string_view header, const std::vector<std::string>& names, bool exclude) {
  std::string out;
  bool keep = false;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t eol = header.find('\n', pos);
    size_t end = eol == std::string_view::npos ? header.size() : eol + 1;
    std::string_view line = header.substr(pos, end - pos);
    pos = end;
    if (line == "\r\n" || line == "\n") break;  // end of header
    if (line[0] == ' ' || line[0] == '\t') {
      if (keep) out += line;
      continue;
    }
    size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    bool listed = false;
    if (!name.empty())
      for (const auto& n : names)
        if (iequals(n, name)) {
          listed = true;
          break;
        }
    keep = !name.empty() && (listed != exclude);
    if (keep) {
      out += line;
      if (line.back() != '\n') out += "\r\n";
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace tern::mime
