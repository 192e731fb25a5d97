// Selecting and changing messages: SELECT/EXAMINE, CLOSE/UNSELECT, EXPUNGE, COPY/MOVE, STORE, APPEND
// and IDLE. Every write is durable in the store before its tagged OK; the view is updated at once so
// the client sees its own change exactly once.
#include <algorithm>
#include <ctime>

#include "imap/protocol/response.h"
#include "imap/server/session.h"
#include "imap/server/structures.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::imap::server {
namespace {

std::string flagsLine(const MailboxView& view) {
  std::string kw;
  for (const auto& k : view.keywords()) kw += " " + k;
  return "\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw;
}

std::vector<store::Uid> uidsOf(const MailboxView& view, const std::vector<uint32_t>& msns) {
  std::vector<store::Uid> uids;
  uids.reserve(msns.size());
  for (uint32_t msn : msns) uids.push_back(view.uidAt(msn));
  return uids;
}

}  // namespace

asio::awaitable<void> Session::cmdSelect(const std::string& tag, const Select& c) {
  if (view_) {
    deselect();
    send("* OK [CLOSED] Previous mailbox closed\r\n");
  }
  auto mbox = co_await lookupMailbox(tag, c.mailbox, "SELECT", "NONEXISTENT");
  if (!mbox) co_return;
  const auto account = account_->id;
  const auto mailbox = mbox->id;
  // Subscribe before reading so no change between the read and the subscription is missed.
  auto ex = stream_->executor();
  subscription_ = ctx_->hub.subscribe(mailbox, [ex, weak = weak_from_this()] {
    asio::post(ex, [weak] {
      if (auto self = weak.lock()) {
        self->dirty_ = true;
        self->wake_.notify();
      }
    });
  });
  // UIDs and flags only, in the view's compact form (8 bytes a message); for a large mailbox from the
  // shared index cache plus the changes since it was taken, so SELECT does not scan every row.
  // A mailbox of a few thousand messages loads in well under a millisecond: on the worker. A larger
  // one may have to be scanned (not cached yet): on the pool, so the worker's other sessions go on.
  MessageIndex index;
  auto load = [&] { return ctx_->indexCache.load(ctx_->mail, account, mailbox, index); };
  store::Result<store::MailboxInfo> current = store::fail(store::Errc::Internal, "not loaded");
  if (mbox->uidNext <= kSelectOnWorkerMaxUid)
    current = load();
  else
    current = co_await blocking(load);
  if (!current) {
    subscription_.reset();
    noStore(tag, current.error(), "SELECT");
    co_return;
  }
  store::Uid firstRecent = 0;
  if (!c.readOnly && !rev2_) {
    auto claimed = ctx_->mail.claimRecent(account, mailbox);  // a read; the claim is not waited for
    if (claimed) firstRecent = *claimed;
  }
  view_.emplace(MailboxView::fromIndex(*current, std::move(index), firstRecent, c.readOnly));
  state_ = SessionState::Selected;

  const std::string flags = flagsLine(*view_);
  send("* " + std::to_string(view_->exists()) + " EXISTS\r\n");
  if (!rev2_) send("* " + std::to_string(view_->recentCount()) + " RECENT\r\n");
  send("* FLAGS (" + flags + ")\r\n");
  if (c.readOnly)
    send("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
  else
    send("* OK [PERMANENTFLAGS (" + flags + " \\*)] Flags permitted\r\n");
  if (!rev2_)
    if (auto unseen = view_->firstUnseenMsn()) send("* OK [UNSEEN " + std::to_string(*unseen) + "] First unseen\r\n");
  send("* OK [UIDVALIDITY " + std::to_string(view_->uidValidity()) + "] UIDs valid\r\n");
  send("* OK [UIDNEXT " + std::to_string(view_->uidNext()) + "] Predicted next UID\r\n");
  if (rev2_) {
    std::string line = "* LIST () \"/\" ";
    appendMailboxName(line, mbox->name);
    send(line + "\r\n");
  }
  ok(tag, c.readOnly ? "EXAMINE completed" : "SELECT completed", c.readOnly ? "READ-ONLY" : "READ-WRITE");
}

asio::awaitable<void> Session::cmdClose(const std::string& tag, bool expunge) {
  if (expunge && !view_->readOnly()) {
    const auto account = account_->id;
    const auto mailbox = view_->id();
    auto r = co_await writing([&] { return ctx_->mail.expunge(account, mailbox); });
    if (!r) {
      noStore(tag, r.error(), "CLOSE");
      co_return;
    }
  }
  deselect();
  ok(tag, expunge ? "CLOSE completed" : "UNSELECT completed");
}

asio::awaitable<void> Session::cmdExpunge(const std::string& tag, const Expunge& c) {
  if (view_->readOnly()) {
    no(tag, "READ-ONLY", "Mailbox is read-only");
    co_return;
  }
  std::optional<std::vector<store::Uid>> only;
  if (c.uids) {
    auto msns = resolveSet(*c.uids, true);
    only = uidsOf(*view_, msns.value_or(std::vector<uint32_t>{}));
  }
  const auto account = account_->id;
  const auto mailbox = view_->id();
  auto r = co_await writing([&] { return ctx_->mail.expunge(account, mailbox, only); });
  if (!r) {
    noStore(tag, r.error(), "EXPUNGE");
    co_return;
  }
  send(view_->expunge(*r));
  ok(tag, "EXPUNGE completed");
}

asio::awaitable<void> Session::cmdCopy(const std::string& tag, const Copy& c) {
  const char* verb = c.move ? "MOVE" : "COPY";
  auto msns = resolveSet(c.set, c.uid);
  if (!msns) {
    bad(tag, "", "Invalid message sequence number");
    co_return;
  }
  if (c.move && view_->readOnly()) {
    no(tag, "READ-ONLY", "Mailbox is read-only");
    co_return;
  }
  auto dest = co_await lookupMailbox(tag, c.mailbox, verb, "TRYCREATE");
  if (!dest) co_return;
  const auto account = account_->id;
  std::vector<store::Uid> uids = uidsOf(*view_, *msns);
  if (uids.empty()) {
    ok(tag, std::string(verb) + " completed (no messages)");
    co_return;
  }
  const auto from = view_->id();
  const auto to = dest->id;
  const bool move = c.move;
  auto r = co_await writing([&] { return ctx_->mail.copy(account, from, uids, to, move); });
  if (!r) {
    noStore(tag, r.error(), verb);
    co_return;
  }
  std::string code = "COPYUID " + std::to_string(r->uidValidity) + " " + formatSequenceSet(r->sourceUids) + " " +
                     formatSequenceSet(r->destUids);
  if (to == from) dirty_ = true;
  if (move) {
    send("* OK [" + code + "] Moved\r\n");
    send(view_->expunge(r->sourceUids));
    ok(tag, "MOVE completed");
  } else {
    ok(tag, "COPY completed", code);
  }
}

asio::awaitable<void> Session::cmdStore(const std::string& tag, const Store& c) {
  auto msns = resolveSet(c.set, c.uid);
  if (!msns) {
    bad(tag, "", "Invalid message sequence number");
    co_return;
  }
  if (view_->readOnly()) {
    no(tag, "READ-ONLY", "Mailbox is read-only");
    co_return;
  }
  auto flags = parseFlags(c.flags);
  if (!flags) {
    bad(tag, "", "Invalid flag");
    co_return;
  }
  std::vector<store::Uid> uids = uidsOf(*view_, *msns);
  if (!uids.empty()) {
    const auto account = account_->id;
    const auto mailbox = view_->id();
    const store::FlagOp op = c.op == Store::Op::Add      ? store::FlagOp::Add
                             : c.op == Store::Op::Remove ? store::FlagOp::Remove
                                                         : store::FlagOp::Replace;
    auto r = co_await writing([&] { return ctx_->mail.storeFlags(account, mailbox, uids, op, *flags); });
    if (!r) {
      noStore(tag, r.error(), "STORE");
      co_return;
    }
    for (const auto& u : r->updated) view_->setFlags(u.uid, u.flags, u.modSeq);
  }
  if (!c.silent) {
    for (uint32_t msn : *msns) {
      const ViewMessage& m = view_->at(msn);
      std::string line = "* " + std::to_string(msn) + " FETCH (";
      if (c.uid) line += "UID " + std::to_string(m.uid) + " ";
      line += "FLAGS " + formatFlags(m.flags, m.recent && !rev2_) + ")\r\n";
      send(line);
      const bool flowing = co_await flushIfLarge();
      if (!flowing) co_return;
    }
  }
  ok(tag, "STORE completed");
}

asio::awaitable<void> Session::cmdAppend(const std::string& tag, Append& c) {
  for (const auto& m : c.messages) {
    if (m.message.size() > ctx_->settings.maxMessageSize) {
      no(tag, "TOOBIG", "Message exceeds the size limit");
      co_return;
    }
    if (m.message.empty()) {
      no(tag, "CANNOT", "Empty message");
      co_return;
    }
  }
  auto mbox = co_await lookupMailbox(tag, c.mailbox, "APPEND", "TRYCREATE");
  if (!mbox) co_return;
  const auto account = account_->id;
  std::vector<store::NewMessage> batch;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& m : c.messages) {
    auto flags = parseFlags(m.flags);
    if (!flags) {
      bad(tag, "", "Invalid flag");
      co_return;
    }
    store::NewMessage nm;
    nm.flags = *flags;
    nm.size = m.message.size();
    nm.internalDate = m.internalDate ? store::DateTime{m.internalDate->unixSeconds, m.internalDate->tzOffsetMinutes}
                                     : store::DateTime{now, 0};
    batch.push_back(std::move(nm));
  }
  // Each message is parsed once (so FETCH/SEARCH/SORT never parse it again) and staged: a large
  // message's file is durable before the metadata commits; a small one's bytes commit with it (see
  // BlobStore::stage). Small messages, the common case, are parsed and hashed right here and the
  // append joins the writer's next group commit (writing()): two thread hand-offs instead of four.
  // A command with a message that needs a file, or with much to parse, makes one trip to the pool.
  const auto mailbox = mbox->id;
  auto prepare = [&]() -> store::Result<void> {
    for (size_t i = 0; i < c.messages.size(); ++i) {
      const std::string& bytes = c.messages[i].message;
      batch[i].structure = parseForStore(bytes);
      auto staged = ctx_->blobs.stage(bytes);
      if (!staged) return Unexpected<store::Error>{staged.error()};
      batch[i].blobId = staged->id;
      batch[i].inlineBytes = staged->inlineBytes;
    }
    return {};
  };
  size_t total = 0;
  bool allInline = true;
  for (const auto& m : c.messages) {
    total += m.message.size();
    allInline = allInline && m.message.size() <= ctx_->blobs.inlineLimit();
  }
  auto prepareAndAppend = [&]() -> store::Result<store::AppendResult> {
    auto prepared = prepare();
    if (!prepared) return Unexpected<store::Error>{prepared.error()};
    return ctx_->mail.append(account, mailbox, batch);
  };
  std::optional<store::Result<store::AppendResult>> appended;
  if (allInline && total <= kAppendOnWorkerMaxBytes) {
    auto prepared = prepare();
    if (!prepared) {
      noStore(tag, prepared.error(), "APPEND");
      co_return;
    }
    auto w = co_await writing([&] { return ctx_->mail.append(account, mailbox, batch); });
    appended.emplace(std::move(w));
  } else {
    auto b = co_await blocking(prepareAndAppend);
    appended.emplace(std::move(b));
  }
  auto& r = *appended;
  if (!r) {
    noStore(tag, r.error(), "APPEND");
    co_return;
  }
  if (view_ && view_->id() == mailbox) dirty_ = true;
  ok(tag, "APPEND completed",
     "APPENDUID " + std::to_string(r->uidValidity) + " " + formatSequenceSet(r->uids));
}

