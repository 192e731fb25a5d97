// First-run demo data for development (config [server] bootstrap_demo): a domain and one account.
#pragma once

#include <optional>
#include <string>

#include "store/store.h"

namespace tern::app {

inline constexpr const char* kDemoDomain = "example.test";
inline constexpr const char* kDemoAddress = "demo@example.test";

// When the directory has no domains and no accounts, creates example.test and demo@example.test with
// a random password and returns that password (the caller prints it once; it is never logged).
// Returns nullopt when the directory was not empty or on a store error (which is logged).
std::optional<std::string> bootstrapDemo(store::Directory& directory);

}  // namespace tern::app
