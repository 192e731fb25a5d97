// Fuzzes the SASL mechanisms (PLAIN, LOGIN, SCRAM-SHA-256) with arbitrary client responses over a
// fake directory. Untrusted bytes: every response. Input layout: byte 0 picks the mechanism and
// whether an initial response is sent; the rest is split on 0xFF into successive responses.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../tests/auth/fake_directory.h"
#include "auth/authenticator.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "util/log.h"

using namespace tern;
using Kind = auth::SaslMechanism::Step::Kind;

namespace {

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) abort(); \
  } while (0)

// Cheap Argon2 so each input costs microseconds, not the production cost.
const auth::Argon2Params kCheap{/*timeCost=*/1, /*memoryKiB=*/64, /*parallelism=*/1};
constexpr size_t kMaxSteps = 8;  // no mechanism needs more than 3 round trips

auth::test::FakeDirectory& directory() {
  static auth::test::FakeDirectory* dir = [] {
    auto* d = new auth::test::FakeDirectory;
    // RFC 7677 section 3 account ("user"/"pencil"), so the RFC exchange is a seed that succeeds.
    store::Credentials user;
    user.passwordHash = auth::hashPassword("pencil", kCheap);
    const unsigned char salt[] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
                                  0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81};
    auth::setScramKeys(user, "pencil", std::string_view(reinterpret_cast<const char*>(salt), sizeof salt), 4096);
    d->putAccount("user", user);
    d->putAccount("alice@example.test", auth::makeCredentials("alice-pw", kCheap));
    return d;
  }();
  return *dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tern::log::setLevel(tern::log::Level::Error);
  (void)directory();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};
  const std::string_view name = kNames[(data[0] & 0x7f) % 3];
  const bool initial = (data[0] & 0x80) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> responses;
  while (true) {
    const size_t cut = rest.find('\xff');
    responses.push_back(rest.substr(0, cut));
    if (cut == std::string_view::npos) break;
    rest.remove_prefix(cut + 1);
  }

  // A fresh authenticator per input: throttling state must not make runs depend on history.
  auth::AuthLimits limits;
  limits.maxFailuresPerIp = 1000000;
  limits.maxFailuresPerAccount = 1000000;
  auth::Authenticator authenticator(directory(), limits, kCheap);
  auth::SaslOptions options;
  options.scramServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";  // RFC 7677 vector
  auto mech = auth::makeSaslMechanism(name, authenticator, "192.0.2.1", options);
  FUZZ_CHECK(mech != nullptr);

  size_t next = 0;
  std::optional<std::string_view> response;
  if (initial) response = responses[next++];
  for (size_t steps = 0;; ++steps) {
    FUZZ_CHECK(steps < kMaxSteps);
    auto step = mech->step(response);
    if (step.kind == Kind::Success) {
      FUZZ_CHECK(step.account.has_value());
      FUZZ_CHECK(step.account->address == "user" || step.account->address == "alice@example.test");
      break;
    }
    FUZZ_CHECK(!step.account.has_value());
    if (step.kind != Kind::Challenge) break;
    if (next >= responses.size()) break;  // the client gave up mid-exchange
    response = responses[next++];
  }
  return 0;
}
