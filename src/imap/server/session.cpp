// The IMAP session loop: framing, parsing, the command gate, dispatch, and the selected-mailbox refresh
// that follows every command. Untrusted bytes arrive here; every limit is enforced before a handler runs.
#include "imap/server/session.h"

#include <algorithm>
#include <array>
#include <asio/experimental/as_tuple.hpp>

#include "imap/protocol/mutf7.h"
#include "imap/protocol/parser.h"
#include "imap/protocol/response.h"
#include "net/address.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::imap::server {

asio::awaitable<void> Signal::wait() {
  if (!set_) {
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  set_ = false;
}

namespace {

ReaderLimits preAuthReaderLimits(const ReaderLimits& full) {
  // Before login only LOGIN and ID take literals; megabytes there would let an anonymous client
  // make the server hold them (times the per-IP connection limit). The full limits apply after login.
  constexpr uint64_t kPreAuthMaxLiteral = 8 * 1024;
  ReaderLimits r = full;
  r.maxLiteralSize = std::min<uint64_t>(full.maxLiteralSize, kPreAuthMaxLiteral);
  r.maxCommandSize = std::min<uint64_t>(full.maxCommandSize, r.maxLiteralSize + uint64_t{full.maxLineLength} * 4);
  return r;
}

}  // namespace

asio::awaitable<void> runSession(std::shared_ptr<ImapContext> ctx, std::shared_ptr<net::Stream> stream) {
  auto session = std::make_shared<Session>(std::move(ctx), std::move(stream));
  co_await session->run();
}

Session::Session(std::shared_ptr<ImapContext> ctx, std::shared_ptr<net::Stream> stream)
    : ctx_(std::move(ctx)),
      stream_(std::move(stream)),
      id_(ctx_->nextSessionId++),
      reader_(preAuthReaderLimits(ctx_->settings.reader)),
      wake_(stream_->executor()),
      pusherDone_(stream_->executor()) {
  logPrefix_ = "session=" + std::to_string(id_) + " ";
  preAuthDeadline_ = std::chrono::steady_clock::now() + ctx_->settings.preAuthTimeout;
  ++ctx_->activeSessions;
}

Session::~Session() { --ctx_->activeSessions; }

namespace {

// The command table: which states each command is allowed in, by CommandBody alternative.
constexpr uint8_t kNotAuth = 1, kAuth = 2, kSelected = 4;
constexpr uint8_t kAny = kNotAuth | kAuth | kSelected;
struct CommandRule {
  const char* name;
  uint8_t states;
};
constexpr std::array<CommandRule, std::variant_size_v<CommandBody>> kRules = {{
    {"CAPABILITY", kAny},      {"NOOP", kAny},          {"LOGOUT", kAny},       {"STARTTLS", kNotAuth},
    {"AUTHENTICATE", kNotAuth}, {"LOGIN", kNotAuth},     {"ENABLE", kAuth | kSelected},
    {"ID", kAny},              {"NAMESPACE", kAuth | kSelected}, {"SELECT", kAuth | kSelected},
    {"CREATE", kAuth | kSelected}, {"DELETE", kAuth | kSelected}, {"RENAME", kAuth | kSelected},
    {"SUBSCRIBE", kAuth | kSelected}, {"LIST", kAuth | kSelected}, {"STATUS", kAuth | kSelected},
    {"APPEND", kAuth | kSelected}, {"IDLE", kAuth | kSelected}, {"CHECK", kSelected},
    {"CLOSE", kSelected},      {"UNSELECT", kSelected}, {"EXPUNGE", kSelected}, {"COPY", kSelected},
    {"STORE", kSelected},      {"FETCH", kSelected},    {"SEARCH", kSelected},
    {"SORT", kSelected},       {"THREAD", kSelected},
}};
static_assert(std::variant_size_v<CommandBody> == 28, "update kRules with CommandBody");

uint8_t stateBit(SessionState s) {
  switch (s) {
    case SessionState::NotAuthenticated: return kNotAuth;
    case SessionState::Authenticated: return kAuth;
    case SessionState::Selected: return kSelected;
    case SessionState::Logout: return 0;
  }
  return 0;
}

constexpr size_t kFlushThreshold = 256 * 1024;
constexpr size_t kReadChunk = 16 * 1024;

}  // namespace

void Session::tagged(const std::string& tag, std::string_view status, std::string_view code, std::string_view text) {
  tagged_ += tag;
  tagged_ += ' ';
  tagged_ += status;
  tagged_ += ' ';
  if (!code.empty()) {
    tagged_ += '[';
    tagged_ += code;
    tagged_ += "] ";
  }
  tagged_ += text;
  tagged_ += "\r\n";
}

void Session::bad(const std::string& tag, std::string_view code, std::string_view text) {
  ++badCommands_;
  tagged(tag, "BAD", code, text);
}

// The one place store errors become IMAP: clients get a response code and a fixed text; the log
// gets the detail.
void Session::noStore(const std::string& tag, const store::Error& err, std::string_view what) {
  std::string_view code, text;
  switch (err.code) {
    case store::Errc::NotFound: code = "NONEXISTENT"; text = "No such mailbox or message"; break;
    case store::Errc::AlreadyExists: code = "ALREADYEXISTS"; text = "Mailbox already exists"; break;
    case store::Errc::Invalid: code = "CANNOT"; text = "Operation not permitted"; break;
    case store::Errc::HasChildren: code = "HASCHILDREN"; text = "Mailbox has children"; break;
    case store::Errc::OverQuota: code = "OVERQUOTA"; text = "Quota exceeded"; break;
    case store::Errc::Conflict: code = "MODIFIED"; text = "Changed meanwhile"; break;
    case store::Errc::Unavailable: code = "UNAVAILABLE"; text = "Temporary failure, try again"; break;
    case store::Errc::Internal: code = "SERVERBUG"; text = "Internal error"; break;
  }
  if (err.code == store::Errc::Internal || err.code == store::Errc::Unavailable)
    log::error("imap") << logPrefix_ << what << " failed: " << err.detail;
  else
    log::debug("imap") << logPrefix_ << what << ": " << err.detail;
  no(tag, code, text);
}

asio::awaitable<bool> Session::flush() {
  // One writer at a time: a flush already running sends whatever is appended meanwhile, in order.
  if (writing_) co_return !closing_;
  writing_ = true;
  while (!out_.empty()) {
    std::string data;
    data.swap(out_);
    auto ec = co_await stream_->write(data);
    if (ec) {
      closing_ = true;
      break;
    }
  }
  writing_ = false;
  co_return !closing_;
}

asio::awaitable<bool> Session::flushIfLarge() {
  if (out_.size() < kFlushThreshold) co_return true;
  co_return co_await flush();
}

std::chrono::milliseconds Session::currentTimeout() const {
  return state_ == SessionState::NotAuthenticated ? ctx_->settings.preAuthTimeout : ctx_->settings.idleTimeout;
}

asio::awaitable<bool> Session::readMore(std::chrono::milliseconds timeout) {
  if (in_.empty()) in_.release();  // the storage too, not only its contents: see the wait below
  if (state_ == SessionState::NotAuthenticated) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(preAuthDeadline_ - std::chrono::steady_clock::now());
    timeout = std::max(std::chrono::milliseconds{1}, std::min(left, timeout));
  }
  // With nothing buffered, wait for data before taking a read buffer: an idle session (IDLE, or
  // between commands) then holds no 16 KiB chunk, which matters with thousands of connections.
  std::error_code ec;
  if (in_.empty()) {
    const auto start = std::chrono::steady_clock::now();
    ec = co_await stream_->waitReadable(timeout);
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    timeout = std::max(std::chrono::milliseconds{1}, timeout - waited);
  }
  if (!ec) {
    char* room = in_.prepare(kReadChunk);
    auto [readEc, n] = co_await stream_->readSome(asio::buffer(room, kReadChunk), timeout);
    in_.commit(n);
    ec = readEc;
  }
  if (ec) {
    if (ec == asio::error::timed_out) {
      send("* BYE Autologout; idle for too long\r\n");
      co_await flush();
    }
    closing_ = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<std::string>> Session::readLine(std::chrono::milliseconds timeout) {
  std::string line;
  for (;;) {
    std::string_view avail = in_.pending();
    bool tooLong = false;
    bool got = reader_.feedLine(avail, line, tooLong);
    in_.consumeUntil(avail);
    if (tooLong) {
      send("* BYE Line too long\r\n");
      co_await flush();
      closing_ = true;
      co_return std::nullopt;
    }
    if (got) co_return line;
    const bool flowing = co_await readMore(timeout);
    if (!flowing) co_return std::nullopt;
  }
}

bool Session::plaintextAuthAllowed() const {
  return stream_->isTls() || net::addressInNetworks(stream_->remoteAddress(), ctx_->settings.trustedNetworks);
}

std::string Session::capabilities() const {
  std::string caps = "IMAP4rev1 IMAP4rev2";
  if (state_ == SessionState::NotAuthenticated) {
    if (!stream_->isTls() && ctx_->settings.tlsAvailable) caps += " STARTTLS";
    if (plaintextAuthAllowed())
      caps += " AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-256 SASL-IR";
    else
      caps += " LOGINDISABLED";
  }
  caps += " LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT";
  if (state_ != SessionState::NotAuthenticated)
    caps += " UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE MULTIAPPEND"
            " ESEARCH SEARCHRES STATUS=SIZE UTF8=ACCEPT"
            " BINARY PREVIEW SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES";
  return caps;
}

std::optional<std::string> Session::decodeMailboxName(const std::string& wire) const {
  if (iequals(wire, "INBOX")) return std::string("INBOX");
  if (utf8Names()) {
    if (!isValidUtf8(wire)) return std::nullopt;
    return wire;
  }
  return mutf7Decode(wire);
}

std::string Session::encodeMailboxName(std::string_view utf8) const {
  return utf8Names() ? std::string(utf8) : mutf7Encode(utf8);
}

void Session::appendMailboxName(std::string& out, std::string_view utf8) const {
  std::string wire = encodeMailboxName(utf8);
  appendString(out, wire, utf8Names());
}

asio::awaitable<std::optional<store::MailboxInfo>> Session::lookupMailbox(const std::string& tag,
                                                                          const std::string& wire,
                                                                          std::string_view verb,
                                                                          std::string_view missingCode) {
  auto name = decodeMailboxName(wire);
  if (!name) {
    no(tag, missingCode, "No such mailbox");
    co_return std::nullopt;
  }
  const auto account = account_->id;
  auto mbox = ctx_->mail.findMailbox(account, *name);  // an indexed read: on the worker (see blocking())
  if (!mbox) {
    if (mbox.error().code == store::Errc::NotFound)
      no(tag, missingCode, "No such mailbox");
    else
      noStore(tag, mbox.error(), verb);
    co_return std::nullopt;
  }
  co_return std::move(*mbox);
}

std::optional<std::vector<uint32_t>> Session::resolveSet(const SequenceSet& set, bool uid) const {
  if (!view_) return std::nullopt;
  if (set.savedResult) {
    std::vector<uint32_t> out;
    for (store::Uid u : savedSearch_)
      if (auto msn = view_->msnOf(u)) out.push_back(*msn);
    std::sort(out.begin(), out.end());
    return out;
  }
  return view_->resolve(set, uid);
}

void Session::deselect() {
  subscription_.reset();
  view_.reset();
  savedSearch_.clear();
  dirty_ = false;
  if (state_ == SessionState::Selected) state_ = SessionState::Authenticated;
}

asio::awaitable<void> Session::refresh(bool allowExpunge) {
  if (!view_) co_return;
  dirty_ = false;
  const store::AccountId account = account_->id;
  const store::MailboxId mailbox = view_->id();
  const store::ModSeq since = view_->seenModSeq();
  const store::Uid uidNext = view_->uidNext();
  const bool claims = !rev2_ && !view_->readOnly();
  store::Uid recentFrom = 0;
  // On the worker: indexed reads of what changed since the last look (the \Recent claim does not wait
  // for a write). A new message wakes every IDLE session at once; with thousands of them, hops to
  // the blocking pool and back, not the queries, were what delayed the last one.
  auto changes = ctx_->mail.changesSince(account, mailbox, since);
  const bool hasNew = changes && std::any_of(changes->changed.begin(), changes->changed.end(),
                                             [&](const store::MessageMeta& m) { return m.uid >= uidNext; });
  if (hasNew && claims) {
    auto claimed = ctx_->mail.claimRecent(account, mailbox);
    if (claimed) recentFrom = *claimed;
  }
  if (!changes) {
    if (changes.error().code == store::Errc::NotFound) {
      // The selected mailbox was deleted or renamed away by another session.
      send("* BYE Selected mailbox no longer exists\r\n");
      closing_ = true;
    } else {
      log::warn("imap") << logPrefix_ << "refresh failed: " << changes.error().detail;
    }
    co_return;
  }
  auto out = view_->apply(*changes, allowExpunge, recentFrom, !rev2_);
  if (out.newKeywords) {
    std::string kw;
    for (const auto& k : view_->keywords()) kw += " " + k;
    send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")\r\n");
    if (!view_->readOnly())
      send("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + " \\*)] Flags permitted\r\n");
  }
  send(out.untagged);
}

