// The client against broken and hostile peers (a scripted TCP server on loopback): endless multi-line
// replies, over-long lines, garbage, silence, a close in the middle of DATA, a bogus STARTTLS. Every
// case must end in a bounded failure, never a hang or a crash; also the EHLO capability parser.
#include <gtest/gtest.h>

#include "client_test_util.h"

namespace tern::smtp::client {
namespace {

using namespace testing;
using Sock = asio::ip::tcp::socket;
using Clock = std::chrono::steady_clock;

// Greets, answers EHLO with `ehlo` (multi-line text without the final CRLF handling).
void greetAndEhlo(Sock& s, const std::string& ehlo = "250-hostile.test\r\n250 SIZE 100000000\r\n") {
  ScriptServer::send(s, "220 hostile.test ESMTP\r\n");
  ScriptServer::readLine(s);  // EHLO
  ScriptServer::send(s, ehlo);
}

// Reads until the client closes (bounded by the socket's receive timeout); answers QUIT.
void drain(Sock& s) {
  bool eof = false;
  for (int i = 0; i < 100000 && !eof; ++i) {
    if (ScriptServer::readLine(s, &eof) == "QUIT") ScriptServer::send(s, "221 2.0.0 Bye\r\n");
  }
}

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(HostilePeer, EndlessMultilineReplyIsBounded) {
  ScriptServer server({[](Sock& s) {
    ScriptServer::send(s, "220 hostile.test ESMTP\r\n");
    ScriptServer::readLine(s);
    for (int i = 0; i < 200000; ++i) {
      if (!ScriptServer::send(s, "250-AAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n")) break;
    }
  }});
  asio::io_context io;
  auto start = Clock::now();
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().detail.find("too many reply lines"), std::string::npos) << c.error().detail;
  EXPECT_LT(secondsSince(start), 4.0);
}

TEST(HostilePeer, OverLongGreetingLineIsBounded) {
  ScriptServer server({[](Sock& s) {
    ScriptServer::send(s, "220 ");
    std::string junk(64 * 1024, 'x');
    for (int i = 0; i < 100; ++i) {
      if (!ScriptServer::send(s, junk)) break;
    }
  }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().detail.find("reply line too long"), std::string::npos) << c.error().detail;
  EXPECT_FALSE(c.error().permanent());
}

TEST(HostilePeer, GarbageGreeting) {
  ScriptServer server({[](Sock& s) { ScriptServer::send(s, "HTTP/1.1 400 Bad Request\r\n\r\n"); drain(s); }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().detail.find("malformed reply"), std::string::npos) << c.error().detail;
}

TEST(HostilePeer, SilentPeerTimesOut) {
  ScriptServer server({[](Sock& s) { drain(s); }});
  asio::io_context io;
  auto settings = plainSettings();
  settings.timeouts.greeting = std::chrono::seconds(1);
  auto start = Clock::now();
  auto c = connectTo(io, server.port(), settings);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().detail.find("timeout"), std::string::npos) << c.error().detail;
  EXPECT_GE(secondsSince(start), 0.9);
  EXPECT_LT(secondsSince(start), 3.0);
}

TEST(HostilePeer, SlowTrickleIsBoundedByTheWholeReplyTimeout) {
  // One byte of a never-ending line every 200 ms: each read succeeds, the reply never completes.
  ScriptServer server({[](Sock& s) {
    ScriptServer::send(s, "220");
    for (int i = 0; i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (!ScriptServer::send(s, "x")) break;
    }
  }});
  asio::io_context io;
  auto settings = plainSettings();
  settings.timeouts.greeting = std::chrono::seconds(1);
  auto start = Clock::now();
  auto c = connectTo(io, server.port(), settings);
  ASSERT_FALSE(c.ok());
  EXPECT_LT(secondsSince(start), 3.0);
}

TEST(HostilePeer, PermanentGreetingRefusal) {
  std::atomic<bool> sawQuit{false};
  ScriptServer server({[&sawQuit](Sock& s) {
    ScriptServer::send(s, "554 5.7.1 No SMTP service here\r\n");
    // RFC 5321 3.1: the client should still say QUIT.
    if (ScriptServer::readLine(s) == "QUIT") {
      sawQuit = true;
      ScriptServer::send(s, "221 2.0.0 Bye\r\n");
    }
    drain(s);
  }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_FALSE(c.ok());
  ASSERT_TRUE(c.error().reply.has_value());
  EXPECT_EQ(c.error().reply->code, 554);
  EXPECT_EQ(c.error().reply->enhanced, "5.7.1");
  EXPECT_TRUE(c.error().permanent());
  EXPECT_TRUE(sawQuit);
}

TEST(HostilePeer, MailParametersFollowTheOfferedExtensions) {
  // No PIPELINING: lock-step. SIZE, 8BITMIME, SMTPUTF8 and DSN offered: every parameter is sent.
  std::vector<std::string> seen;
  ScriptServer server({[&seen](Sock& s) {
    greetAndEhlo(s, "250-hostile.test\r\n250-SIZE 1000000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 DSN\r\n");
    seen.push_back(ScriptServer::readLine(s));
    ScriptServer::send(s, "250 2.1.0 Ok\r\n");
    seen.push_back(ScriptServer::readLine(s));
    ScriptServer::send(s, "250 2.1.5 Ok\r\n");
    seen.push_back(ScriptServer::readLine(s));
    ScriptServer::send(s, "354 go\r\n");
    for (std::string l; (l = ScriptServer::readLine(s)) != "." && seen.size() < 20;) seen.push_back(l);
    ScriptServer::send(s, "250 2.0.0 queued\r\n");
    drain(s);
  }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  Envelope env;
  env.sender = "\xc3\xa9@b.test";
  env.recipients = {{"c@d.test", "NEVER", "utf-8;c@d.test"}};
  env.eightBit = true;
  env.smtpUtf8 = true;
  env.ret = "FULL";
  env.envid = "q1";
  const std::string msg = "Subject: p\r\n\r\n.x\r\n";
  auto r = run(io, (*c)->send(env, "", msg));
  EXPECT_EQ(r.recipientReplies.at(0).code, 250);
  EXPECT_EQ(r.recipientReplies.at(0).lines.at(0), "queued");
  run(io, (*c)->quit());
  ASSERT_GE(seen.size(), 6u);
  EXPECT_EQ(seen[0], "MAIL FROM:<\xc3\xa9@b.test> SIZE=" + std::to_string(msg.size()) +
                         " BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=q1");
  EXPECT_EQ(seen[1], "RCPT TO:<c@d.test> NOTIFY=NEVER ORCPT=utf-8;c@d.test");
  EXPECT_EQ(seen[2], "DATA");
  EXPECT_EQ(seen[3], "Subject: p");
  EXPECT_EQ(seen[4], "");
  EXPECT_EQ(seen[5], "..x");  // dot-stuffed on the wire
}

TEST(HostilePeer, CloseInTheMiddleOfData) {
  std::atomic<bool> sawData{false};
  ScriptServer server({[&sawData](Sock& s) {
    greetAndEhlo(s);  // no PIPELINING: lock-step
    ScriptServer::readLine(s);
    ScriptServer::send(s, "250 2.1.0 Ok\r\n");
    ScriptServer::readLine(s);
    ScriptServer::send(s, "250 2.1.5 Ok\r\n");
    ScriptServer::readLine(s);
    ScriptServer::send(s, "250 2.1.5 Ok\r\n");
    if (ScriptServer::readLine(s) == "DATA") sawData = true;
    ScriptServer::send(s, "354 go\r\n");
    ScriptServer::readLine(s);  // one line of the body, then hang up
    s.close();
  }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_FALSE((*c)->capabilities().pipelining);
  std::string msg = "Subject: big\r\n\r\n";
  for (int i = 0; i < 50000; ++i) msg += "some body line to keep the writer busy for a while\r\n";
  auto r = run(io, (*c)->send(envelope("a@b.test", {"c@d.test", "e@d.test"}), "", msg));
  EXPECT_TRUE(sawData);
  ASSERT_TRUE(r.transactionFailure.has_value());
  ASSERT_EQ(r.recipientReplies.size(), 2u);
  for (const auto& rep : r.recipientReplies) {
    EXPECT_EQ(rep.code, 451);
    EXPECT_EQ(rep.enhanced, "4.4.2");
  }
  EXPECT_FALSE((*c)->usable());
}

TEST(HostilePeer, GarbageReplyToMailFrom) {
  ScriptServer server({[](Sock& s) {
    greetAndEhlo(s, "250-hostile.test\r\n250 PIPELINING\r\n");
    ScriptServer::readLine(s);
    ScriptServer::send(s, "250 2.1.0 Ok\r\nthis is not smtp\r\n");
    drain(s);
  }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  auto r = run(io, (*c)->send(envelope("a@b.test", {"c@d.test"}), "", "x\r\n"));
  EXPECT_EQ(r.recipientReplies.at(0).code, 451);
  EXPECT_FALSE((*c)->usable());
}

TEST(HostilePeer, PipelinedDataAcceptedWithoutRecipientsIsEndedEmpty) {
  std::atomic<bool> sawDot{false};
  ScriptServer server({[&sawDot](Sock& s) {
    greetAndEhlo(s, "250-hostile.test\r\n250 PIPELINING\r\n");
    // MAIL, RCPT, DATA arrive together; a broken server accepts DATA although the RCPT failed.
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) got.push_back(ScriptServer::readLine(s));
    ScriptServer::send(s, "250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n354 go\r\n");
    if (ScriptServer::readLine(s) == ".") sawDot = true;
    ScriptServer::send(s, "554 5.5.1 No valid recipients\r\n");
    drain(s);
  }});
  asio::io_context io;
  auto c = connectTo(io, server.port(), plainSettings());
  ASSERT_TRUE(c.ok()) << c.error().detail;
  auto r = run(io, (*c)->send(envelope("a@b.test", {"c@d.test"}), "", "Subject: x\r\n\r\nsecret body\r\n"));
  EXPECT_TRUE(sawDot);  // only the terminator, never the message
  ASSERT_TRUE(r.transactionFailure.has_value());
  EXPECT_EQ(r.recipientReplies.at(0).code, 550);
  EXPECT_TRUE((*c)->usable());
}

TEST(HostilePeer, BrokenStartTlsFallsBackToPlaintextOnce) {
  // First connection: offers STARTTLS, says 220, then sends plaintext junk instead of a handshake.
  // Second connection (the RFC 7435 plaintext retry): a normal session without STARTTLS.
  std::atomic<bool> secondSawStartTls{false};
  ScriptServer server({[](Sock& s) {
                         greetAndEhlo(s, "250-hostile.test\r\n250 STARTTLS\r\n");
                         ScriptServer::readLine(s);  // STARTTLS
                         ScriptServer::send(s, "220 go ahead\r\n");
                         std::this_thread::sleep_for(std::chrono::milliseconds(100));
                         ScriptServer::send(s, "this is not a TLS server hello at all\r\n");
                         drain(s);
                       },
                       [&secondSawStartTls](Sock& s) {
                         greetAndEhlo(s, "250-hostile.test\r\n250 STARTTLS\r\n");
                         std::string next = ScriptServer::readLine(s);
                         if (next == "STARTTLS") secondSawStartTls = true;
                         ScriptServer::send(s, "221 bye\r\n");
                         drain(s);
                       }});
  asio::io_context io;
  auto settings = plainSettings();
  settings.tls = TlsPolicy::Opportunistic;
  settings.tlsContext = clientTlsContext();
  auto c = connectTo(io, server.port(), settings);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ((*c)->tlsVersion(), "");
  EXPECT_EQ(server.accepted(), 2);
  run(io, (*c)->quit());
  EXPECT_FALSE(secondSawStartTls);

  // With TLS required there is no fallback.
  ScriptServer strict({[](Sock& s) {
    greetAndEhlo(s, "250-hostile.test\r\n250 STARTTLS\r\n");
    ScriptServer::readLine(s);
    ScriptServer::send(s, "220 go ahead\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ScriptServer::send(s, "not tls\r\n");
    drain(s);
  }});
  settings.tls = TlsPolicy::Required;
  auto r = connectTo(io, strict.port(), settings);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().permanent());
  EXPECT_EQ(strict.accepted(), 1);
}

TEST(HostilePeer, RefusedStartTlsContinuesInPlaintext) {
  ScriptServer server({[](Sock& s) {
    greetAndEhlo(s, "250-hostile.test\r\n250 STARTTLS\r\n");
    ScriptServer::readLine(s);
    ScriptServer::send(s, "454 4.7.0 TLS not available\r\n");
    if (ScriptServer::readLine(s) == "QUIT") ScriptServer::send(s, "221 bye\r\n");
    drain(s);
  }});
  asio::io_context io;
  auto settings = plainSettings();
  settings.tls = TlsPolicy::Opportunistic;
  settings.tlsContext = clientTlsContext();
  auto c = connectTo(io, server.port(), settings);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ((*c)->tlsVersion(), "");
  EXPECT_EQ(server.accepted(), 1);
  run(io, (*c)->quit());
}

// --- EHLO keyword parsing ---------------------------------------------------------------------------

TEST(Capabilities, ParsesKeywordsCaseInsensitively) {
  Reply ehlo{250, "", {"mx.example.org Hello", "pipelining", "Size 52428800", "STARTTLS", "8bitmime",
                       "SMTPUTF8", "dsn", "CHUNKING", "AUTH plain LOGIN CRAM-MD5", "AUTH=LOGIN PLAIN",
                       "ENHANCEDSTATUSCODES", "X-UNKNOWN foo"}};
  Capabilities c = parseCapabilities(ehlo);
  EXPECT_TRUE(c.esmtp);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.startTls);
  EXPECT_TRUE(c.eightBitMime);
  EXPECT_TRUE(c.smtpUtf8);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.chunking);
  EXPECT_EQ(c.maxSize, std::optional<uint64_t>(52428800));
  EXPECT_EQ(c.authMechanisms, (std::vector<std::string>{"PLAIN", "LOGIN", "CRAM-MD5"}));
}

TEST(Capabilities, FirstLineIsNotAKeywordAndSizeEdgeCases) {
  struct Case {
    std::vector<std::string> lines;
    std::optional<uint64_t> size;
    bool pipelining;
  };
  const Case cases[] = {
      {{"PIPELINING"}, std::nullopt, false},           // the first line is the server's name
      {{"mx", "SIZE"}, 0, false},                      // RFC 1870: no number, no fixed limit
      {{"mx", "SIZE 0"}, 0, false},
      {{"mx", "SIZE -5"}, 0, false},
      {{"mx", "SIZE 99999999999999999999999"}, 0, false},  // overflow: ignored, not wrapped
      {{"mx", "SIZE 18446744073709551"}, 18446744073709551ull, false},
      {{"mx", "  PIPELINING  "}, std::nullopt, true},
      {{"mx", "PIPELININGX"}, std::nullopt, false},
  };
  for (const auto& c : cases) {
    Capabilities caps = parseCapabilities(Reply{250, "", c.lines});
    EXPECT_EQ(caps.maxSize, c.size) << c.lines.back();
    EXPECT_EQ(caps.pipelining, c.pipelining) << c.lines.back();
  }
}

}  // namespace
}  // namespace tern::smtp::client
