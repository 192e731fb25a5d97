// The `tern` command line (CLI11): serve, domain/user/alias administration, config check and store check.
// Input is the local administrator's argv and terminal; passwords are read from a no-echo prompt or
// stdin, never argv (visible in ps), and are never printed or logged.
#include "app/cli.h"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "app/config.h"
#include "app/dkim_command.h"
#include "app/queue_command.h"
#include "app/serve.h"
#include "auth/password.h"
#include "net/privileges.h"
#include "store/sqlite/sqlite_store.h"
#include "util/strings.h"

namespace tern::app {

namespace {

constexpr int kOk = 0;
constexpr int kRuntimeError = 1;
constexpr int kUsageError = 2;
constexpr size_t kMaxPasswordLength = 1024;

// A failed command: its exit code and one line for stderr.
struct CliError {
  int code;
  std::string message;
};
using CliResult = tern::Result<void, CliError>;

tern::Unexpected<CliError> usage(std::string message) { return tern::unexpected(CliError{kUsageError, std::move(message)}); }
tern::Unexpected<CliError> runtime(std::string message) { return tern::unexpected(CliError{kRuntimeError, std::move(message)}); }

std::string describe(const store::Error& e) {
  switch (e.code) {
    case store::Errc::NotFound: return "not found";
    case store::Errc::AlreadyExists: return "already exists";
    case store::Errc::Invalid: return e.detail.empty() ? "invalid request" : e.detail;
    case store::Errc::HasChildren: return "has children";
    case store::Errc::OverQuota: return "over quota";
    case store::Errc::Conflict: return "conflict";
    case store::Errc::Unavailable: return "temporarily unavailable" + (e.detail.empty() ? "" : ": " + e.detail);
    case store::Errc::Internal: return "internal error" + (e.detail.empty() ? "" : ": " + e.detail);
  }
  return "error";
}

std::string defaultConfigPath() {
  std::error_code ec;
  if (std::filesystem::exists("tern.toml", ec)) return "tern.toml";
  return "/etc/tern/tern.toml";
}

bool validDomain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.' || d.find("..") != d.npos) return false;
  for (char c : d) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  }
  return true;
}

// localpart@domain; the localpart is kept simple (no quoting, no spaces or controls).
bool validAddress(std::string_view a, bool allowCatchAll = false) {
  const size_t at = a.rfind('@');
  if (at == std::string_view::npos || at > 64 || !validDomain(a.substr(at + 1))) return false;
  if (at == 0) return allowCatchAll;
  for (unsigned char c : a.substr(0, at)) {
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' ||
        c == '<' || c == '>' || c == '@' || c == '[' || c == ']' || c == '\\') {
      return false;
    }
  }
  return true;
}

// Reads one line from the terminal with echo off; restores the terminal before returning.
std::optional<std::string> promptNoEcho(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  const bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  if (!got) return std::nullopt;
  return line;
}

tern::Result<std::string, CliError> readPassword(bool fromStdin) {
  std::string password;
  if (fromStdin) {
    if (!std::getline(std::cin, password) && password.empty()) return usage("no password on stdin");
    if (!password.empty() && password.back() == '\r') password.pop_back();
  } else if (isatty(STDIN_FILENO)) {
    auto first = promptNoEcho("Password: ");
    auto second = first ? promptNoEcho("Repeat password: ") : std::nullopt;
    if (!first || !second) return usage("no password entered");
    if (*first != *second) return usage("passwords do not match");
    password = std::move(*first);
  } else {
    return usage("stdin is not a terminal: use --password-stdin to read the password from it");
  }
  if (password.empty()) return usage("empty password");
  if (password.size() > kMaxPasswordLength) return usage("password longer than 1024 bytes");
  return password;
}

// Everything a command may need, filled by the option callbacks of CLI11.
struct Options {
  std::string configPath;
  std::string name;                  // domain or address
  std::vector<std::string> targets;  // alias targets
  bool passwordStdin = false;
  bool repair = false;  // tern check --repair
};

tern::Result<Config, CliError> loadSelectedConfig(const Options& o) {
  const std::string path = o.configPath.empty() ? defaultConfigPath() : o.configPath;
  auto config = loadConfig(path);
  if (!config) return usage(config.error());
  return std::move(config).value();
}

