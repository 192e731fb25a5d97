// One SMTP, submission or LMTP connection: frames command lines (LineReader), parses them
// (parseCommand), checks each against the command table (policy.h gate) and runs its handler
// (cmd/*.cpp). Handles untrusted bytes; limits: line length, message size, recipients, errors per
// session, messages per connection, command and data timeouts. Store and auth calls run on the pool.
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/input_buffer.h"
#include "net/runtime.h"
#include "net/stream.h"
#include "smtp/protocol/command.h"
#include "smtp/protocol/line_reader.h"
#include "smtp/protocol/reply.h"
#include "smtp/server/context.h"
#include "smtp/server/policy.h"
#include "store/types.h"

namespace tern::smtp::server {

// Runs a session on an accepted connection (implicit TLS already done by the listener for 465).
asio::awaitable<void> runSession(std::shared_ptr<SmtpContext> ctx, Service service,
                                 std::shared_ptr<net::Stream> stream);

// The one place store errors become SMTP replies (RFC 3463 codes); clients never see the detail.
Reply storeErrorReply(const store::Error& error);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<SmtpContext> ctx, Service service, std::shared_ptr<net::Stream> stream);
  ~Session();
  asio::awaitable<void> run();

 private:
  // An accepted RCPT.
  struct Recipient {
    std::string address;                    // forward path as received (normalised domain)
    std::vector<store::AccountId> accounts; // local: where it delivers; empty for remote
    bool remote = false;
    RcptParams params;
  };
  struct Transaction {
    Path reversePath;
    MailParams params;
    std::vector<Recipient> recipients;
    std::string body;         // message bytes received so far (DATA or BDAT), bounded by the size limit
    bool tooBig = false;      // BDAT: a chunk went over the limit; refuse at LAST
  };

  // --- I/O ---
  void reply(const Reply& r);  // queues the reply; 4xx/5xx count as errors
  asio::awaitable<bool> flush();
  asio::awaitable<bool> readMore(std::chrono::milliseconds timeout);
  // Time until `deadline` (at least 1 ms, so an expired deadline still times out through readMore).
  std::chrono::milliseconds timeLeft(std::chrono::steady_clock::time_point deadline) const;
  std::string_view pending() const { return in_.pending(); }
  // Reads one raw line (AUTH exchange); nullopt when the connection ended or the line was bad.
  asio::awaitable<std::optional<std::string>> readLine();

  template <class F>
  auto blocking(F f) {
    return net::offload(ctx_->pool, std::move(f));
  }

  GateState gateState() const;
  bool isSubmission() const { return service_ == Service::Submission || service_ == Service::Submissions; }
  void resetTransaction();

  // --- commands (cmd/*.cpp) ---
  asio::awaitable<void> dispatch(Command& cmd);
  asio::awaitable<void> cmdEhlo(const Ehlo& c);
  asio::awaitable<void> cmdHelo(const Helo& c);
  asio::awaitable<void> cmdStartTls();
  asio::awaitable<void> cmdAuth(const Auth& c);
  asio::awaitable<void> cmdMail(const Mail& c);
  asio::awaitable<void> cmdRcpt(const Rcpt& c);
  asio::awaitable<void> cmdData();
  asio::awaitable<void> cmdBdat(const Bdat& c, bool refused);
  void cmdRset();
  void cmdNoop();
  void cmdQuit();
  void cmdVrfy();
  void cmdHelp();
  // Local address resolution: account, subaddress base, then alias/catch-all.
  asio::awaitable<store::Result<std::vector<store::AccountId>>> resolveLocal(const Mailbox& m);
  // Whether the authenticated account owns `address` (its own, an alias to it, or a subaddress).
  asio::awaitable<bool> ownsAddress(const std::string& address);
  // Adds trace headers, stores the blob, delivers locally and queues remote recipients, then
  // replies (once, or per recipient for LMTP).
  asio::awaitable<void> finishMessage();

  std::shared_ptr<SmtpContext> ctx_;
  Service service_;
  std::shared_ptr<net::Stream> stream_;
  uint64_t id_;
  std::string logPrefix_;
  LineReader lineReader_;
  net::InputBuffer in_;
  std::string out_;
  bool closing_ = false;  // the loop ends after the current command
  bool broken_ = false;   // a write failed: nothing more can be sent
  uint32_t errors_ = 0;
  uint32_t messages_ = 0;

  std::string heloDomain_;
  bool greeted_ = false;
  bool ehlo_ = false;
  std::optional<store::Account> account_;
  std::optional<Transaction> txn_;
  bool inBdat_ = false;
};

}  // namespace tern::smtp::server
