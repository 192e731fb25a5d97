// `tern dkim generate` and `tern dkim show`: DKIM signing keys under Config::dkimKeyDir() and the
// DNS TXT record to publish for them. Input is the local administrator's argv and the key files.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "app/config.h"
#include "util/result.h"

namespace CLI {
class App;
}

namespace tern::app {

struct DkimOptions {
  std::string domain;
  std::string algorithm = "rsa";  // rsa | ed25519
  std::string selector;           // empty: Config::dkimSelector
  bool force = false;             // generate: replace an existing key
};

// A failed command: exit code (1 runtime, 2 usage) and one line for stderr.
struct DkimCommandError {
  int code;
  std::string message;
};
using DkimCommandResult = tern::Result<void, DkimCommandError>;

// Adds DOMAIN, --algorithm, --selector and --force to `generate`, DOMAIN and --selector to `show`.
void addDkimOptions(CLI::App& generate, CLI::App& show, DkimOptions& o);

// Writes <dkimKeyDir>/<domain>.<selector>.pem (0600, directory 0700, atomically) unless it exists
// and --force is not given, then prints a zone-file comment naming the file and the TXT record.
DkimCommandResult dkimGenerate(const Config& config, const DkimOptions& o, std::ostream& out);
// Prints the TXT record of the existing key.
DkimCommandResult dkimShow(const Config& config, const DkimOptions& o, std::ostream& out);

// "<dkimKeyDir>/<domain>.<selector>.pem"
std::string dkimKeyPath(const Config& config, std::string_view domain, std::string_view selector);
// `NAME. IN TXT ( "v=DKIM1; k=rsa; " "p=..." )`: the record as zone-file character strings of at
// most 255 bytes each (RFC 1035 3.3), the tags before p= in the first.
std::string zoneFileRecord(std::string_view dnsName, std::string_view txt);

}  // namespace tern::app