asio::awaitable<void> Session::dispatch(Command& cmd) {
  const std::string& tag = cmd.tag;
  const CommandRule& rule = kRules[cmd.body.index()];
  if (!(rule.states & stateBit(state_))) {
    if (state_ == SessionState::NotAuthenticated)
      bad(tag, "", std::string(rule.name) + " needs authentication first");
    else if (rule.states == kSelected)
      bad(tag, "", std::string(rule.name) + " needs a selected mailbox");
    else
      bad(tag, "", std::string(rule.name) + " not allowed now");
    co_return;
  }
  // EXPUNGE responses are not allowed while a FETCH, STORE or SEARCH by sequence number runs.
  bool allowExpunge = true;
  bool forceRefresh = false;
  co_await std::visit(
      [&](auto& c) -> asio::awaitable<void> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, Capability>) co_await cmdCapability(tag);
        else if constexpr (std::is_same_v<T, Noop>) { forceRefresh = true; co_await cmdNoop(tag); }
        else if constexpr (std::is_same_v<T, Logout>) co_await cmdLogout(tag);
        else if constexpr (std::is_same_v<T, StartTls>) co_await cmdStartTls(tag);
        else if constexpr (std::is_same_v<T, Authenticate>) co_await cmdAuthenticate(tag, c);
        else if constexpr (std::is_same_v<T, Login>) co_await cmdLogin(tag, c);
        else if constexpr (std::is_same_v<T, Enable>) co_await cmdEnable(tag, c);
        else if constexpr (std::is_same_v<T, Id>) co_await cmdId(tag, c);
        else if constexpr (std::is_same_v<T, Namespace>) co_await cmdNamespace(tag);
        else if constexpr (std::is_same_v<T, Select>) co_await cmdSelect(tag, c);
        else if constexpr (std::is_same_v<T, Create>) co_await cmdCreate(tag, c);
        else if constexpr (std::is_same_v<T, Delete>) co_await cmdDelete(tag, c);
        else if constexpr (std::is_same_v<T, Rename>) co_await cmdRename(tag, c);
        else if constexpr (std::is_same_v<T, Subscribe>) co_await cmdSubscribe(tag, c);
        else if constexpr (std::is_same_v<T, List>) co_await cmdList(tag, c);
        else if constexpr (std::is_same_v<T, Status>) co_await cmdStatus(tag, c);
        else if constexpr (std::is_same_v<T, Append>) co_await cmdAppend(tag, c);
        else if constexpr (std::is_same_v<T, Idle>) co_await cmdIdle(tag);
        else if constexpr (std::is_same_v<T, Check>) { forceRefresh = true; co_await cmdCheck(tag); }
        else if constexpr (std::is_same_v<T, Close>) co_await cmdClose(tag, true);
        else if constexpr (std::is_same_v<T, Unselect>) co_await cmdClose(tag, false);
        else if constexpr (std::is_same_v<T, Expunge>) co_await cmdExpunge(tag, c);
        else if constexpr (std::is_same_v<T, Copy>) co_await cmdCopy(tag, c);
        else if constexpr (std::is_same_v<T, Store>) { allowExpunge = c.uid; co_await cmdStore(tag, c); }
        else if constexpr (std::is_same_v<T, Fetch>) { allowExpunge = c.uid; co_await cmdFetch(tag, c); }
        else if constexpr (std::is_same_v<T, Search>) { allowExpunge = c.uid; co_await cmdSearch(tag, c); }
        else if constexpr (std::is_same_v<T, Sort>) { allowExpunge = c.uid; co_await cmdSort(tag, c); }
        else if constexpr (std::is_same_v<T, Thread>) { allowExpunge = c.uid; co_await cmdThread(tag, c); }
      },
      cmd.body);
  if (view_ && !closing_ && (dirty_ || forceRefresh)) co_await refresh(allowExpunge);
  else if (view_ && allowExpunge) send(view_->flushPendingExpunges());
}

