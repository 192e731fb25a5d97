// Tests for `tern dkim generate` / `tern dkim show` (dkimGenerate, dkimShow) against a temp data
// directory, and the zone-file form of the record.
#include "app/dkim_command.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dkim/dkim.h"

namespace tern::app {
namespace {

namespace fs = std::filesystem;

class DkimCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-dkim-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.dataDir = dir_ + "/data";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static mode_t modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }
  static std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
  Config config_;
};

TEST_F(DkimCommandTest, GenerateEd25519WritesKeyAndPrintsRecord) {
  DkimOptions o;
  o.domain = "Example.COM";
  o.algorithm = "ed25519";
  std::ostringstream out;
  auto r = dkimGenerate(config_, o, out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string path = config_.dataDir + "/dkim/example.com.tern.pem";
  EXPECT_EQ(dkimKeyPath(config_, "example.com", "tern"), path);
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(modeOf(config_.dataDir + "/dkim"), 0700u);
  // The key loads, and the record printed is the key's.
  auto key = dkim::loadKey(path, "example.com", "tern");
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ((*key)->algorithm(), dkim::Algorithm::Ed25519Sha256);
  const std::string record = dkim::txtRecord(**key).value();
  const std::string text = out.str();
  EXPECT_EQ(text, "; DKIM key written to " + path + "; publish this record:\n" +
                      "tern._domainkey.example.com. IN TXT ( \"v=DKIM1; k=ed25519; \" \"" + record.substr(std::string("v=DKIM1; k=ed25519; ").size()) + "\" )\n");
  // No temp file left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(config_.dataDir + "/dkim")) ++files;
  EXPECT_EQ(files, 1u);

  // show prints the same record again.
  std::ostringstream shown;
  ASSERT_TRUE(dkimShow(config_, o, shown).ok());
  EXPECT_EQ(shown.str(), text.substr(text.find('\n') + 1));
}

TEST_F(DkimCommandTest, RefusesToOverwriteWithoutForce) {
  DkimOptions o;
  o.domain = "example.com";
  o.algorithm = "ed25519";
  o.selector = "s1";
  std::ostringstream out;
  ASSERT_TRUE(dkimGenerate(config_, o, out).ok());
  const std::string path = config_.dataDir + "/dkim/example.com.s1.pem";
  const std::string first = readFile(path);
  auto again = dkimGenerate(config_, o, out);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, 1);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(readFile(path), first);
  o.force = true;
  ASSERT_TRUE(dkimGenerate(config_, o, out).ok());
  EXPECT_NE(readFile(path), first);
  EXPECT_EQ(modeOf(path), 0600u);
}

TEST_F(DkimCommandTest, RsaRecordSplitIntoStringsOf255) {
  DkimOptions o;
  o.domain = "example.com";
  config_.dkimSelector = "fromconfig";
  std::ostringstream out;
  ASSERT_TRUE(dkimGenerate(config_, o, out).ok());
  const std::string line = out.str().substr(out.str().find('\n') + 1);
  ASSERT_EQ(line.rfind("fromconfig._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; \" \"p=MII", 0), 0u) << line;
  // Every quoted string is at most 255 bytes; together they are the key's record.
  std::string joined;
  size_t pos = 0;
  size_t strings = 0;
  while ((pos = line.find('"', pos)) != std::string::npos) {
    const size_t end = line.find('"', pos + 1);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - pos - 1, 255u);
    joined += line.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    ++strings;
  }
  EXPECT_EQ(strings, 3u);  // the tags, then 394 bytes of "p=..." in two strings
  auto key = dkim::loadKey(config_.dataDir + "/dkim/example.com.fromconfig.pem", "example.com", "fromconfig");
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(joined, dkim::txtRecord(**key).value());
}

TEST_F(DkimCommandTest, UsageErrors) {
  std::ostringstream out;
  DkimOptions o;
  o.domain = "example.com";
  o.algorithm = "dsa";
  EXPECT_EQ(dkimGenerate(config_, o, out).error().code, 2);
  o.algorithm = "ed25519";
  for (const char* bad : {"exa mple.com", "../etc", "a/b", "x;y"}) {
    o.domain = bad;
    auto r = dkimGenerate(config_, o, out);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, 2) << bad;
  }
  EXPECT_FALSE(fs::exists(config_.dataDir + "/dkim/../etc.tern.pem"));
  o.domain = "missing.example";
  auto shown = dkimShow(config_, o, out);
  ASSERT_FALSE(shown.ok());
  EXPECT_EQ(shown.error().code, 1);
  EXPECT_TRUE(out.str().empty());
}

TEST(ZoneFileRecord, SplitsAtPAndAt255) {
  EXPECT_EQ(zoneFileRecord("s._domainkey.example.com", "v=DKIM1; k=ed25519; p=abc"),
            "s._domainkey.example.com. IN TXT ( \"v=DKIM1; k=ed25519; \" \"p=abc\" )");
  const std::string p(300, 'A');
  EXPECT_EQ(zoneFileRecord("n", "v=DKIM1; p=" + p),
            "n. IN TXT ( \"v=DKIM1; \" \"p=" + p.substr(0, 253) + "\" \"" + p.substr(253) + "\" )");
}

}  // namespace
}  // namespace tern::app
