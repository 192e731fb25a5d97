// One IMAP connection: reads and frames commands (CommandReader), parses them (parseCommand), checks
// each against the command table (state, authentication) and runs its handler, then tells the client
// what changed in the selected mailbox. Handles untrusted bytes; limits: line and literal sizes,
// message size, bad-command count, pre-auth and idle timeouts. Store and auth calls run on the pool.
#pragma once

#include <asio.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "imap/protocol/command.h"
#include "imap/protocol/reader.h"
#include "imap/server/context.h"
#include "imap/server/mailbox_view.h"
#include "imap/server/sort.h"
#include "net/input_buffer.h"
#include "net/runtime.h"
#include "net/stream.h"
#include "store/change_hub.h"

namespace tern::imap::server {

// Runs a session on an accepted connection (implicit TLS already done by the listener if configured).
asio::awaitable<void> runSession(std::shared_ptr<ImapContext> ctx, std::shared_ptr<net::Stream> stream);

enum class SessionState { NotAuthenticated, Authenticated, Selected, Logout };

// A one-shot wake-up on the session's executor, used to wake IDLE on change notifications.
class Signal {
 public:
  explicit Signal(asio::any_io_executor ex) : timer_(ex) { timer_.expires_at(asio::steady_timer::time_point::max()); }
  void notify() {
    set_ = true;
    timer_.cancel();
  }
  asio::awaitable<void> wait();
  bool isSet() const { return set_; }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ImapContext> ctx, std::shared_ptr<net::Stream> stream);
  ~Session();
  asio::awaitable<void> run();

 private:
  friend struct CommandDispatch;
  // --- I/O ---
  void send(std::string_view text) { out_ += text; }
  asio::awaitable<bool> flush();  // false when the connection failed
  asio::awaitable<bool> flushIfLarge();
  void tagged(const std::string& tag, std::string_view status, std::string_view code, std::string_view text);
  void emitTagged() {
    out_ += tagged_;
    tagged_.clear();
  }
  void ok(const std::string& tag, std::string_view text, std::string_view code = {}) { tagged(tag, "OK", code, text); }
  void no(const std::string& tag, std::string_view code, std::string_view text) { tagged(tag, "NO", code, text); }
  void bad(const std::string& tag, std::string_view code, std::string_view text);
  void noStore(const std::string& tag, const store::Error& err, std::string_view what);
  // Reads one raw line (AUTHENTICATE responses, IDLE's DONE); nullopt when the connection ended.
  asio::awaitable<std::optional<std::string>> readLine(std::chrono::milliseconds timeout);
  asio::awaitable<bool> readMore(std::chrono::milliseconds timeout);
  std::chrono::milliseconds currentTimeout() const;

  // Work that may wait (a write waits for its commit and fsync; Argon2; scans and searches of whole
  // mailboxes; message parsing) runs on the blocking pool. Small indexed reads (a mailbox's status,
  // the mailbox list, what changed since the last look, a chunk of FETCH rows, the index of a
  // mailbox below kSelectOnWorkerMaxUid) are made right on the worker: in WAL mode a reader never
  // waits for the writer, and two thread hand-offs cost more than the query.
  static constexpr store::Uid kSelectOnWorkerMaxUid = 20000;
  // APPENDs of inline-sized messages up to this many bytes in all are parsed on the worker.
  static constexpr size_t kAppendOnWorkerMaxBytes = 256 * 1024;
  template <class F>
  auto blocking(F f) {
    return net::offload(ctx_->pool, std::move(f));
  }
  // A store write: f (which calls MailStore write methods) runs on the store's writer as part of its
  // next group commit, and the session resumes when that commit is done. No thread waits for the
  // fsync: two thread hand-offs per write instead of four, and one wake-up per worker for a whole
  // batch of writers instead of one per blocked pool thread.
  template <class F>
  asio::awaitable<std::invoke_result_t<F>> writing(F f) {
    using R = std::invoke_result_t<F>;
    std::optional<R> result;
    store::Result<void> commit;
    co_await net::whenCalledBack(stream_->executor(), [&](std::function<void()> done) {
      ctx_->mail.runOnWriter([&] { result.emplace(f()); }, [&commit, done](store::Result<void> r) {
        commit = std::move(r);
        done();
      });
    });
    if (!commit) co_return R(tern::Unexpected<store::Error>{commit.error()});
    if (!result) co_return R(tern::Unexpected<store::Error>{store::Error{store::Errc::Internal, "write did not run"}});
    co_return std::move(*result);
  }

  // --- mailbox names at the protocol edge ---
  bool utf8Names() const { return rev2_ || utf8Accept_; }
  std::optional<std::string> decodeMailboxName(const std::string& wire) const;
  std::string encodeMailboxName(std::string_view utf8) const;
  void appendMailboxName(std::string& out, std::string_view utf8) const;
  // Decodes a client's mailbox name and finds it in the store. On failure the tagged NO is set:
  // `missingCode` (NONEXISTENT, or TRYCREATE for COPY/MOVE/APPEND targets) when it does not exist.
  asio::awaitable<std::optional<store::MailboxInfo>> lookupMailbox(const std::string& tag, const std::string& wire,
                                                                   std::string_view verb,
                                                                   std::string_view missingCode);

