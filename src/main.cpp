// Entry point of the `tern` binary: everything happens in the command line (app/cli.h).
#include "app/cli.h"

int main(int argc, char** argv) { return tern::app::runCli(argc, argv); }
