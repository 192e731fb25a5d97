// SMTP reply parsing for the outbound client. Every byte comes from an untrusted remote server:
// lines are capped at maxLineLength (checked before buffering more), replies at maxLines, codes are
// range-checked, and control characters never reach the parsed text.
#include "smtp/protocol/reply_parser.h"

#include <algorithm>

namespace tern::smtp {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// 1*3digit: RFC 3463 allows up to three digits for subject and detail.
size_t digitRun(std::string_view s, size_t pos) {
  size_t n = 0;
  while (pos + n < s.size() && n < 4 && isDigit(s[pos + n])) ++n;
  return n;
}

std::string sanitise(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

}  // namespace

std::string takeEnhancedCode(std::string_view& text, int classDigit) {
  // class "." subject "." detail, followed by a space or the end of the line
  if (text.size() < 5 || text[0] != static_cast<char>('0' + classDigit) || text[1] != '.') return {};
  size_t subject = digitRun(text, 2);
  if (subject == 0 || subject > 3) return {};
  size_t dot = 2 + subject;
  if (dot >= text.size() || text[dot] != '.') return {};
  size_t detail = digitRun(text, dot + 1);
  if (detail == 0 || detail > 3) return {};
  size_t end = dot + 1 + detail;
  if (end < text.size() && text[end] != ' ') return {};
  std::string code(text.substr(0, end));
  text.remove_prefix(end < text.size() ? end + 1 : end);
  return code;
}

std::string_view ReplyParser::errorText() const {
  switch (error_) {
    case ErrorKind::None: return "";
    case ErrorKind::LineTooLong: return "reply line too long";
    case ErrorKind::TooManyLines: return "too many reply lines";
    case ErrorKind::Malformed: return "malformed reply";
    case ErrorKind::CodeMismatch: return "inconsistent codes in multi-line reply";
  }
  return "";
}

void ReplyParser::reset() {
  line_.clear();
  lines_.clear();
  code_ = 0;
  reply_ = Reply{};
  replyDone_ = false;
  error_ = ErrorKind::None;
}

ReplyParser::Status ReplyParser::fail(ErrorKind kind) {
  error_ = kind;
  line_.clear();
  lines_.clear();
  return Status::Error;
}

ReplyParser::Status ReplyParser::feed(std::string_view& input) {
  if (error_ != ErrorKind::None) return Status::Error;
  if (replyDone_) {
    replyDone_ = false;
    reply_ = Reply{};
  }
  while (!input.empty()) {
    size_t lf = input.find('\n');
    std::string_view chunk = input.substr(0, lf);  // whole input when no LF
    // The limit is checked before appending, so memory never exceeds it (+1 for a trailing CR).
    if (line_.size() + chunk.size() > limits_.maxLineLength + 1) return fail(ErrorKind::LineTooLong);
    line_.append(chunk);
    if (lf == std::string_view::npos) {
      input = {};
      return Status::NeedMore;
    }
    input.remove_prefix(lf + 1);
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (line_.size() > limits_.maxLineLength) return fail(ErrorKind::LineTooLong);
    Status s = finishLine();
    if (s != Status::NeedMore) return s;
  }
  return Status::NeedMore;
}

ReplyParser::Status ReplyParser::finishLine() {
  std::string line = std::move(line_);
  line_.clear();
  // "NNN" alone, or "NNN" followed by ' ' (last line) or '-' (more lines follow).
  if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2])) {
    return fail(ErrorKind::Malformed);
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) return fail(ErrorKind::Malformed);
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') last = false;
    else if (line[3] != ' ') return fail(ErrorKind::Malformed);
  }
  if (!lines_.empty() && code != code_) return fail(ErrorKind::CodeMismatch);
  code_ = code;
  if (lines_.size() >= limits_.maxLines) return fail(ErrorKind::TooManyLines);
  // Controls become spaces first, so the enhanced code is read from the text as it will be kept.
  lines_.push_back(sanitise(line.size() > 4 ? std::string_view(line).substr(4) : std::string_view()));
  if (!last) return Status::NeedMore;

  // Complete: the enhanced code of the first line, removed from every line that repeats it.
  reply_ = Reply{};
  reply_.code = code_;
  std::string_view first = lines_[0];
  reply_.enhanced = takeEnhancedCode(first, code_ / 100);
  for (size_t i = 0; i < lines_.size(); ++i) {
    std::string_view text = lines_[i];
    if (!reply_.enhanced.empty() && text.substr(0, reply_.enhanced.size()) == reply_.enhanced &&
        (text.size() == reply_.enhanced.size() || text[reply_.enhanced.size()] == ' ')) {
      text.remove_prefix(std::min(text.size(), reply_.enhanced.size() + 1));
    }
    reply_.lines.emplace_back(text);
  }
  lines_.clear();
  code_ = 0;
  replyDone_ = true;
  return Status::Reply;
}

}  // namespace tern::smtp
