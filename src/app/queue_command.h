// `tern queue list|show|retry|hold|release|delete`: the operator's view of the outbound queue. Works
// against the data directory while the server runs (SQLite WAL; the scheduler polls the queue, so a
// retried or released message goes out on its next pass). Input is the local administrator's argv.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "store/store.h"
#include "util/result.h"

namespace CLI {
class App;
}

namespace tern::app {

enum class QueueVerb { None, List, Show, Retry, Hold, Release, Delete };

struct QueueOptions {
  QueueVerb verb = QueueVerb::None;
  std::string id;       // message queue id as typed (validated in runQueueCommand)
  bool all = false;     // retry --all
  size_t limit = 10000; // list: at most this many recipient rows
};

// A failed command: exit code (1 runtime, 2 usage) and one line for stderr.
struct QueueCommandError {
  int code;
  std::string message;
};
using QueueCommandResult = tern::Result<void, QueueCommandError>;

// Adds list, show ID, retry [ID|--all], hold ID, release ID, delete ID under `queue`; each records
// its verb in `o` when it is chosen.
void addQueueCommands(CLI::App& queue, QueueOptions& o);

// Runs the chosen verb; `now` (unix seconds) is the reference for ages and relative times.
QueueCommandResult runQueueCommand(store::MailStore& store, const QueueOptions& o, std::ostream& out, int64_t now);
// The same, relative to the current time.
QueueCommandResult runQueueCommand(store::MailStore& store, const QueueOptions& o, std::ostream& out);

// "45s", "12m", "3h", "2d" (rounded down; negative spans as 0s).
std::string formatSpan(int64_t seconds);
// "812B", "1.2K", "34M": sizes in a column (binary units).
std::string formatSize(uint64_t bytes);

}  // namespace tern::app
