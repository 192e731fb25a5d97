// Golden transcripts of whole SMTP/LMTP sessions, in process: a real Session on a loopback socket
// with a real SqliteStore, driven by a blocking client. Expected replies follow RFC 5321/2033/2920.
#include "smtp/server/session.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "store/sqlite/sqlite_store.h"

namespace tern::smtp::server {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-smtp-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store::SqliteOptions o;
    o.synchronousFull = false;
    o.externalPollInterval = pollInterval_;
    auto s = store::SqliteStore::open(dir_ + "/data", o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    ASSERT_TRUE(store_->addDomain("example.test").ok());
    auto b = store_->addAccount("bob@example.test", store::Credentials{});
    ASSERT_TRUE(b.ok());
    bob_ = *b;
    auth_ = std::make_unique<auth::Authenticator>(*store_);
  }
  void TearDown() override {
    if (server_.joinable()) server_.join();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts one session of `service` and returns the connected client socket.
  asio::ip::tcp::socket connect(Service service, SmtpSettings settings = {}) {
    settings.tlsAvailable = false;
    ctx_ = std::shared_ptr<SmtpContext>(
        new SmtpContext{*store_, *store_, store_->blobs(), *auth_, pool_, settings});
    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client(clientIo_);
    client.connect(acceptor.local_endpoint());
    auto serverSocket = acceptor.accept();
    auto stream = std::make_shared<net::Stream>(std::move(serverSocket), nullptr);
    asio::co_spawn(io_, runSession(ctx_, service, stream), asio::detached);
    server_ = std::thread([this] { io_.run(); });
    return client;
  }

  // Reads replies until `count` final reply lines ("NNN " form) arrived; returns them all.
  std::string read(asio::ip::tcp::socket& s, int count) {
    std::string out;
    int finals = 0;
    while (finals < count) {
      std::string line;
      char c;
      for (;;) {
        std::error_code ec;
        size_t n = asio::read(s, asio::buffer(&c, 1), ec);
        if (ec || n == 0) return out;
        line += c;
        if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) break;
      }
      if (line.size() >= 4 && line[3] == ' ') ++finals;
      out += line;
    }
    return out;
  }
  void write(asio::ip::tcp::socket& s, std::string_view data) { asio::write(s, asio::buffer(data)); }

  std::chrono::milliseconds pollInterval_{0};  // 0: no poller, so no directory generation and no cache
  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<auth::Authenticator> auth_;
  store::AccountId bob_ = 0;
  asio::io_context io_;
  asio::io_context clientIo_;
  asio::thread_pool pool_{2};
  std::shared_ptr<SmtpContext> ctx_;
  std::thread server_;
};

TEST_F(SessionTest, PipelinedInboundTransaction) {
  auto c = connect(Service::Inbound);
  EXPECT_EQ(read(c, 1), "220 localhost ESMTP ready\r\n");
  write(c, "EHLO client.test\r\n");
  std::string ehlo = read(c, 1);
  EXPECT_EQ(ehlo.substr(0, 4), "250-");
  EXPECT_NE(ehlo.find("250-PIPELINING\r\n"), std::string::npos);
  EXPECT_NE(ehlo.find("ENHANCEDSTATUSCODES"), std::string::npos);
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);  // no TLS configured
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);      // never on port 25
  // RFC 2920: the whole group in one write; replies come in order.
  write(c, "MAIL FROM:<a@remote.test>\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<bob+x@example.test>\r\n"
           "DATA\r\n");
  std::string r = read(c, 4);
  EXPECT_EQ(r.substr(0, r.find("\r\n") + 2).substr(0, 10), "250 2.1.0 ");
  EXPECT_NE(r.find("550 5.1.1 "), std::string::npos);
  EXPECT_NE(r.find("250 2.1.5 "), std::string::npos);
  EXPECT_NE(r.find("354 "), std::string::npos);
  write(c, "Subject: t\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n");
  r = read(c, 2);
  EXPECT_EQ(r.substr(0, 24), "250 2.0.0 Ok: queued as ");
  EXPECT_NE(r.find("221 2.0.0 "), std::string::npos);

  auto inbox = store_->findMailbox(bob_, "INBOX");
  ASSERT_TRUE(inbox.ok());
  auto msgs = store_->listMessages(bob_, inbox->id);
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  auto blob = store_->blobs().open((*msgs)[0].blobId);
  ASSERT_TRUE(blob.ok());
  std::string_view bytes = (*blob)->bytes();
  EXPECT_EQ(bytes.substr(0, 29), "Return-Path: <a@remote.test>\r");
  const std::string_view body = "Subject: t\r\n\r\n.dot\r\nbody\r\n";  // dot-unstuffed
  ASSERT_GE(bytes.size(), body.size());
  EXPECT_EQ(bytes.substr(bytes.size() - body.size()), body);
}

TEST_F(SessionTest, BarePostmasterIsAccepted) {
  ASSERT_TRUE(store_->addAlias("postmaster@example.test", {"bob@example.test"}).ok());
  auto c = connect(Service::Inbound);
  read(c, 1);
  write(c, "HELO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<postmaster@elsewhere.test>\r\nQUIT\r\n");
  std::string r = read(c, 5);
  EXPECT_NE(r.find("250 2.1.5 "), std::string::npos) << r;
  EXPECT_NE(r.find("554 5.7.1 "), std::string::npos) << r;  // not ours: no relay
}