asio::awaitable<void> Session::cmdIdle(const std::string& tag) {
  if (view_) co_await refresh(true);
  send("+ idling\r\n");
  const bool flowing = co_await flush();
  if (!flowing) co_return;
  idling_ = true;
  if (view_) {
    pusherRunning_ = true;
    asio::co_spawn(stream_->executor(), [self = shared_from_this()]() { return self->idlePusher(); }, asio::detached);
  }
  auto line = co_await readLine(ctx_->settings.idleTimeout);
  idling_ = false;
  if (pusherRunning_) {
    wake_.notify();
    co_await pusherDone_.wait();
  }
  if (!line) co_return;
  if (!iequals(*line, "DONE")) {
    bad(tag, "", "Expected DONE");
    co_return;
  }
  ok(tag, "IDLE terminated");
}

// Runs beside the IDLE read: each change notification becomes untagged responses at once.
asio::awaitable<void> Session::idlePusher() {
  while (idling_ && !closing_) {
    co_await wake_.wait();
    if (!idling_ || closing_) break;
    co_await refresh(true);
    // Not `if (!co_await flush()) break;`: g++ 12.2 miscompiles a co_await in the condition of a
    // break inside a loop (the frame's `this` is garbage on first resume: SIGILL/SIGSEGV at IDLE).
    const bool flushed = co_await flush();
    if (!flushed) break;
    if (closing_) co_await stream_->close();  // the selected mailbox went away: end the read too
  }
  pusherRunning_ = false;
  pusherDone_.notify();
}

}  // namespace tern::imap::server
