// Header block parser with byte offsets. Handles untrusted bytes: linear in the header size; field
// count and unfolded value length bounded by HeaderLimits.
#include "mime/header_fields.h"

#include <algorithm>

#include "util/strings.h"

namespace tern::mime {

namespace {

std::string_view withoutEol(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

const HeaderField* HeaderBlock::find(std::string_view name) const {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

const std::string* HeaderBlock::value(std::string_view name) const {
  const HeaderField* f = find(name);
  return f ? &f->value : nullptr;
}

std::string unfold(std::string_view raw, size_t maxLength) {
  std::string out;
  out.reserve(std::min(raw.size(), maxLength));
  size_t i = 0;
  while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n')) ++i;
  for (; i < raw.size() && out.size() < maxLength; ++i) {
    char c = raw[i];
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  return out;
}

HeaderBlock parseHeaderFields(std::string_view text, const HeaderLimits& limits,
                              const std::function<bool(std::string_view)>& stopAt) {
  HeaderBlock block;
  size_t pos = 0;
  HeaderField* current = nullptr;  // the field that continuation lines extend
  size_t currentStart = 0;
  auto finish = [&](size_t end) {
    if (!current) return;
    current->size = end - current->offset;
    std::string_view all = text.substr(currentStart, end - currentStart);
    current->raw = withoutEol(all);
    current->value = unfold(current->raw, limits.maxValueLength);
    current = nullptr;
  };
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t end = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(pos, end - pos);
    std::string_view bare = withoutEol(line);
    if (line == "\n" || line == "\r\n") {
      finish(pos);
      block.size = end;
      block.hasBody = true;
      return block;
    }
    if (stopAt && stopAt(bare)) {
      finish(pos);
      block.size = pos;
      return block;
    }
    if ((line[0] == ' ' || line[0] == '\t') && pos != 0) {
      pos = end;  // continuation of the current field (or of a skipped one)
      continue;
    }
    finish(pos);
    size_t colon = bare.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view() : bare.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    bool validName = !name.empty();
    for (char c : name)
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) validName = false;
    if (validName) {
      if (block.fields.size() < limits.maxFields) {
        block.fields.push_back(HeaderField{std::string(name), {}, {}, pos, 0});
        current = &block.fields.back();
        currentStart = pos + colon + 1;
      } else {
        block.truncated = true;
      }
    }
    // A line without a colon (obsolete or broken) is skipped with its continuations.
    pos = end;
  }
  finish(text.size());
  block.size = text.size();
  return block;
}

}  // namespace tern::mime
