// Cross-checks the MIME tree against Python's email package (message_from_bytes, policy=default):
// content types, part count and transfer-decoded payloads of every corpus message must agree.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "corpus.h"
#include "mime/decode.h"
#include "mime/message.h"

using namespace tern::mime;
namespace fs = std::filesystem;

namespace {

std::string hex(std::string_view s) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

void walk(const std::string& msg, const Part& p, std::string& out) {
  out += p.type + "/" + p.subtype + " ";
  if (p.isMultipart() || p.hasNestedMessage()) {
    out += "-\n";
  } else {
    auto decoded = decodeBody(std::string_view(msg).substr(p.bodyOffset, p.bodySize), p.encoding);
    out += hex(decoded ? *decoded : std::string(std::string_view(msg).substr(p.bodyOffset, p.bodySize))) + "\n";
  }
  for (const auto& c : p.children) walk(msg, c, out);
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (pclose(f) != 0) return {};
  return out;
}

}  // namespace

TEST(PythonCrossCheck, StructureAndPayloadsAgree) {
  if (std::system("python3 -c 'import email.policy' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  fs::path script = fs::path(__FILE__).parent_path() / "email_crosscheck.py";
  ASSERT_TRUE(fs::exists(script)) << script;
  fs::path dir = fs::temp_directory_path() / ("tern-mime-xcheck-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto messages = tern::mime::testing::corpus();
  std::string cmd = "python3 " + script.string();
  for (size_t i = 0; i < messages.size(); ++i) {
    fs::path p = dir / (std::to_string(i) + ".eml");
    std::ofstream(p, std::ios::binary) << messages[i].bytes;
    cmd += " " + p.string();
  }
  std::string py = run(cmd);
  fs::remove_all(dir);
  ASSERT_FALSE(py.empty()) << "python3 failed";
  std::istringstream in(py);
  for (const auto& m : messages) {
    std::string expected, line;
    while (std::getline(in, line) && line != "END") expected += line + "\n";
    // One deliberate difference: when the final boundary is missing, the last part runs to the end
    // of the message with its final CRLF (the bytes are content, no delimiter owns them); Python
    // drops that CRLF.
    if (m.name == "missing-final-boundary") expected.insert(expected.size() - 1, "0d0a");
    std::string ours;
    walk(m.bytes, parseMessage(m.bytes).root, ours);
    EXPECT_EQ(ours, expected) << m.name;
  }
}
