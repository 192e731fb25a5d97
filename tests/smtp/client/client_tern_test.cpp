// The SMTP client against Tern's own SMTP server in process (a real Session on loopback, a real
// SqliteStore): capabilities, PIPELINING with a refused recipient, SIZE, dot-stuffing, connection
// reuse, STARTTLS, implicit TLS, AUTH PLAIN on submission. Mail is checked in the store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio/experimental/as_tuple.hpp>
#include <filesystem>
#include <thread>

#include "auth/password.h"
#include "client_test_util.h"
#include "net/tls.h"
#include "smtp/server/session.h"
#include "store/sqlite/sqlite_store.h"

namespace tern::smtp::client {
namespace {

using namespace testing;

class TernServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-client-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store::SqliteOptions o;
    o.synchronousFull = false;
    o.externalPollInterval = std::chrono::milliseconds(0);
    auto s = store::SqliteStore::open(dir_ + "/data", o);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    ASSERT_TRUE(store_->addDomain("example.test").ok());
    auto b = store_->addAccount("bob@example.test", store::Credentials{});
    ASSERT_TRUE(b.ok());
    bob_ = *b;
    auto a = store_->addAccount("alice@example.test",
                                auth::makeCredentials(kPassword, auth::Argon2Params{1, 1024, 1}));
    ASSERT_TRUE(a.ok());
    alice_ = *a;
    auth_ = std::make_unique<auth::Authenticator>(*store_);
    net::TlsSettings ts;
    ts.dataDir = dir_;
    ts.hostname = "localhost";
    auto tls = net::TlsContext::create(ts);
    ASSERT_TRUE(tls.ok()) << tls.error();
    serverTls_ = *tls;
  }
  void TearDown() override {
    if (serverIo_) serverIo_->stop();
    if (server_.joinable()) server_.join();
    acceptor_.reset();
    serverIo_.reset();
    pool_.join();
    ctx_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts a listener for `service` on 127.0.0.1; returns its port.
  uint16_t start(server::Service service, server::SmtpSettings settings = {}, bool tls = false) {
    settings.tlsAvailable = tls;
    ctx_ = std::shared_ptr<server::SmtpContext>(
        new server::SmtpContext{*store_, *store_, store_->blobs(), *auth_, pool_, settings});
    serverIo_ = std::make_unique<asio::io_context>();
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(
        *serverIo_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const bool implicit = service == server::Service::Submissions;
    asio::co_spawn(*serverIo_, acceptLoop(service, tls || implicit ? serverTls_->current() : nullptr, implicit),
                   asio::detached);
    server_ = std::thread([this] { serverIo_->run(); });
    return acceptor_->local_endpoint().port();
  }

  asio::awaitable<void> acceptLoop(server::Service service, std::shared_ptr<asio::ssl::context> tls,
                                   bool implicit) {
    for (;;) {
      auto [ec, sock] = co_await acceptor_->async_accept(asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      auto stream = std::make_shared<net::Stream>(std::move(sock), tls);
      if (implicit) {
        auto hec = co_await stream->startTls(std::chrono::seconds(5));
        if (hec) continue;
      }
      asio::co_spawn(*serverIo_, server::runSession(ctx_, service, stream), asio::detached);
    }
  }

  // Messages in `account`'s INBOX, as bytes.
  std::vector<std::string> inbox(store::AccountId account) {
    std::vector<std::string> out;
    auto mb = store_->findMailbox(account, "INBOX");
    if (!mb.ok()) return out;
    auto msgs = store_->listMessages(account, mb->id);
    if (!msgs.ok()) return out;
    for (const auto& m : *msgs) {
      auto blob = store_->blobs().open(m.blobId);
      if (blob.ok()) out.emplace_back((*blob)->bytes());
    }
    return out;
  }

  static bool endsWith(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
  }

  static constexpr const char* kPassword = "correct horse battery";
  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<auth::Authenticator> auth_;
  std::shared_ptr<net::TlsContext> serverTls_;
  store::AccountId bob_ = 0;
  store::AccountId alice_ = 0;
  asio::thread_pool pool_{2};
  std::shared_ptr<server::SmtpContext> ctx_;
  std::unique_ptr<asio::io_context> serverIo_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::thread server_;
  asio::io_context io_;  // the client's
};

TEST_F(TernServerTest, CapabilitiesGreetingAndPipelinedMultiRecipient) {
  server::SmtpSettings ss;
  ss.maxMessageSize = 123456;
  uint16_t port = start(server::Service::Inbound, ss);
  auto c = connectTo(io_, port, plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  auto& conn = **c;
  const Capabilities& caps = conn.capabilities();
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.eightBitMime);
  EXPECT_TRUE(caps.smtpUtf8);
  EXPECT_TRUE(caps.dsn);
  EXPECT_TRUE(caps.chunking);
  EXPECT_FALSE(caps.startTls);  // no TLS configured on this listener
  ASSERT_TRUE(caps.maxSize.has_value());
  EXPECT_EQ(*caps.maxSize, 123456u);
  EXPECT_TRUE(caps.authMechanisms.empty());  // never on port 25
  EXPECT_EQ(conn.peerGreeting(), "localhost ESMTP ready");
  EXPECT_EQ(conn.peerAddress(), "127.0.0.1");
  EXPECT_EQ(conn.tlsVersion(), "");
  EXPECT_FALSE(conn.certificateVerified());

  // One unknown recipient between two good ones: 550 for it, the DATA outcome for the others.
  auto env = envelope("sender@remote.test", {"bob@example.test", "nobody@example.test", "alice@example.test"});
  const std::string msg = "Subject: multi\r\n\r\nhello\r\n";
  auto r = run(io_, conn.send(env, "", msg));
  EXPECT_FALSE(r.transactionFailure.has_value());
  ASSERT_EQ(r.recipientReplies.size(), 3u);
  EXPECT_EQ(r.recipientReplies[0].code, 250);
  EXPECT_EQ(r.recipientReplies[1].code, 550);
  EXPECT_EQ(r.recipientReplies[1].enhanced, "5.1.1");
  EXPECT_EQ(r.recipientReplies[2].code, 250);
  EXPECT_EQ(r.recipientReplies[2].enhanced, "2.0.0");
  EXPECT_TRUE(conn.usable());
  run(io_, conn.quit());
  EXPECT_FALSE(conn.usable());

  for (auto account : {bob_, alice_}) {
    auto msgs = inbox(account);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_TRUE(endsWith(msgs[0], msg)) << msgs[0];
  }
}

TEST_F(TernServerTest, DotStuffingPrefixAndMissingFinalCrlf) {
  uint16_t port = start(server::Service::Inbound);
  auto c = connectTo(io_, port, plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  const std::string prefix = "X-Prefix: signed\r\n";
  // Lines starting with "." (one and two dots, and the last line) must arrive intact; the message
  // lacks its final CRLF, which the client adds.
  const std::string msg = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nmiddle\r\n.last";
  auto r = run(io_, (*c)->send(envelope("", {"bob@example.test"}), prefix, msg));
  ASSERT_EQ(r.recipientReplies.size(), 1u);
  EXPECT_EQ(r.recipientReplies[0].code, 250) << r.recipientReplies[0].lines[0];
  run(io_, (*c)->quit());
  auto msgs = inbox(bob_);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(endsWith(msgs[0], prefix + msg + "\r\n")) << msgs[0];
  EXPECT_NE(msgs[0].find("Return-Path: <>"), std::string::npos);
}

TEST_F(TernServerTest, LargeMessageIsStreamedIntact) {
  uint16_t port = start(server::Service::Inbound);
  auto c = connectTo(io_, port, plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  // ~1 MB over several 64 KiB writes, with dot lines across chunk boundaries.
  std::string msg = "Subject: big\r\n\r\n";
  for (int i = 0; i < 20000; ++i) msg += (i % 3 == 0 ? ".line " : "line ") + std::to_string(i) + " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n";
  auto r = run(io_, (*c)->send(envelope("a@remote.test", {"bob@example.test"}), "", msg));
  ASSERT_EQ(r.recipientReplies.size(), 1u);
  EXPECT_EQ(r.recipientReplies[0].code, 250);
  auto msgs = inbox(bob_);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(endsWith(msgs[0], msg));
}

TEST_F(TernServerTest, SizeLimitRefusesWithoutSending) {
  server::SmtpSettings ss;
  ss.maxMessageSize = 1000;
  uint16_t port = start(server::Service::Inbound, ss);
  auto c = connectTo(io_, port, plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  ASSERT_EQ((*c)->capabilities().maxSize.value_or(0), 1000u);
  // 990 bytes of message plus a 20-byte prefix: over the limit together (RFC 1870).
  std::string msg = "Subject: s\r\n\r\n" + std::string(974, 'x') + "\r\n";
  ASSERT_EQ(msg.size(), 990u);
  auto r = run(io_, (*c)->send(envelope("a@remote.test", {"bob@example.test", "alice@example.test"}),
                               std::string(20, 'p'), msg));
  ASSERT_EQ(r.recipientReplies.size(), 2u);
  for (const auto& rep : r.recipientReplies) {
    EXPECT_EQ(rep.code, 552);
    EXPECT_EQ(rep.enhanced, "5.3.4");
  }
  ASSERT_TRUE(r.transactionFailure.has_value());
  EXPECT_TRUE((*c)->usable());
  // The connection is still good: the same message without the prefix fits.
  auto ok = run(io_, (*c)->send(envelope("a@remote.test", {"bob@example.test"}), "", msg));
  EXPECT_EQ(ok.recipientReplies.at(0).code, 250);
  EXPECT_EQ(inbox(bob_).size(), 1u);
}

TEST_F(TernServerTest, OneConnectionThreeMessagesWithReset) {
  uint16_t port = start(server::Service::Inbound);
  auto c = connectTo(io_, port, plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      EXPECT_TRUE(run(io_, (*c)->reset()));
    }
    auto r = run(io_, (*c)->send(envelope("a@remote.test", {"bob@example.test"}), "",
                                 "Subject: n" + std::to_string(i) + "\r\n\r\nbody\r\n"));
    ASSERT_EQ(r.recipientReplies.size(), 1u);
    EXPECT_EQ(r.recipientReplies[0].code, 250) << i;
  }
  run(io_, (*c)->quit());
  auto msgs = inbox(bob_);
  ASSERT_EQ(msgs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    bool found = false;
    for (const auto& m : msgs) found = found || m.find("Subject: n" + std::to_string(i) + "\r\n") != std::string::npos;
    EXPECT_TRUE(found) << i;
  }
}

TEST_F(TernServerTest, NoRecipientAcceptedSendsNoData) {
  uint16_t port = start(server::Service::Inbound);
  auto c = connectTo(io_, port, plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  auto r = run(io_, (*c)->send(envelope("a@remote.test", {"x@example.test", "y@elsewhere.test"}), "",
                               "Subject: none\r\n\r\nbody\r\n"));
  ASSERT_TRUE(r.transactionFailure.has_value());
  ASSERT_EQ(r.recipientReplies.size(), 2u);
  EXPECT_EQ(r.recipientReplies[0].code, 550);
  EXPECT_EQ(r.recipientReplies[1].code, 554);  // relay denied
  // The pipelined DATA was refused by the server; the session stays in step for the next message.
  EXPECT_TRUE((*c)->usable());
  EXPECT_TRUE(run(io_, (*c)->reset()));
  auto ok = run(io_, (*c)->send(envelope("a@remote.test", {"bob@example.test"}), "", "Subject: ok\r\n\r\nb\r\n"));
  EXPECT_EQ(ok.recipientReplies.at(0).code, 250);
  EXPECT_EQ(inbox(bob_).size(), 1u);
}

TEST_F(TernServerTest, OpportunisticStartTlsWithSelfSignedCertificate) {
  uint16_t port = start(server::Service::Inbound, {}, /*tls=*/true);
  auto s = plainSettings();
  s.tls = TlsPolicy::Opportunistic;
  s.tlsContext = clientTlsContext();
  auto c = connectTo(io_, port, s);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_NE((*c)->tlsVersion(), "");
  EXPECT_NE((*c)->tlsCipher(), "");
  EXPECT_FALSE((*c)->certificateVerified());  // self-signed: recorded, not enforced
  // The capabilities are those of the EHLO after TLS: STARTTLS is no longer offered.
  EXPECT_FALSE((*c)->capabilities().startTls);
  EXPECT_TRUE((*c)->capabilities().pipelining);
  auto r = run(io_, (*c)->send(envelope("a@remote.test", {"bob@example.test"}), "", "Subject: tls\r\n\r\nx\r\n"));
  EXPECT_EQ(r.recipientReplies.at(0).code, 250);
  run(io_, (*c)->quit());
  auto msgs = inbox(bob_);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs[0].find("ESMTPS"), std::string::npos);  // the Received field says TLS was used
}

TEST_F(TernServerTest, OpportunisticWithoutContextStaysPlain) {
  uint16_t port = start(server::Service::Inbound, {}, /*tls=*/true);
  auto s = plainSettings();
  s.tls = TlsPolicy::Opportunistic;  // but no tlsContext
  auto c = connectTo(io_, port, s);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ((*c)->tlsVersion(), "");
  EXPECT_TRUE((*c)->capabilities().startTls);
}

TEST_F(TernServerTest, VerifiedPolicyRejectsSelfSignedCertificate) {
  uint16_t port = start(server::Service::Inbound, {}, /*tls=*/true);
  auto s = plainSettings();
  s.tls = TlsPolicy::Verified;
  s.tlsContext = clientTlsContext();
  auto c = connectTo(io_, port, s);
  ASSERT_FALSE(c.ok());
  EXPECT_FALSE(c.error().permanent());
  EXPECT_NE(c.error().detail.find("TLS handshake"), std::string::npos) << c.error().detail;
}

TEST_F(TernServerTest, VerifiedPolicyAcceptsTrustedCertificateForTheRightName) {
  uint16_t port = start(server::Service::Inbound, {}, /*tls=*/true);
  auto s = plainSettings();
  s.tls = TlsPolicy::Verified;
  s.tlsContext = clientTlsContext();
  // Trust the server's own (self-signed, CN/SAN localhost) certificate.
  s.tlsContext->load_verify_file(dir_ + "/tls/cert.pem");
  auto c = connectTo(io_, port, s, {"127.0.0.1"}, "localhost");
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_TRUE((*c)->certificateVerified());
  run(io_, (*c)->quit());
  // The same certificate for another host name does not verify.
  auto wrong = connectTo(io_, port, s, {"127.0.0.1"}, "mx.other.test");
  EXPECT_FALSE(wrong.ok());
}

TEST_F(TernServerTest, RequiredPolicyFailsWithoutStartTls) {
  uint16_t port = start(server::Service::Inbound);  // no STARTTLS offered
  auto s = plainSettings();
  s.tls = TlsPolicy::Required;
  s.tlsContext = clientTlsContext();
  auto c = connectTo(io_, port, s);
  ASSERT_FALSE(c.ok());
  EXPECT_FALSE(c.error().permanent());
  EXPECT_NE(c.error().detail.find("STARTTLS"), std::string::npos) << c.error().detail;
}

TEST_F(TernServerTest, AuthPlainOnSubmissionAfterStartTls) {
  uint16_t port = start(server::Service::Submission, {}, /*tls=*/true);
  auto s = plainSettings();
  s.tls = TlsPolicy::Required;
  s.tlsContext = clientTlsContext();
  s.username = "alice@example.test";
  s.password = kPassword;
  auto c = connectTo(io_, port, s);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_NE((*c)->tlsVersion(), "");
  const auto& mechs = (*c)->capabilities().authMechanisms;
  EXPECT_NE(std::find(mechs.begin(), mechs.end(), "PLAIN"), mechs.end());
  auto r = run(io_, (*c)->send(envelope("alice@example.test", {"bob@example.test"}), "",
                               "From: alice@example.test\r\nSubject: submitted\r\n\r\nhi\r\n"));
  EXPECT_EQ(r.recipientReplies.at(0).code, 250) << r.recipientReplies.at(0).lines.at(0);
  run(io_, (*c)->quit());
  EXPECT_EQ(inbox(bob_).size(), 1u);
}

TEST_F(TernServerTest, AuthWrongPasswordIsPermanent535) {
  uint16_t port = start(server::Service::Submission, {}, /*tls=*/true);
  auto s = plainSettings();
  s.tls = TlsPolicy::Opportunistic;
  s.tlsContext = clientTlsContext();
  s.username = "alice@example.test";
  s.password = "wrong";
  auto c = connectTo(io_, port, s);
  ASSERT_FALSE(c.ok());
  ASSERT_TRUE(c.error().reply.has_value());
  EXPECT_EQ(c.error().reply->code, 535);
  EXPECT_TRUE(c.error().permanent());
  EXPECT_EQ(c.error().detail.find("wrong"), std::string::npos);  // the password never shows
}

TEST_F(TernServerTest, AuthIsNeverSentInPlaintext) {
  uint16_t port = start(server::Service::Submission);  // no TLS at all
  auto s = plainSettings();
  s.tls = TlsPolicy::Opportunistic;
  s.tlsContext = clientTlsContext();
  s.username = "alice@example.test";
  s.password = kPassword;
  auto c = connectTo(io_, port, s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().detail.find("AUTH needs TLS"), std::string::npos) << c.error().detail;
}

TEST_F(TernServerTest, ImplicitTlsSubmissionWithAuth) {
  uint16_t port = start(server::Service::Submissions);
  auto s = plainSettings();
  s.tls = TlsPolicy::Required;
  s.implicitTls = true;
  s.tlsContext = clientTlsContext();
  s.username = "alice@example.test";
  s.password = kPassword;
  auto c = connectTo(io_, port, s);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_NE((*c)->tlsVersion(), "");
  auto r = run(io_, (*c)->send(envelope("alice@example.test", {"bob@example.test"}), "", "From: alice@example.test\r\nSubject: 465\r\n\r\nx\r\n"));
  EXPECT_EQ(r.recipientReplies.at(0).code, 250);
  run(io_, (*c)->quit());
  EXPECT_EQ(inbox(bob_).size(), 1u);
}

TEST_F(TernServerTest, TriesAddressesInOrder) {
  uint16_t port = start(server::Service::Inbound);
  // 127.0.0.2 is loopback too, but nothing listens there: refused, then the next address answers.
  auto c = connectTo(io_, port, plainSettings(), {"127.0.0.2", "not-an-ip", "127.0.0.1"});
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ((*c)->peerAddress(), "127.0.0.1");
  auto none = connectTo(io_, port, plainSettings(), {"127.0.0.2"});
  ASSERT_FALSE(none.ok());
  EXPECT_FALSE(none.error().permanent());
  EXPECT_NE(none.error().detail.find("connect to 127.0.0.2"), std::string::npos) << none.error().detail;
}

}  // namespace
}  // namespace tern::smtp::client