TEST_F(SessionTest, ErrorBudgetEndsWith421) {
  SmtpSettings s;
  s.maxErrors = 2;
  auto c = connect(Service::Inbound, s);
  read(c, 1);
  write(c, "MAIL FROM:<a@remote.test>\r\nBOGUS\r\nNOOP\r\n");
  std::string r = read(c, 3);
  EXPECT_EQ(r, "503 5.5.1 Send EHLO/HELO first\r\n500 5.5.2 Error: command not recognized\r\n"
               "421 4.7.0 localhost Error: too many errors, closing connection\r\n");
}

TEST_F(SessionTest, LmtpRepliesPerRecipient) {
  auto c = connect(Service::Lmtp);
  EXPECT_EQ(read(c, 1).substr(0, 4), "220 ");
  write(c, "LHLO client.test\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<BOB@example.test>\r\n"
           "DATA\r\n");
  std::string r = read(c, 5);
  EXPECT_NE(r.find("354 "), std::string::npos);
  write(c, "Subject: l\r\n\r\nx\r\n.\r\n");
  r = read(c, 2);
  EXPECT_EQ(r, "250 2.1.5 Ok: delivered to <bob@example.test>\r\n250 2.1.5 Ok: delivered to <BOB@example.test>\r\n");
  // Both RCPTs named one account: one copy.
  auto inbox = store_->findMailbox(bob_, "INBOX");
  ASSERT_TRUE(inbox.ok());
  auto msgs = store_->listMessages(bob_, inbox->id);
  ASSERT_TRUE(msgs.ok());
  EXPECT_EQ(msgs->size(), 1u);
  write(c, "QUIT\r\n");
  read(c, 1);
}

// With the store's poller running (as in `tern serve`) RCPT's answers are cached per directory
// generation.
class CachedRecipientsTest : public SessionTest {
 protected:
  CachedRecipientsTest() { pollInterval_ = std::chrono::milliseconds(20); }

  // Another process's view of the same database (the CLI).
  std::unique_ptr<store::SqliteStore> otherProcess() {
    store::SqliteOptions o;
    o.synchronousFull = false;
    o.externalPollInterval = std::chrono::milliseconds(0);
    auto s = store::SqliteStore::open(dir_ + "/data", o);
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Bounded wait (5 s) until this process's store has noticed a directory change.
  bool generationMoves(uint64_t from) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (store_->directoryGeneration() != from) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // An inbound session past EHLO and MAIL FROM, ready for RCPTs.
  asio::ip::tcp::socket openTransaction() {
    auto c = connect(Service::Inbound);
    read(c, 1);
    write(c, "EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n");
    read(c, 2);
    return c;
  }

  // The reply's code and enhanced code ("250 2.1.5 ").
  std::string rcpt(asio::ip::tcp::socket& c, const std::string& address) {
    write(c, "RCPT TO:<" + address + ">\r\n");
    return read(c, 1).substr(0, 10);
  }
};

TEST_F(CachedRecipientsTest, AnswersAreCachedAndARemovalHereEndsThemAtOnce) {
  auto c = openTransaction();
  EXPECT_EQ(rcpt(c, "bob@example.test"), "250 2.1.5 ");
  EXPECT_EQ(ctx_->recipients.size(), 2u) << "the domain and the address";
  EXPECT_EQ(rcpt(c, "bob@example.test"), "250 2.1.5 ");  // from the cache

  ASSERT_TRUE(store_->removeAccount("bob@example.test").ok());
  EXPECT_EQ(rcpt(c, "bob@example.test"), "550 5.1.1 ");
  write(c, "QUIT\r\n");
  read(c, 1);
}

TEST_F(CachedRecipientsTest, AnotherProcesssRemovalEndsACachedAnswerWithinThePoll) {
  ASSERT_TRUE(store_->addAlias("sales@example.test", {"bob@example.test"}).ok());
  auto c = openTransaction();
  EXPECT_EQ(rcpt(c, "sales@example.test"), "250 2.1.5 ");
  ASSERT_EQ(ctx_->recipients.size(), 2u);

  const uint64_t before = *store_->directoryGeneration();
  auto cli = otherProcess();
  ASSERT_TRUE(cli);
  ASSERT_TRUE(cli->removeAlias("sales@example.test").ok());
  ASSERT_TRUE(generationMoves(before));
  EXPECT_EQ(rcpt(c, "sales@example.test"), "550 5.1.1 ");
  write(c, "QUIT\r\n");
  read(c, 1);
}

TEST_F(CachedRecipientsTest, AnAddressAddedElsewhereWorksAtOnce) {
  // Unknown recipients are never cached: no wait for the poller after `tern user add`.
  auto c = openTransaction();
  EXPECT_EQ(rcpt(c, "carol@example.test"), "550 5.1.1 ");
  EXPECT_EQ(rcpt(c, "carol@other.test"), "554 5.7.1 ");  // not our domain: no relay
  auto cli = otherProcess();
  ASSERT_TRUE(cli);
  ASSERT_TRUE(cli->addDomain("other.test").ok());
  ASSERT_TRUE(cli->addAccount("carol@example.test", store::Credentials{}).ok());
  ASSERT_TRUE(cli->addAccount("carol@other.test", store::Credentials{}).ok());
  EXPECT_EQ(rcpt(c, "carol@example.test"), "250 2.1.5 ");
  EXPECT_EQ(rcpt(c, "carol@other.test"), "250 2.1.5 ");
  write(c, "QUIT\r\n");
  read(c, 1);
}

}  // namespace
}  // namespace tern::smtp::server