tern::Result<std::unique_ptr<store::SqliteStore>, CliError> openStore(const Options& o) {
  auto config = loadSelectedConfig(o);
  if (!config) return tern::unexpected(config.error());
  ::umask(077);  // like the server: data files 0600, directories 0700
  // Run as root against a data directory the server has handed to its user: become that user, so
  // that files SQLite creates (-wal, -shm) stay usable by the running server.
  struct stat st {};
  if (net::runningAsRoot() && !config->user.empty() && ::stat(config->dataDir.c_str(), &st) == 0 && st.st_uid != 0) {
    if (auto r = net::dropPrivileges(config->user); !r) return runtime("cannot switch to user " + config->user + ": " + r.error());
  }
  store::SqliteOptions options;
  options.externalPollInterval = std::chrono::milliseconds{0};  // a short-lived admin command
  auto s = store::SqliteStore::open(config->dataDir, options);
  if (!s) return runtime("cannot open data directory " + config->dataDir + ": " + describe(s.error()));
  return std::move(s).value();
}

// Runs `fn(store)` against the configured store, turning store errors into one line.
template <class Fn>
CliResult withStore(const Options& o, Fn fn) {
  auto s = openStore(o);
  if (!s) return tern::unexpected(s.error());
  return fn(**s);
}

CliResult domainAdd(const Options& o) {
  const std::string domain = asciiLowercase(o.name);
  if (!validDomain(domain)) return usage("invalid domain name: " + o.name);
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    if (auto r = s.addDomain(domain); !r) return runtime("cannot add domain " + domain + ": " + describe(r.error()));
    return {};
  });
}

CliResult domainDel(const Options& o) {
  const std::string domain = asciiLowercase(o.name);
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    auto r = s.removeDomain(domain);
    if (!r && r.error().code == store::Errc::Invalid) {
      return runtime("cannot delete domain " + domain + ": it still has accounts");
    }
    if (!r) return runtime("cannot delete domain " + domain + ": " + describe(r.error()));
    return {};
  });
}

CliResult domainList(const Options& o) {
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    auto r = s.listDomains();
    if (!r) return runtime("cannot list domains: " + describe(r.error()));
    for (const auto& d : *r) std::cout << d << "\n";
    return {};
  });
}

CliResult userAdd(const Options& o) {
  const std::string address = asciiLowercase(o.name);
  if (!validAddress(address)) return usage("invalid address: " + o.name);
  // Open the store first so that a bad config is reported before the password prompt.
  auto s = openStore(o);
  if (!s) return tern::unexpected(s.error());
  auto password = readPassword(o.passwordStdin);
  if (!password) return tern::unexpected(password.error());
  auto r = (*s)->addAccount(address, auth::makeCredentials(*password));
  if (!r && r.error().code == store::Errc::Invalid) {
    return runtime("cannot add user " + address + ": its domain is not configured (tern domain add)");
  }
  if (!r) return runtime("cannot add user " + address + ": " + describe(r.error()));
  return {};
}

CliResult userPasswd(const Options& o) {
  const std::string address = asciiLowercase(o.name);
  auto s = openStore(o);
  if (!s) return tern::unexpected(s.error());
  auto account = (*s)->findAccount(address);
  if (!account) return runtime("cannot look up user " + address + ": " + describe(account.error()));
  if (!account->has_value()) return runtime("no such user: " + address);
  auto password = readPassword(o.passwordStdin);
  if (!password) return tern::unexpected(password.error());
  if (auto r = (*s)->setCredentials(address, auth::makeCredentials(*password)); !r) {
    return runtime("cannot set password of " + address + ": " + describe(r.error()));
  }
  return {};
}

CliResult userDel(const Options& o) {
  const std::string address = asciiLowercase(o.name);
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    if (auto r = s.removeAccount(address); !r) return runtime("cannot delete user " + address + ": " + describe(r.error()));
    return {};
  });
}

CliResult userList(const Options& o) {
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    auto r = s.listAccounts();
    if (!r) return runtime("cannot list users: " + describe(r.error()));
    for (const auto& a : *r) std::cout << a << "\n";
    return {};
  });
}

