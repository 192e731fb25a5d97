// The DSN builder, checked by parsing its output with our MIME parser: RFC 6522 multipart/report
// structure, RFC 3464 status fields, RFC 6533 global reports, what is returned of the original, and
// the wire rules (CRLF only, lines <= 998 octets). Also RFC 3461 4.1 NOTIFY semantics.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "mime/header_fields.h"
#include "mime/message.h"
#include "smtp/delivery/dsn.h"

namespace tern::smtp::delivery {
namespace {

constexpr int64_t kArrival = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000
constexpr int64_t kNow = kArrival + 3 * 86400;

const std::string kOriginal =
    "From: Alice <alice@example.org>\r\n"
    "To: bob@remote.example\r\n"
    "Subject: lunch\r\n"
    "Message-ID: <orig-1@example.org>\r\n"
    "\r\n"
    "See you at noon.\r\n"
    "BODY-MARKER\r\n";

DsnRecipient failedRecipient() {
  DsnRecipient r;
  r.finalRecipient = "bob@remote.example";
  r.originalRecipient = "rfc822;bob+2Btag@remote.example";
  r.action = DsnAction::Failed;
  r.status = "5.1.1";
  r.remoteMta = "mx.remote.example [192.0.2.25]";
  r.diagnostic = "550 5.1.1 <bob@remote.example>: No such user";
  r.lastAttempt = kNow - 60;
  return r;
}

DsnInput baseInput() {
  DsnInput in;
  in.reportingMta = "mail.example.org";
  in.originalSender = "alice@example.org";
  in.envid = "QQ314159";
  in.arrivalDate = kArrival;
  in.now = kNow;
  in.recipients = {failedRecipient()};
  in.originalMessage = kOriginal;
  in.returnFullMessage = true;
  return in;
}

std::string_view bodyOf(const std::string& msg, const mime::Part& p) {
  return std::string_view(msg).substr(p.bodyOffset, p.bodySize);
}

// A message/delivery-status body: groups of fields separated by empty lines (RFC 3464 2.1).
std::vector<mime::HeaderBlock> statusGroups(std::string_view body) {
  std::vector<mime::HeaderBlock> groups;
  size_t pos = 0;
  for (int guard = 0; guard < 1000 && pos < body.size(); ++guard) {
    while (body.substr(pos, 2) == "\r\n") pos += 2;  // extra empty lines between groups
    if (pos >= body.size()) break;
    auto block = mime::parseHeaderFields(body.substr(pos));
    if (block.size == 0) break;
    groups.push_back(block);
    pos += block.size;
  }
  // HeaderBlock's views point into `body`, which the caller keeps alive.
  return groups;
}

std::string value(const mime::HeaderBlock& b, std::string_view name) {
  const std::string* v = b.value(name);
  return v ? *v : std::string("<absent>");
}

bool isRfc5322UtcDate(const std::string& s, int64_t expected) {
  static const std::regex kFormat(
      R"(^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$)");
  if (!std::regex_match(s, kFormat)) return false;
  auto d = mime::parseDate(s);
  return d && d->unixTime == expected && d->zoneMinutes == 0;
}

// CRLF only, and no line longer than 998 octets (RFC 5322 2.1.1).
void expectWireClean(const std::string& msg) {
  size_t lineStart = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') {
      ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
      EXPECT_LE(i - 1 - lineStart, 998u) << "long line at " << lineStart;
      lineStart = i + 1;
    } else if (msg[i] == '\r') {
      ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  EXPECT_EQ(lineStart, msg.size()) << "the message must end with CRLF";
}

struct Parsed {
  std::string bytes;
  mime::ParsedMessage msg;
  mime::HeaderBlock header;
};

Parsed build(const DsnInput& in) {
  Parsed p;
  p.bytes = buildDsn(in);
  p.msg = mime::parseMessage(p.bytes);
  p.header = mime::parseHeaderFields(p.bytes);
  return p;
}

TEST(Dsn, FailureReportIsAThreePartMultipartReport) {
  Parsed p = build(baseInput());
  expectWireClean(p.bytes);
  const mime::Part& root = p.msg.root;
  EXPECT_EQ(root.type, "multipart");
  EXPECT_EQ(root.subtype, "report");
  const std::string* reportType = mime::findParam(root.params, "report-type");
  ASSERT_NE(reportType, nullptr);
  EXPECT_EQ(*reportType, "delivery-status");
  ASSERT_EQ(root.children.size(), 3u);
  EXPECT_EQ(root.children[0].type + "/" + root.children[0].subtype, "text/plain");
  EXPECT_EQ(root.children[1].type + "/" + root.children[1].subtype, "message/delivery-status");
  EXPECT_EQ(root.children[2].type + "/" + root.children[2].subtype, "message/rfc822");

  // Top-level header: who it is from, what it is, and that it is automatic (RFC 3834).
  EXPECT_EQ(value(p.header, "From"), "Mail Delivery System <MAILER-DAEMON@mail.example.org>");
  ASSERT_EQ(p.msg.envelope.from.size(), 1u);
  EXPECT_EQ(value(p.header, "To"), "<alice@example.org>");
  EXPECT_EQ(value(p.header, "Subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(value(p.header, "Auto-Submitted"), "auto-replied");
  EXPECT_EQ(value(p.header, "MIME-Version"), "1.0");
  EXPECT_TRUE(isRfc5322UtcDate(value(p.header, "Date"), kNow)) << value(p.header, "Date");
  EXPECT_TRUE(std::regex_match(value(p.header, "Message-ID"), std::regex(R"(^<[^<>@ ]+@mail\.example\.org>$)")))
      << value(p.header, "Message-ID");
  // A fresh Message-ID each time.
  EXPECT_NE(value(p.header, "Message-ID"), value(build(baseInput()).header, "Message-ID"));

  // The returned original is the whole message, parsed as an encapsulated message.
  const mime::Part& original = root.children[2];
  ASSERT_TRUE(original.hasNestedMessage());
  ASSERT_TRUE(original.envelope->subject.has_value());
  EXPECT_EQ(*original.envelope->subject, "lunch");
  // Byte for byte, final CRLF included (the CRLF before the next boundary belongs to the delimiter,
  // RFC 2046 5.1.1).
  EXPECT_EQ(bodyOf(p.bytes, original), kOriginal);
}

TEST(Dsn, StatusFieldsFollowRfc3464) {
  Parsed p = build(baseInput());
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  const std::string_view body = bodyOf(p.bytes, p.msg.root.children[1]);
  auto groups = statusGroups(body);
  ASSERT_EQ(groups.size(), 2u) << body;
  const auto& perMessage = groups[0];
  EXPECT_EQ(value(perMessage, "Reporting-MTA"), "dns; mail.example.org");
  EXPECT_EQ(value(perMessage, "Original-Envelope-Id"), "QQ314159");
  EXPECT_TRUE(isRfc5322UtcDate(value(perMessage, "Arrival-Date"), kArrival)) << value(perMessage, "Arrival-Date");

  const auto& rcpt = groups[1];
  EXPECT_EQ(value(rcpt, "Final-Recipient"), "rfc822; bob@remote.example");
  // ORCPT is xtext on the wire; the report carries the address itself.
  EXPECT_EQ(value(rcpt, "Original-Recipient"), "rfc822; bob+tag@remote.example");
  EXPECT_EQ(value(rcpt, "Action"), "failed");
  EXPECT_EQ(value(rcpt, "Status"), "5.1.1");
  EXPECT_EQ(value(rcpt, "Remote-MTA"), "dns; mx.remote.example");
  EXPECT_EQ(value(rcpt, "Diagnostic-Code"), "smtp; 550 5.1.1 <bob@remote.example>: No such user");
  EXPECT_TRUE(isRfc5322UtcDate(value(rcpt, "Last-Attempt-Date"), kNow - 60));
  EXPECT_EQ(rcpt.find("Will-Retry-Until"), nullptr);
  // The per-message fields come before the first recipient's (RFC 3464 2.1).
  EXPECT_EQ(perMessage.find("Final-Recipient"), nullptr);
}

TEST(Dsn, HumanPartNamesTheRecipientAndTheReason) {
  Parsed p = build(baseInput());
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  const mime::Part& text = p.msg.root.children[0];
  const std::string* charset = mime::findParam(text.params, "charset");
  ASSERT_NE(charset, nullptr);
  EXPECT_EQ(*charset, "utf-8");
  std::string body(bodyOf(p.bytes, text));
  EXPECT_NE(body.find("<bob@remote.example>"), std::string::npos) << body;
  EXPECT_NE(body.find("No such user"), std::string::npos) << body;
  EXPECT_NE(body.find("could not be delivered"), std::string::npos) << body;
  EXPECT_NE(body.find("mx.remote.example"), std::string::npos) << body;
}

TEST(Dsn, DelayReportSaysUntilWhenItRetries) {
  DsnInput in = baseInput();
  DsnRecipient r = failedRecipient();
  r.action = DsnAction::Delayed;
  r.status = "4.4.1";
  r.remoteMta.clear();
  r.diagnostic = "x-local; connection refused by mx.remote.example";
  r.willRetryUntil = kArrival + 5 * 86400;
  in.recipients = {r};
  in.returnFullMessage = false;
  Parsed p = build(in);
  expectWireClean(p.bytes);
  EXPECT_EQ(value(p.header, "Subject"), "Delayed Mail (still being retried)");
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  auto groups = statusGroups(bodyOf(p.bytes, p.msg.root.children[1]));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(value(groups[1], "Action"), "delayed");
  EXPECT_EQ(value(groups[1], "Status"), "4.4.1");
  EXPECT_EQ(groups[1].find("Remote-MTA"), nullptr);
  // A diagnostic that already names its type keeps it.
  EXPECT_EQ(value(groups[1], "Diagnostic-Code"), "x-local; connection refused by mx.remote.example");
  EXPECT_TRUE(isRfc5322UtcDate(value(groups[1], "Will-Retry-Until"), kArrival + 5 * 86400));
  std::string text(bodyOf(p.bytes, p.msg.root.children[0]));
  EXPECT_NE(text.find("still trying"), std::string::npos) << text;
}

TEST(Dsn, RetHdrsReturnsOnlyTheHeaderSection) {
  DsnInput in = baseInput();
  in.returnFullMessage = false;
  Parsed p = build(in);
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  const mime::Part& returned = p.msg.root.children[2];
  EXPECT_EQ(returned.type + "/" + returned.subtype, "text/rfc822-headers");
  std::string body(bodyOf(p.bytes, returned));
  EXPECT_EQ(body.find("BODY-MARKER"), std::string::npos);
  EXPECT_EQ(body.find("See you at noon"), std::string::npos);
  auto fields = mime::parseHeaderFields(body);
  EXPECT_EQ(value(fields, "Subject"), "lunch");
  EXPECT_EQ(value(fields, "Message-ID"), "<orig-1@example.org>");
  EXPECT_EQ(fields.fields.size(), 4u);
  EXPECT_EQ(p.bytes.find("BODY-MARKER"), std::string::npos);
}

TEST(Dsn, RetFullTooBigFallsBackToHeaders) {
  const std::string big = kOriginal + std::string(2000, 'x') + "\r\n";
  DsnInput in = baseInput();
  in.originalMessage = big;
  in.maxReturnedSize = 1000;
  Parsed p = build(in);
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  EXPECT_EQ(p.msg.root.children[2].subtype, "rfc822-headers");
  EXPECT_EQ(p.bytes.find("BODY-MARKER"), std::string::npos);
  EXPECT_LT(p.bytes.size(), 4000u);
  // At the limit exactly, the whole message still goes back.
  in.maxReturnedSize = big.size();
  Parsed q = build(in);
  ASSERT_EQ(q.msg.root.children.size(), 3u);
  EXPECT_EQ(q.msg.root.children[2].subtype, "rfc822");
  EXPECT_NE(q.bytes.find("BODY-MARKER"), std::string::npos);
}

TEST(Dsn, NoOriginalMeansTwoParts) {
  DsnInput in = baseInput();
  in.originalMessage = {};
  Parsed p = build(in);
  expectWireClean(p.bytes);
  ASSERT_EQ(p.msg.root.children.size(), 2u);
  EXPECT_EQ(p.msg.root.children[1].subtype, "delivery-status");
}

TEST(Dsn, LongAndHostileDiagnosticsStayOnTheirLines) {
  DsnInput in = baseInput();
  std::string words;
  for (int i = 0; i < 400; ++i) words += "word" + std::to_string(i) + " ";
  DsnRecipient spaced = failedRecipient();
  spaced.diagnostic = "550 5.7.1 " + words;
  DsnRecipient solid = failedRecipient();
  solid.finalRecipient = "carol@remote.example";
  solid.originalRecipient.clear();
  solid.diagnostic = "550 " + std::string(5000, 'z');
  DsnRecipient hostile = failedRecipient();
  hostile.finalRecipient = "dave@remote.example";
  hostile.originalRecipient.clear();
  hostile.diagnostic = "550 nope\r\nX-Injected: yes\r\n\r\nFinal-Recipient: rfc822; evil@x";
  hostile.remoteMta = "mx\r\nX-Evil: 1";
  in.recipients = {spaced, solid, hostile};
  Parsed p = build(in);
  expectWireClean(p.bytes);
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  auto groups = statusGroups(bodyOf(p.bytes, p.msg.root.children[1]));
  ASSERT_EQ(groups.size(), 4u);
  // Folding only added line breaks where spaces were: unfolded, the text is intact.
  EXPECT_EQ(value(groups[1], "Diagnostic-Code"), "smtp; 550 5.7.1 " + words.substr(0, words.size() - 1));
  // A 5000-octet word had to be split; nothing of it is lost.
  std::string solidValue = value(groups[2], "Diagnostic-Code");
  solidValue.erase(std::remove(solidValue.begin(), solidValue.end(), ' '), solidValue.end());
  EXPECT_EQ(solidValue, "smtp;550" + std::string(5000, 'z'));
  // CR/LF from the remote never start a field of their own.
  for (const auto& g : groups) {
    EXPECT_EQ(g.find("X-Injected"), nullptr);
    EXPECT_EQ(g.find("X-Evil"), nullptr);
  }
  EXPECT_EQ(value(groups[3], "Final-Recipient"), "rfc822; dave@remote.example");
  EXPECT_EQ(groups[3].fields.size(), 6u);  // Final-Recipient Action Status Remote-MTA Diagnostic-Code Last-Attempt-Date
  // The human part wraps the long reply too.
  EXPECT_NE(std::string(bodyOf(p.bytes, p.msg.root.children[0])).find("word399"), std::string::npos);
}

TEST(Dsn, HostileEnvidAndOrcptCannotBreakTheReport) {
  DsnInput in = baseInput();
  in.envid = "id\r\nX-Evil: 1";  // ENVID is xtext-decoded before it reaches us: any byte is possible
  DsnRecipient r = failedRecipient();
  r.originalRecipient = "rfc822;x+0D+0AX-Evil:+201@y";
  in.recipients = {r};
  Parsed p = build(in);
  expectWireClean(p.bytes);
  auto groups = statusGroups(bodyOf(p.bytes, p.msg.root.children[1]));
  ASSERT_EQ(groups.size(), 2u);
  for (const auto& g : groups) EXPECT_EQ(g.find("X-Evil"), nullptr);
  EXPECT_EQ(value(groups[0], "Original-Envelope-Id"), "id+0D+0AX-Evil:+201");
}

TEST(Dsn, MixedReportListsEachRecipientWithItsAction) {
  DsnInput in = baseInput();
  DsnRecipient later = failedRecipient();
  later.finalRecipient = "erin@remote.example";
  later.originalRecipient.clear();
  later.action = DsnAction::Delayed;
  later.status = "4.2.2";
  later.diagnostic = "452 4.2.2 Mailbox full";
  later.willRetryUntil = kNow + 86400;
  in.recipients = {failedRecipient(), later};
  Parsed p = build(in);
  EXPECT_EQ(value(p.header, "Subject"), "Undelivered Mail Returned to Sender");
  auto groups = statusGroups(bodyOf(p.bytes, p.msg.root.children[1]));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(value(groups[1], "Action"), "failed");
  EXPECT_EQ(value(groups[2], "Action"), "delayed");
  EXPECT_EQ(groups[2].find("Original-Recipient"), nullptr);
  EXPECT_EQ(value(groups[2], "Diagnostic-Code"), "smtp; 452 4.2.2 Mailbox full");
  std::string text(bodyOf(p.bytes, p.msg.root.children[0]));
  EXPECT_NE(text.find("<erin@remote.example>: 452 4.2.2 Mailbox full"), std::string::npos) << text;
}

TEST(Dsn, Utf8AddressesMakeAGlobalReport) {
  DsnInput in = baseInput();
  DsnRecipient r = failedRecipient();
  r.finalRecipient = "jörg@bücher.example";
  r.originalRecipient = "utf-8;j\\x{F6}rg@b\\x{FC}cher.example";
  in.recipients = {r};
  const std::string original =
      "From: alice@example.org\r\nTo: jörg@bücher.example\r\nSubject: Grüße\r\n\r\nHallo\r\n";
  in.originalMessage = original;
  Parsed p = build(in);
  expectWireClean(p.bytes);
  const std::string* reportType = mime::findParam(p.msg.root.params, "report-type");
  ASSERT_NE(reportType, nullptr);
  EXPECT_EQ(*reportType, "global-delivery-status");
  ASSERT_EQ(p.msg.root.children.size(), 3u);
  EXPECT_EQ(p.msg.root.children[1].type + "/" + p.msg.root.children[1].subtype, "message/global-delivery-status");
  EXPECT_EQ(p.msg.root.children[2].type + "/" + p.msg.root.children[2].subtype, "message/global");
  auto groups = statusGroups(bodyOf(p.bytes, p.msg.root.children[1]));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(value(groups[1], "Final-Recipient"), "utf-8; jörg@bücher.example");
  EXPECT_EQ(value(groups[1], "Original-Recipient"), "utf-8; jörg@bücher.example");
  // UTF-8 in the bodies is declared 8bit.
  EXPECT_EQ(p.msg.root.children[1].encoding, "8bit");
  EXPECT_EQ(p.msg.root.children[0].encoding, "8bit");

  // RET=HDRS of a UTF-8 header section: message/global-headers (RFC 6533 3.3).
  in.returnFullMessage = false;
  Parsed h = build(in);
  ASSERT_EQ(h.msg.root.children.size(), 3u);
  EXPECT_EQ(h.msg.root.children[2].type + "/" + h.msg.root.children[2].subtype, "message/global-headers");
}

TEST(Dsn, AsciiReportIsSevenBit) {
  Parsed p = build(baseInput());
  for (char c : p.bytes) ASSERT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_EQ(p.msg.root.children[0].encoding, "7bit");
}

// Python's email package reads the report the same way (structure and status fields).
TEST(Dsn, PythonEmailPackageAgrees) {
  if (std::system("python3 -c 'import email' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  char dir[] = "/tmp/tern-dsn-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/dsn.eml";
  {
    std::ofstream f(path, std::ios::binary);
    f << buildDsn(baseInput());
  }
  const std::string script =
      "import email, email.policy, sys\n"
      "m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n"
      "parts = list(m.iter_parts())\n"
      "print(m.get_content_type(), m.get_param('report-type'), len(parts))\n"
      "print(parts[1].get_content_type(), parts[2].get_content_type())\n"
      "st = parts[1].get_payload()\n"
      "print(len(st), st[0]['Reporting-MTA'], st[1]['Action'], st[1]['Status'])\n"
      "print(parts[2].get_payload()[0]['Subject'])\n"
      "print(m['Auto-Submitted'], m['From'].addresses[0].addr_spec)\n";
  const std::string scriptPath = std::string(dir) + "/check.py";
  {
    std::ofstream f(scriptPath);
    f << script;
  }
  const std::string cmd = "python3 " + scriptPath + " " + path + " > " + std::string(dir) + "/out.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream out(std::string(dir) + "/out.txt");
  std::string got((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  ASSERT_EQ(rc, 0) << got;
  EXPECT_EQ(got,
            "multipart/report delivery-status 3\n"
            "message/delivery-status message/rfc822\n"
            "2 dns; mail.example.org failed 5.1.1\n"
            "lunch\n"
            "auto-replied MAILER-DAEMON@mail.example.org\n");
}

struct NotifyCase {
  const char* notify;
  DsnAction action;
  bool allowed;
};

TEST(Dsn, NotifyFollowsRfc3461) {
  const NotifyCase cases[] = {
      // Absent: failures (RFC 3461 4.1) and, at our discretion, delays; never success.
      {"", DsnAction::Failed, true},
      {"", DsnAction::Delayed, true},
      {"", DsnAction::Delivered, false},
      {"", DsnAction::Relayed, false},
      {"NEVER", DsnAction::Failed, false},
      {"NEVER", DsnAction::Delayed, false},
      {"never", DsnAction::Delivered, false},
      // NEVER combined with others is invalid; it still means no report at all.
      {"NEVER,FAILURE", DsnAction::Failed, false},
      {"SUCCESS", DsnAction::Delivered, true},
      {"SUCCESS", DsnAction::Relayed, true},
      {"SUCCESS", DsnAction::Expanded, true},
      {"SUCCESS", DsnAction::Failed, false},
      {"SUCCESS", DsnAction::Delayed, false},
      {"FAILURE", DsnAction::Failed, true},
      {"FAILURE", DsnAction::Delayed, false},
      {"failure,delay", DsnAction::Delayed, true},
      {"Failure, Delay", DsnAction::Failed, true},
      {"DELAY", DsnAction::Failed, false},
      {"SUCCESS,FAILURE,DELAY", DsnAction::Delivered, true},
      {"SUCCESS,FAILURE,DELAY", DsnAction::Delayed, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(notifyAllows(c.notify, c.action), c.allowed)
        << "NOTIFY=\"" << c.notify << "\" action " << static_cast<int>(c.action);
  }
}

}  // namespace
}  // namespace tern::smtp::delivery
