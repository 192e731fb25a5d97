// `tern queue` output and exit codes against a real SqliteStore with a fixed clock: the list line
// per message, totals, show's per-recipient fields, escaping of network-supplied text, the counts
// printed by the changing verbs, and usage errors.
#include "app/queue_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>

#include "store/sqlite/sqlite_store.h"

namespace tern::app {
namespace {

class QueueCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-queue-cmd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store::SqliteOptions o;
    o.synchronousFull = false;
    o.externalPollInterval = std::chrono::milliseconds(0);
    auto s = store::SqliteStore::open(dir_ + "/data", o);
    ASSERT_TRUE(s.ok()) << s.error().detail;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int64_t enqueue(std::string sender, std::vector<store::OutboundRecipient> rcpts, uint64_t size = 2048) {
    store::OutboundMessage m;
    m.sender = std::move(sender);
    m.blobId = std::string(64, 'a');
    m.size = size;
    m.recipients = std::move(rcpts);
    auto id = store_->enqueueOutbound(m);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  // Runs a verb; returns its output, and the exit code it would give (0 ok).
  std::pair<int, std::string> run(QueueVerb verb, std::string id = {}, bool all = false) {
    QueueOptions o;
    o.verb = verb;
    o.id = std::move(id);
    o.all = all;
    std::ostringstream out;
    auto r = runQueueCommand(*store_, o, out, now_);
    if (!r) return {r.error().code, r.error().message};
    return {0, out.str()};
  }

  int64_t now_ = static_cast<int64_t>(::time(nullptr)) + 3700;  // every row is about an hour old
  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST(QueueFormat, SpansAndSizes) {
  EXPECT_EQ(formatSpan(-5), "0s");
  EXPECT_EQ(formatSpan(59), "59s");
  EXPECT_EQ(formatSpan(60), "1m");
  EXPECT_EQ(formatSpan(3599), "59m");
  EXPECT_EQ(formatSpan(7200), "2h");
  EXPECT_EQ(formatSpan(86400 * 3 + 5), "3d");
  EXPECT_EQ(formatSize(0), "0B");
  EXPECT_EQ(formatSize(1023), "1023B");
  EXPECT_EQ(formatSize(1024), "1.0K");
  EXPECT_EQ(formatSize(1536), "1.5K");
  EXPECT_EQ(formatSize(200 * 1024), "200K");
  EXPECT_EQ(formatSize(5 * 1024 * 1024), "5.0M");
}

TEST_F(QueueCommandTest, EmptyQueue) {
  auto [code, out] = run(QueueVerb::List);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "queue is empty\n");
}

TEST_F(QueueCommandTest, ListHasOneLinePerMessageAndTotals) {
  const int64_t a = enqueue("alice@example.com", {{"x@remote.example", "", ""}, {"y@remote.example", "", ""}});
  const int64_t b = enqueue("", {{"z@remote.example", "", ""}}, 100);
  auto rows = store_->getQueuedMessage(a);
  ASSERT_TRUE(rows.ok() && rows->size() == 2);
  ASSERT_TRUE(store_->deferOutbound((*rows)[0].id, now_ + 600, "451 4.3.0 \x1b[31mgreylisted", false).ok());
  ASSERT_TRUE(store_->holdOutbound(b, true).ok());

  auto [code, out] = run(QueueVerb::List);
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  std::string header, lineA, lineB, footer, extra;
  std::getline(lines, header);
  std::getline(lines, lineA);
  std::getline(lines, lineB);
  std::getline(lines, footer);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(header.rfind("ID ", 0), 0u) << header;
  // id, age, size, sender, recipients, next attempt (the earliest: y is still due now), state, error
  EXPECT_EQ(lineA.rfind(std::to_string(a) + " ", 0), 0u) << lineA;
  EXPECT_NE(lineA.find(" 1h "), std::string::npos) << lineA;
  EXPECT_NE(lineA.find(" 2.0K "), std::string::npos) << lineA;
  EXPECT_NE(lineA.find(" alice@example.com "), std::string::npos) << lineA;
  EXPECT_NE(lineA.find(" 2 "), std::string::npos) << lineA;
  EXPECT_NE(lineA.find(" now "), std::string::npos) << lineA;
  EXPECT_NE(lineA.find(" queued "), std::string::npos) << lineA;
  // The remote's text cannot drive the terminal.
  EXPECT_EQ(lineA.find('\x1b'), std::string::npos);
  EXPECT_NE(lineA.find("451 4.3.0 \\x1b[31mgreylisted"), std::string::npos) << lineA;
  // The null sender, a held message with no next attempt.
  EXPECT_NE(lineB.find(" <> "), std::string::npos) << lineB;
  EXPECT_NE(lineB.find(" held"), std::string::npos) << lineB;
  EXPECT_NE(lineB.find(" - "), std::string::npos) << lineB;
  EXPECT_EQ(footer, "-- 2 messages, 3 recipients (1 held, 0 being delivered), 2.1K in total");
}

TEST_F(QueueCommandTest, ListShowsLeasedMessages) {
  enqueue("alice@example.com", {{"x@remote.example", "", ""}});
  ASSERT_EQ(store_->claimOutbound(now_, now_ + 300, 10)->size(), 1u);
  auto [code, out] = run(QueueVerb::List);
  ASSERT_EQ(code, 0);
  EXPECT_NE(out.find(" leased "), std::string::npos) << out;
  EXPECT_NE(out.find("(0 held, 1 being delivered)"), std::string::npos) << out;
}

TEST_F(QueueCommandTest, ShowListsEachRecipient) {
  const int64_t a = enqueue("alice@example.com", {{"x@remote.example", "FAILURE,DELAY", "rfc822;x@remote.example"},
                                                  {"y@remote.example", "", ""}});
  auto rows = store_->getQueuedMessage(a);
  ASSERT_TRUE(rows.ok() && rows->size() == 2);
  ASSERT_TRUE(store_->deferOutbound((*rows)[0].id, now_ + 600, "451 try later", true).ok());
  auto [code, out] = run(QueueVerb::Show, std::to_string(a));
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Queue ID:    " + std::to_string(a) + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Sender:      alice@example.com\n"), std::string::npos);
  EXPECT_NE(out.find("Size:        2048 bytes\n"), std::string::npos);
  EXPECT_NE(out.find("Recipients:  2\n"), std::string::npos);
  EXPECT_NE(out.find("x@remote.example  (row"), std::string::npos);
  EXPECT_NE(out.find("attempts:      1\n"), std::string::npos);
  EXPECT_NE(out.find("next attempt:  in 10m"), std::string::npos) << out;
  EXPECT_NE(out.find("last error:    451 try later\n"), std::string::npos);
  EXPECT_NE(out.find("NOTIFY:        FAILURE,DELAY\n"), std::string::npos);
  EXPECT_NE(out.find("ORCPT:         rfc822;x@remote.example\n"), std::string::npos);
  EXPECT_NE(out.find("delay notice:  sent\n"), std::string::npos);
  EXPECT_NE(out.find("y@remote.example  (row"), std::string::npos);
  EXPECT_NE(out.find("next attempt:  now"), std::string::npos);
}