CliResult aliasAdd(const Options& o) {
  const std::string address = asciiLowercase(o.name);
  if (!validAddress(address, /*allowCatchAll=*/true)) return usage("invalid alias address: " + o.name);
  std::vector<std::string> targets;
  for (const auto& t : o.targets) {
    if (!validAddress(t)) return usage("invalid target address: " + t);
    targets.push_back(asciiLowercase(t));
  }
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    if (auto r = s.addAlias(address, targets); !r) return runtime("cannot add alias " + address + ": " + describe(r.error()));
    return {};
  });
}

CliResult aliasDel(const Options& o) {
  const std::string address = asciiLowercase(o.name);
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    if (auto r = s.removeAlias(address); !r) return runtime("cannot delete alias " + address + ": " + describe(r.error()));
    return {};
  });
}

CliResult aliasList(const Options& o) {
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    auto r = s.listAliases();
    if (!r) return runtime("cannot list aliases: " + describe(r.error()));
    for (const auto& a : *r) {
      std::cout << a.address << " ->";
      for (const auto& t : a.targets) std::cout << " " << t;
      std::cout << "\n";
    }
    return {};
  });
}

CliResult configCheck(const Options& o) {
  auto config = loadSelectedConfig(o);
  if (!config) return tern::unexpected(config.error());
  std::cout << config->path << ": ok\n";
  return {};
}

// Exit 0 when the store is consistent, 1 when problems were found (repaired or not: a second run
// after --repair tells whether any remain).
CliResult storeCheck(const Options& o) {
  return withStore(o, [&](store::SqliteStore& s) -> CliResult {
    auto r = s.check(o.repair);
    if (!r) return runtime("cannot check the store: " + describe(r.error()));
    for (const auto& p : r->problems) std::cout << p << "\n";
    std::cout << r->mailboxes << " mailboxes, " << r->messages << " messages, " << r->blobs << " blobs checked: "
              << r->problems.size() << " problems";
    if (o.repair) std::cout << ", " << r->repaired << " repaired";
    std::cout << "\n";
    if (!r->problems.empty()) return tern::unexpected(CliError{kRuntimeError, ""});
    return {};
  });
}

}  // namespace

