// Shared fixtures for auth tests: cheap Argon2 parameters and a manual clock.
#pragma once

#include <chrono>

#include "auth/authenticator.h"
#include "auth/password.h"

namespace tern::auth::test {

inline const Argon2Params kCheapArgon2{/*timeCost=*/1, /*memoryKiB=*/64, /*parallelism=*/1};

struct ManualClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  Authenticator::Clock fn() {
    return [this] { return now; };
  }
};

}  // namespace tern::auth::test