asio::awaitable<void> Session::run() {
  log::info("imap") << logPrefix_ << "connect from " << stream_->remoteAddress() << (stream_->isTls() ? " tls" : "");
  send("* OK [CAPABILITY " + capabilities() + "] Tern ready\r\n");
  co_await flush();
  while (!closing_) {
    std::string_view avail = in_.pending();
    auto ev = reader_.feed(avail);
    in_.consumeUntil(avail);
    switch (ev.status) {
      case CommandReader::Status::NeedMore: {
        // A named result, not `if (!co_await ...)`: g++ 12 miscompiles co_await in some conditions.
        const bool flowing = co_await readMore(currentTimeout());
        if (!flowing) closing_ = true;
        break;
      }
      case CommandReader::Status::NeedLiteral:
        send("+ Ready for literal data\r\n");
        reader_.acceptLiteral();
        co_await flush();
        break;
      case CommandReader::Status::LiteralTooLarge: {
        std::string tag = reader_.tag();
        if (ev.fatal || tag.empty()) {
          send("* BYE Literal too large\r\n");
          closing_ = true;
        } else {
          no(tag, "TOOBIG", "Literal exceeds the size limit");
          emitTagged();
        }
        reader_.reset();
        co_await flush();
        break;
      }
      case CommandReader::Status::LineTooLong:
        send("* BYE Command line too long\r\n");
        co_await flush();
        closing_ = true;
        break;
      case CommandReader::Status::Complete: {
        std::string text = reader_.takeCommand();
        ParserOptions popts;
        auto parsed = parseCommand(text, popts);
        if (!parsed) {
          const auto& e = parsed.error();
          bad(e.tag.empty() ? "*" : e.tag, e.code, e.text);
        } else {
          co_await dispatch(*parsed);
        }
        emitTagged();
        if (badCommands_ > ctx_->settings.maxBadCommands) {
          send("* BYE Too many invalid commands\r\n");
          closing_ = true;
        }
        if (state_ == SessionState::Logout) closing_ = true;
        co_await flush();
        break;
      }
    }
  }
  deselect();
  co_await flush();
  co_await stream_->close();
  log::info("imap") << logPrefix_ << "disconnect" << (account_ ? " user=" + account_->address : std::string());
}

}  // namespace tern::imap::server