int runCli(int argc, char** argv) {
  CLI::App app{"Tern mail server (IMAP and SMTP)", "tern"};
  app.require_subcommand(1);
  // Options of the top level are also accepted after any subcommand ("tern user list --config F").
  app.fallthrough();
  Options o;
  app.add_option("--config", o.configPath, "Config file (default: ./tern.toml if present, else /etc/tern/tern.toml)");

  std::function<CliResult()> action;
  auto on = [&action, &o](CLI::App* cmd, CliResult (*fn)(const Options&)) {
    cmd->callback([&action, &o, fn] { action = [&o, fn] { return fn(o); }; });
  };

  auto* serve = app.add_subcommand("serve", "Run the server");
  serve->callback([&] {
    action = [&]() -> CliResult {
      auto config = loadSelectedConfig(o);
      if (!config) return tern::unexpected(config.error());
      const int rc = runServer(*config);
      if (rc != 0) return tern::unexpected(CliError{rc, ""});  // runServer has logged why
      return {};
    };
  });

  auto* domain = app.add_subcommand("domain", "Manage mail domains");
  domain->require_subcommand(1);
  auto* domainAddCmd = domain->add_subcommand("add", "Add a domain");
  domainAddCmd->add_option("NAME", o.name, "Domain name")->required();
  on(domainAddCmd, domainAdd);
  auto* domainDelCmd = domain->add_subcommand("del", "Delete a domain without accounts");
  domainDelCmd->add_option("NAME", o.name, "Domain name")->required();
  on(domainDelCmd, domainDel);
  on(domain->add_subcommand("list", "List domains"), domainList);

  auto* user = app.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  auto* userAddCmd = user->add_subcommand("add", "Add an account (password from a prompt or --password-stdin)");
  userAddCmd->add_option("ADDRESS", o.name, "Address, also the login name")->required();
  userAddCmd->add_flag("--password-stdin", o.passwordStdin, "Read the password from the first line of stdin");
  on(userAddCmd, userAdd);
  auto* userPasswdCmd = user->add_subcommand("passwd", "Set an account's password");
  userPasswdCmd->add_option("ADDRESS", o.name, "Address")->required();
  userPasswdCmd->add_flag("--password-stdin", o.passwordStdin, "Read the password from the first line of stdin");
  on(userPasswdCmd, userPasswd);
  auto* userDelCmd = user->add_subcommand("del", "Delete an account and all its mail");
  userDelCmd->add_option("ADDRESS", o.name, "Address")->required();
  on(userDelCmd, userDel);
  on(user->add_subcommand("list", "List accounts"), userList);

  auto* alias = app.add_subcommand("alias", "Manage aliases");
  alias->require_subcommand(1);
  auto* aliasAddCmd = alias->add_subcommand("add", "Add or replace an alias (\"@domain\" is the catch-all)");
  aliasAddCmd->add_option("ADDRESS", o.name, "Alias address")->required();
  aliasAddCmd->add_option("TARGET", o.targets, "Target accounts")->required();
  on(aliasAddCmd, aliasAdd);
  auto* aliasDelCmd = alias->add_subcommand("del", "Delete an alias");
  aliasDelCmd->add_option("ADDRESS", o.name, "Alias address")->required();
  on(aliasDelCmd, aliasDel);
  on(alias->add_subcommand("list", "List aliases"), aliasList);

  auto* config = app.add_subcommand("config", "Configuration tools");
  config->require_subcommand(1);
  on(config->add_subcommand("check", "Validate the config file"), configCheck);

  DkimOptions dkimOptions;
  auto* dkim = app.add_subcommand("dkim", "DKIM signing keys");
  dkim->require_subcommand(1);
  auto* dkimGenerateCmd = dkim->add_subcommand("generate", "Create a signing key and print the DNS record to publish");
  auto* dkimShowCmd = dkim->add_subcommand("show", "Print the DNS record of an existing signing key");
  addDkimOptions(*dkimGenerateCmd, *dkimShowCmd, dkimOptions);
  for (auto [cmd, fn] : {std::pair{dkimGenerateCmd, &dkimGenerate}, std::pair{dkimShowCmd, &dkimShow}}) {
    cmd->callback([&action, &o, &dkimOptions, fn = fn] {
      action = [&o, &dkimOptions, fn]() -> CliResult {
        auto config = loadSelectedConfig(o);
        if (!config) return tern::unexpected(config.error());
        if (auto r = fn(*config, dkimOptions, std::cout); !r) return tern::unexpected(CliError{r.error().code, r.error().message});
        return {};
      };
    });
  }

  QueueOptions queueOptions;
  auto* queue = app.add_subcommand("queue", "Inspect and manage the outbound queue (works while the server runs)");
  addQueueCommands(*queue, queueOptions);
  queue->callback([&action, &o, &queueOptions] {
    action = [&o, &queueOptions]() -> CliResult {
      return withStore(o, [&](store::SqliteStore& s) -> CliResult {
        auto r = runQueueCommand(s, queueOptions, std::cout);
        if (!r) return tern::unexpected(CliError{r.error().code, r.error().message});
        return {};
      });
    };
  });

  auto* check = app.add_subcommand("check", "Verify the store (counters, UIDs, MODSEQs, blobs); exit 1 on problems");
  check->add_flag("--repair", o.repair, "Fix what is safe: recount counters, raise UIDNEXT and HIGHESTMODSEQ");
  on(check, storeCheck);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tern: " << e.what() << " (see tern --help)\n";
    return kUsageError;
  }
  if (!action) {
    std::cerr << "tern: no command given (see tern --help)\n";
    return kUsageError;
  }
  try {
    auto r = action();
    if (r) return kOk;
    if (!r.error().message.empty()) std::cerr << "tern: " << r.error().message << "\n";
    return r.error().code;
  } catch (const std::exception& e) {
    // Admin commands may meet exceptions (allocation, Argon2 parameters); one line, not a crash.
    std::cerr << "tern: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace tern::app
