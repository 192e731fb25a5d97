// `tern queue ...`: lists, shows and changes outbound queue rows through the MailStore interface.
// Input is the administrator's argv (ids range-checked); queued addresses and remote replies come
// from the network, so control characters are escaped before they reach the terminal.
#include "app/queue_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <vector>

#include "util/strings.h"

namespace tern::app {
namespace {

constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;

tern::Unexpected<QueueCommandError> usage(std::string m) {
  return tern::unexpected(QueueCommandError{kUsageError, std::move(m)});
}
tern::Unexpected<QueueCommandError> runtime(std::string m) {
  return tern::unexpected(QueueCommandError{kRuntimeError, std::move(m)});
}

// Control characters (ESC sequences could drive the terminal) become \xNN; UTF-8 passes.
std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

// At most `width` bytes, "..." marking a cut, never splitting a UTF-8 sequence.
std::string clip(std::string s, size_t width) {
  if (s.size() <= width) return s;
  size_t n = width > 3 ? width - 3 : 0;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
  s.resize(n);
  return s + "...";
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size() + 1, ' ');
}

std::string sender(const std::string& s) { return s.empty() ? "<>" : printable(s); }

std::string utcTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string relative(int64_t when, int64_t now) {
  if (when <= now) return "now";
  return "in " + formatSpan(when - now);
}

bool leased(const store::QueueEntry& e, int64_t now) { return e.leaseUntil > now; }

// One message's rows as `list` summarises them.
struct Summary {
  const store::QueueEntry* first = nullptr;
  size_t recipients = 0, held = 0, leased = 0;
  std::optional<int64_t> nextAttempt;  // earliest among rows that are not held
  std::string lastError;               // of the most-tried row that has one
  uint32_t attempts = 0;
};

std::string stateOf(const Summary& s) {
  if (s.leased > 0) return "leased";
  if (s.held == s.recipients) return "held";
  return "queued";
}

std::optional<int64_t> parseId(const std::string& text) {
  auto v = parseUnsigned(text, INT64_MAX);
  if (!v || *v == 0) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::string describe(const store::Error& e) {
  return e.detail.empty() ? "store error" : e.detail;
}

QueueCommandResult list(store::MailStore& s, const QueueOptions& o, std::ostream& out, int64_t now) {
  auto rows = s.listQueue(o.limit);
  if (!rows) return runtime("cannot list the queue: " + describe(rows.error()));
  if (rows->empty()) {
    out << "queue is empty\n";
    return {};
  }
  std::map<int64_t, Summary> messages;
  for (const auto& e : *rows) {
    Summary& m = messages[e.messageId];
    if (!m.first) m.first = &e;
    ++m.recipients;
    if (e.held) ++m.held;
    if (leased(e, now)) ++m.leased;
    if (!e.held) m.nextAttempt = std::min(m.nextAttempt.value_or(e.nextAttempt), e.nextAttempt);
    if (!e.lastError.empty() && (m.lastError.empty() || e.attempts > m.attempts)) {
      m.lastError = e.lastError;
      m.attempts = e.attempts;
    }
  }
  out << pad("ID", 8) << pad("AGE", 5) << pad("SIZE", 6) << pad("SENDER", 32) << pad("RCPTS", 5)
      << pad("NEXT", 8) << pad("STATE", 6) << "LAST ERROR\n";
  size_t recipients = 0, held = 0, leasedRows = 0;
  uint64_t bytes = 0;
  for (const auto& [id, m] : messages) {
    const auto& e = *m.first;
    recipients += m.recipients;
    held += m.held;
    leasedRows += m.leased;
    bytes += e.size;
    const std::string next = m.nextAttempt ? relative(*m.nextAttempt, now) : "-";
    out << pad(std::to_string(id), 8) << pad(formatSpan(now - e.created), 5) << pad(formatSize(e.size), 6)
        << pad(clip(sender(e.sender), 32), 32) << pad(std::to_string(m.recipients), 5) << pad(next, 8)
        << pad(stateOf(m), 6) << clip(printable(m.lastError), 60) << "\n";
  }
  out << "-- " << messages.size() << (messages.size() == 1 ? " message, " : " messages, ") << recipients
      << (recipients == 1 ? " recipient" : " recipients") << " (" << held << " held, " << leasedRows
      << " being delivered), " << formatSize(bytes) << " in total";
  if (rows->size() >= o.limit) out << "; listing stopped at " << o.limit << " recipients";
  out << "\n";
  return {};
}

QueueCommandResult show(store::MailStore& s, int64_t id, std::ostream& out, int64_t now) {
  auto rows = s.getQueuedMessage(id);
  if (!rows) return runtime("cannot read the queue: " + describe(rows.error()));
  if (rows->empty()) return runtime("no queued message " + std::to_string(id));
  const auto& m = rows->front();
  out << "Queue ID:    " << m.messageId << "\n";
  out << "Sender:      " << sender(m.sender) << "\n";
  if (m.submitter != 0) out << "Submitter:   account " << m.submitter << "\n";
  out << "Queued:      " << utcTime(m.created) << " (" << formatSpan(now - m.created) << " ago)\n";
  out << "Size:        " << m.size << " bytes\n";
  out << "Blob:        " << printable(m.blobId) << "\n";
  out << "RET:         " << (m.ret.empty() ? "-" : printable(m.ret)) << "\n";
  out << "ENVID:       " << (m.envid.empty() ? "-" : printable(m.envid)) << "\n";
  out << "Body:        " << (m.eightBit ? "8BITMIME" : "7BIT") << (m.smtputf8 ? ", SMTPUTF8" : "") << "\n";
  out << "Recipients:  " << rows->size() << "\n";
  for (const auto& r : *rows) {
    const std::string state = r.held ? "held" : leased(r, now) ? "being delivered" : "queued";
    out << "\n  " << printable(r.recipient.address) << "  (row " << r.id << ", " << state << ")\n";
    out << "    attempts:      " << r.attempts << "\n";
    if (r.held) {
      out << "    next attempt:  when released\n";
    } else {
      out << "    next attempt:  " << relative(r.nextAttempt, now) << " (" << utcTime(std::max(r.nextAttempt, now))
          << ")\n";
    }
    if (leased(r, now)) out << "    lease ends:    " << relative(r.leaseUntil, now) << "\n";
    out << "    last error:    " << (r.lastError.empty() ? "-" : printable(r.lastError)) << "\n";
    out << "    NOTIFY:        " << (r.recipient.notify.empty() ? "- (failure, delay)" : printable(r.recipient.notify))
        << "\n";
    out << "    ORCPT:         " << (r.recipient.orcpt.empty() ? "-" : printable(r.recipient.orcpt)) << "\n";
    out << "    held:          " << (r.held ? "yes" : "no") << "\n";
    if (r.delayNotified) out << "    delay notice:  sent\n";
  }
  return {};
}

// retry/hold/release/delete: one message (it must exist) or, for retry --all, every one.
QueueCommandResult change(store::MailStore& s, const QueueOptions& o, std::ostream& out, int64_t now) {
  std::optional<int64_t> id;
  if (o.verb == QueueVerb::Retry && o.all) {
    if (!o.id.empty()) return usage("give a queue id or --all, not both");
  } else {
    if (o.id.empty()) return usage(o.verb == QueueVerb::Retry ? "give a queue id or --all" : "give a queue id");
    id = parseId(o.id);
    if (!id) return usage("invalid queue id: " + o.id);
    auto rows = s.getQueuedMessage(*id);
    if (!rows) return runtime("cannot read the queue: " + describe(rows.error()));
    if (rows->empty()) return runtime("no queued message " + std::to_string(*id));
  }
  store::Result<size_t> n = size_t{0};
  const char* what = "";
  switch (o.verb) {
    case QueueVerb::Retry:
      n = s.retryOutbound(id, now);
      what = "due now";
      break;
    case QueueVerb::Hold:
      n = s.holdOutbound(id, true);
      what = "held";
      break;
    case QueueVerb::Release:
      n = s.holdOutbound(id, false);
      what = "released";
      break;
    case QueueVerb::Delete:
      n = s.removeOutbound(id);
      what = "deleted";
      break;
    default:
      return usage("no queue command given");
  }
  if (!n) return runtime("cannot change the queue: " + describe(n.error()));
  out << *n << (*n == 1 ? " recipient " : " recipients ") << what;
  if (id) out << " (queue id " << *id << ")";
  out << "\n";
  return {};
}

}  // namespace

std::string formatSpan(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return std::to_string(seconds) + "s";
  if (seconds < 3600) return std::to_string(seconds / 60) + "m";
  if (seconds < 86400) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

std::string formatSize(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + "B";
  const char* units = "KMGT";
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
  return buf;
}

void addQueueCommands(CLI::App& queue, QueueOptions& o) {
  queue.require_subcommand(1);
  auto verb = [&o](CLI::App* cmd, QueueVerb v) { cmd->callback([&o, v] { o.verb = v; }); };
  auto* listCmd = queue.add_subcommand("list", "One line per queued message, with totals");
  listCmd->add_option("--limit", o.limit, "List at most this many recipients")->check(CLI::Range(size_t{1}, size_t{10000000}));
  verb(listCmd, QueueVerb::List);
  auto* showCmd = queue.add_subcommand("show", "A queued message and each of its recipients");
  showCmd->add_option("ID", o.id, "Queue id")->required();
  verb(showCmd, QueueVerb::Show);
  auto* retryCmd = queue.add_subcommand("retry", "Make a message (or, with --all, every one) due now");
  retryCmd->add_option("ID", o.id, "Queue id");
  retryCmd->add_flag("--all", o.all, "Every queued message");
  verb(retryCmd, QueueVerb::Retry);
  auto* holdCmd = queue.add_subcommand("hold", "Keep a message from being delivered until released");
  holdCmd->add_option("ID", o.id, "Queue id")->required();
  verb(holdCmd, QueueVerb::Hold);
  auto* releaseCmd = queue.add_subcommand("release", "Let a held message be delivered again");
  releaseCmd->add_option("ID", o.id, "Queue id")->required();
  verb(releaseCmd, QueueVerb::Release);
  auto* deleteCmd = queue.add_subcommand("delete", "Remove a message from the queue (no report is sent)");
  deleteCmd->add_option("ID", o.id, "Queue id")->required();
  verb(deleteCmd, QueueVerb::Delete);
}

QueueCommandResult runQueueCommand(store::MailStore& s, const QueueOptions& o, std::ostream& out, int64_t now) {
  switch (o.verb) {
    case QueueVerb::List:
      return list(s, o, out, now);
    case QueueVerb::Show: {
      auto id = parseId(o.id);
      if (!id) return usage("invalid queue id: " + o.id);
      return show(s, *id, out, now);
    }
    case QueueVerb::Retry:
    case QueueVerb::Hold:
    case QueueVerb::Release:
    case QueueVerb::Delete:
      return change(s, o, out, now);
    case QueueVerb::None:
      break;
  }
  return usage("no queue command given");
}

QueueCommandResult runQueueCommand(store::MailStore& s, const QueueOptions& o, std::ostream& out) {
  return runQueueCommand(s, o, out, static_cast<int64_t>(::time(nullptr)));
}

}  // namespace tern::app