  // --- selected mailbox ---
  asio::awaitable<void> refresh(bool allowExpunge);
  void deselect();
  std::string capabilities() const;
  bool plaintextAuthAllowed() const;

  // --- commands (cmd/*.cpp) ---
  asio::awaitable<void> dispatch(Command& cmd);
  asio::awaitable<void> cmdCapability(const std::string& tag);
  asio::awaitable<void> cmdNoop(const std::string& tag);
  asio::awaitable<void> cmdLogout(const std::string& tag);
  asio::awaitable<void> cmdStartTls(const std::string& tag);
  asio::awaitable<void> cmdLogin(const std::string& tag, const Login& c);
  asio::awaitable<void> cmdAuthenticate(const std::string& tag, const Authenticate& c);
  asio::awaitable<void> cmdEnable(const std::string& tag, const Enable& c);
  asio::awaitable<void> cmdId(const std::string& tag, const Id& c);
  asio::awaitable<void> cmdNamespace(const std::string& tag);
  asio::awaitable<void> cmdSelect(const std::string& tag, const Select& c);
  asio::awaitable<void> cmdCreate(const std::string& tag, const Create& c);
  asio::awaitable<void> cmdDelete(const std::string& tag, const Delete& c);
  asio::awaitable<void> cmdRename(const std::string& tag, const Rename& c);
  asio::awaitable<void> cmdSubscribe(const std::string& tag, const Subscribe& c);
  asio::awaitable<void> cmdList(const std::string& tag, const List& c);
  asio::awaitable<void> cmdStatus(const std::string& tag, const Status& c);
  asio::awaitable<void> cmdAppend(const std::string& tag, Append& c);
  asio::awaitable<void> cmdIdle(const std::string& tag);
  asio::awaitable<void> cmdCheck(const std::string& tag);
  asio::awaitable<void> cmdClose(const std::string& tag, bool expunge);
  asio::awaitable<void> cmdExpunge(const std::string& tag, const Expunge& c);
  asio::awaitable<void> cmdCopy(const std::string& tag, const Copy& c);
  asio::awaitable<void> cmdStore(const std::string& tag, const Store& c);
  asio::awaitable<void> cmdFetch(const std::string& tag, const Fetch& c);
  asio::awaitable<void> cmdSearch(const std::string& tag, const Search& c);
  // The MSNs (ascending) matching a search key, for SEARCH, SORT and THREAD; nullopt after a tagged
  // NO/BAD has been queued (bad charset, store failure).
  asio::awaitable<std::optional<std::vector<uint32_t>>> searchMatches(const std::string& tag,
                                                                       const std::optional<std::string>& charset,
                                                                       const SearchKey& key);
  asio::awaitable<std::optional<std::vector<SortItem>>> sortItems(
      const std::string& tag, const std::vector<uint32_t>& msns, bool uid,
      std::vector<StructurePtr>& keep);
  asio::awaitable<void> cmdSort(const std::string& tag, const Sort& c);
  asio::awaitable<void> cmdThread(const std::string& tag, const Thread& c);
  asio::awaitable<void> idlePusher();
  asio::awaitable<void> finishLogin(const std::string& tag, const store::Account& account);
  asio::awaitable<void> authFailed(const std::string& tag, std::chrono::milliseconds delay, bool throttled);

  std::shared_ptr<ImapContext> ctx_;
  std::shared_ptr<net::Stream> stream_;
  uint64_t id_;
  std::string logPrefix_;
  CommandReader reader_;
  net::InputBuffer in_;  // bytes read but not yet consumed
  std::string out_;      // responses not yet written
  bool writing_ = false; // a flush is running; others leave their bytes to it (IDLE pusher vs. main)
  std::string tagged_;   // the tagged completion, sent after the untagged updates of the refresh
  SessionState state_ = SessionState::NotAuthenticated;
  std::optional<store::Account> account_;
  bool rev2_ = false;
  bool utf8Accept_ = false;
  uint32_t badCommands_ = 0;
  bool closing_ = false;
  // Set at connect: before login every read is bounded by this, not only by a per-read timeout, so a
  // client dribbling a byte a second cannot hold its slot past preauth_timeout.
  std::chrono::steady_clock::time_point preAuthDeadline_;

  std::optional<MailboxView> view_;
  store::ChangeHub::Subscription subscription_;
  bool dirty_ = false;         // a change notification arrived since the last refresh
  Signal wake_;                // IDLE pusher wake-up
  bool idling_ = false;
  bool pusherRunning_ = false;
  Signal pusherDone_;
  std::vector<store::Uid> savedSearch_;  // SEARCHRES "$", as UIDs
  // Resolves a sequence set (MSN or UID, or "$") against the view; nullopt for invalid MSNs.
  std::optional<std::vector<uint32_t>> resolveSet(const SequenceSet& set, bool uid) const;
};

}  // namespace tern::imap::server
