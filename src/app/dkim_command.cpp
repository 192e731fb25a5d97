// `tern dkim generate` / `tern dkim show`: creates DKIM keys under the data directory and prints the
// DNS record to publish. Input is the administrator's argv (domain and selector are validated by
// tern::dkim before they name a file) and our own key files (loadKey bounds their size).
#include "app/dkim_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dkim/dkim.h"
#include "net/privileges.h"
#include "util/strings.h"

namespace tern::app {

namespace {

constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;
constexpr size_t kMaxTxtString = 255;

tern::Unexpected<DkimCommandError> usage(std::string m) { return tern::unexpected(DkimCommandError{kUsageError, std::move(m)}); }
tern::Unexpected<DkimCommandError> runtime(std::string m) { return tern::unexpected(DkimCommandError{kRuntimeError, std::move(m)}); }

std::string errnoText() { return std::strerror(errno); }

std::string selectorOf(const Config& config, const DkimOptions& o) {
  return asciiLowercase(o.selector.empty() ? config.dkimSelector : o.selector);
}

// Run as root against a data directory that belongs to the server's user: become that user (as the
// other admin commands do), so that the key file is readable by the server after it drops root.
DkimCommandResult becomeDataDirOwner(const Config& config) {
  struct stat st {};
  if (net::runningAsRoot() && !config.user.empty() && ::stat(config.dataDir.c_str(), &st) == 0 && st.st_uid != 0) {
    if (auto r = net::dropPrivileges(config.user); !r) return runtime("cannot switch to user " + config.user + ": " + r.error());
  }
  return {};
}

DkimCommandResult makePrivateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // under umask 077: 0700
  if (ec) return runtime("cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return runtime("cannot set the mode of " + dir + ": " + errnoText());
  return {};
}

// Writes `data` to `path` atomically: a temp file in the same directory, fsync, then rename (or,
// without `replace`, link, which fails when `path` appeared meanwhile), then fsync of the directory.
DkimCommandResult writeKeyFile(const std::string& dir, const std::string& path, const std::string& data, bool replace) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return runtime("cannot create " + tmp + ": " + errnoText());
  size_t done = 0;
  bool ok = true;
  while (ok && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false; else done += static_cast<size_t>(n);
  }
  std::string why = ok ? "" : errnoText();
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    why = errnoText();
  }
  ::close(fd);
  if (ok) {
    const int rc = replace ? ::rename(tmp.c_str(), path.c_str()) : ::link(tmp.c_str(), path.c_str());
    if (rc != 0) {
      ok = false;
      why = errno == EEXIST ? "it already exists (use --force to replace it)" : errnoText();
    }
  }
  if (!replace || !ok) ::unlink(tmp.c_str());
  if (!ok) return runtime("cannot write " + path + ": " + why);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace

std::string dkimKeyPath(const Config& config, std::string_view domain, std::string_view selector) {
  return config.dkimKeyDir() + "/" + std::string(domain) + "." + std::string(selector) + ".pem";
}

std::string zoneFileRecord(std::string_view dnsName, std::string_view txt) {
  std::string out(dnsName);
  out += ". IN TXT (";
  auto quoted = [&out](std::string_view s) {
    out += " \"";
    out += s;  // our records hold no '"' or '\\'
    out += "\"";
  };
  const size_t p = txt.find("p=");
  if (p != std::string_view::npos && p > 0) {
    quoted(txt.substr(0, p));
    txt.remove_prefix(p);
  }
  while (!txt.empty()) {
    const size_t n = std::min(txt.size(), kMaxTxtString);
    quoted(txt.substr(0, n));
    txt.remove_prefix(n);
  }
  out += " )";
  return out;
}

void addDkimOptions(CLI::App& generate, CLI::App& show, DkimOptions& o) {
  generate.add_option("DOMAIN", o.domain, "Signing domain (d=)")->required();
  generate.add_option("--algorithm", o.algorithm, "rsa (2048 bits, default) or ed25519")
      ->check(CLI::IsMember({"rsa", "ed25519"}, CLI::ignore_case));
  generate.add_option("--selector", o.selector, "Selector (s=; default: [dkim] selector, \"tern\")");
  generate.add_flag("--force", o.force, "Replace an existing key (its DNS record must then be republished)");
  show.add_option("DOMAIN", o.domain, "Signing domain (d=)")->required();
  show.add_option("--selector", o.selector, "Selector (s=; default: [dkim] selector, \"tern\")");
}

DkimCommandResult dkimGenerate(const Config& config, const DkimOptions& o, std::ostream& out) {
  const std::string domain = asciiLowercase(o.domain);
  const std::string selector = selectorOf(config, o);
  const std::string algorithm = asciiLowercase(o.algorithm);
  dkim::Algorithm alg;
  if (algorithm == "rsa") {
    alg = dkim::Algorithm::RsaSha256;
  } else if (algorithm == "ed25519") {
    alg = dkim::Algorithm::Ed25519Sha256;
  } else {
    return usage("unknown algorithm " + o.algorithm + " (rsa or ed25519)");
  }
  if (domain.find('/') != std::string::npos || selector.find('/') != std::string::npos) {
    return usage("invalid domain or selector");
  }
  ::umask(077);
  if (auto r = becomeDataDirOwner(config); !r) return r;
  const std::string dir = config.dkimKeyDir();
  const std::string path = dkimKeyPath(config, domain, selector);
  struct stat st {};
  if (!o.force && ::lstat(path.c_str(), &st) == 0) {  // before the slow RSA generation
    return runtime("a key already exists: " + path + " (use --force to replace it)");
  }
  auto key = dkim::generateKey(alg, domain, selector);  // also validates domain and selector
  if (!key) return usage(key.error());
  if (auto r = makePrivateDir(dir); !r) return r;
  if (auto r = writeKeyFile(dir, path, key->privateKeyPem, o.force); !r) return r;
  out << "; DKIM key written to " << path << "; publish this record:\n"
      << zoneFileRecord(key->dnsName, key->txtRecord) << "\n";
  return {};
}

DkimCommandResult dkimShow(const Config& config, const DkimOptions& o, std::ostream& out) {
  const std::string domain = asciiLowercase(o.domain);
  const std::string selector = selectorOf(config, o);
  if (domain.find('/') != std::string::npos || selector.find('/') != std::string::npos) {
    return usage("invalid domain or selector");
  }
  if (auto r = becomeDataDirOwner(config); !r) return r;
  const std::string path = dkimKeyPath(config, domain, selector);
  auto key = dkim::loadKey(path, domain, selector);
  if (!key) return runtime(key.error());
  auto record = dkim::txtRecord(**key);
  if (!record) return runtime(record.error());
  out << zoneFileRecord(selector + "._domainkey." + domain, *record) << "\n";
  return {};
}

}  // namespace tern::app
