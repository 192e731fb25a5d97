// `tern serve`: binds the configured listeners, drops privileges and runs the servers until SIGTERM.
#pragma once

#include "app/config.h"

namespace tern::app {

// Returns the process exit code (0 after a clean shutdown).
int runServer(const Config& config);

}  // namespace tern::app
