// The `tern` command line: serve, domain/user/alias administration, config check.
#pragma once

namespace tern::app {

// Parses argv and runs the command. Exit codes: 0 ok, 1 runtime error, 2 usage or config error.
int runCli(int argc, char** argv);

}  // namespace tern::app