TEST_F(QueueCommandTest, MissingAndInvalidIds) {
  auto [code, msg] = run(QueueVerb::Show, "42");
  EXPECT_EQ(code, 1);
  EXPECT_EQ(msg, "no queued message 42");
  for (QueueVerb v : {QueueVerb::Retry, QueueVerb::Hold, QueueVerb::Release, QueueVerb::Delete}) {
    auto [c, m] = run(v, "42");
    EXPECT_EQ(c, 1) << m;
    EXPECT_EQ(m, "no queued message 42");
  }
  for (const char* bad : {"0", "-1", "abc", "1x", "99999999999999999999"}) {
    EXPECT_EQ(run(QueueVerb::Show, bad).first, 2) << bad;
    EXPECT_EQ(run(QueueVerb::Delete, bad).first, 2) << bad;
  }
  EXPECT_EQ(run(QueueVerb::Retry).first, 2);             // neither an id nor --all
  EXPECT_EQ(run(QueueVerb::Retry, "1", true).first, 2);  // both
  EXPECT_EQ(run(QueueVerb::None).first, 2);
}

TEST_F(QueueCommandTest, ChangingVerbsPrintTheirCounts) {
  const int64_t a = enqueue("alice@example.com", {{"x@remote.example", "", ""}, {"y@remote.example", "", ""}});
  const int64_t b = enqueue("alice@example.com", {{"z@remote.example", "", ""}});
  const std::string suffix = " (queue id " + std::to_string(a) + ")\n";
  EXPECT_EQ(run(QueueVerb::Hold, std::to_string(a)).second, "2 recipients held" + suffix);
  EXPECT_EQ(run(QueueVerb::Hold, std::to_string(a)).second, "0 recipients held" + suffix);
  EXPECT_EQ(run(QueueVerb::Retry, std::to_string(a)).second, "0 recipients due now" + suffix);
  EXPECT_EQ(run(QueueVerb::Retry, {}, true).second, "1 recipient due now\n");
  EXPECT_EQ(run(QueueVerb::Release, std::to_string(a)).second, "2 recipients released" + suffix);
  EXPECT_EQ(run(QueueVerb::Delete, std::to_string(b)).second,
            "1 recipient deleted (queue id " + std::to_string(b) + ")\n");
  auto rest = store_->listQueue(100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].messageId, a);
  EXPECT_FALSE((*rest)[0].held);
}

}  // namespace
}  // namespace tern::app
