// Implementation of the line logger: formatting and a single atomic write per line.
#include "util/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

namespace tern::log {
namespace {
std::atomic<int> gLevel{static_cast<int>(Level::Info)};
const char* levelName(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
  }
  return "?";
}
}  // namespace

void setLevel(Level l) { gLevel = static_cast<int>(l); }
Level level() { return static_cast<Level>(gLevel.load()); }
bool enabled(Level l) { return static_cast<int>(l) >= gLevel.load(); }

std::string escape(std::string_view bytes, size_t maxLen) {
  std::string out;
  out.reserve(std::min(bytes.size(), maxLen) + 8);
  size_t n = 0;
  for (unsigned char c : bytes) {
    if (n++ >= maxLen) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

Line::Line(Level level, std::string_view component) {
  if (!enabled(level)) return;
  out_.emplace();
  *out_ << levelName(level) << ' ' << component << ": ";
}

Line::~Line() {
  if (!out_) return;
  *out_ << '\n';
  const std::string s = out_->str();
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t w = ::write(STDERR_FILENO, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace tern::log
