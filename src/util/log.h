// One line per event to stderr, journald-friendly ("<level> component: text").
// Client bytes must go through escape() so a peer can never forge log lines.
// Never log passwords or message bodies.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace tern::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

void setLevel(Level);
Level level();
bool enabled(Level);

// Printable rendering of untrusted bytes: control and non-ASCII bytes become \xNN, capped in length.
std::string escape(std::string_view bytes, size_t maxLen = 200);

// Accumulates one line and writes it with a single write(2) when destroyed.
class Line {
 public:
  Line(Level level, std::string_view component);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  template <class T>
  Line& operator<<(const T& v) {
    if (out_) *out_ << v;
    return *this;
  }

 private:
  // Built only for a line that is written: a disabled line costs no stream (and no locale copy).
  std::optional<std::ostringstream> out_;
};

inline Line debug(std::string_view c) { return Line(Level::Debug, c); }
inline Line info(std::string_view c) { return Line(Level::Info, c); }
inline Line warn(std::string_view c) { return Line(Level::Warn, c); }
inline Line error(std::string_view c) { return Line(Level::Error, c); }

}  // namespace tern::log
