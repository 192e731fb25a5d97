#!/usr/bin/env bash
# Exit 0 when LeakSanitizer works on this machine (it stops the process with ptrace, which some
# containers and sandboxes forbid): builds a program that leaks and checks that the leak is reported.
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cc=$(command -v clang++ || command -v g++)
printf '#include <cstdlib>\nvoid* volatile p;\nint main() { p = std::malloc(64); p = nullptr; }\n' >"$dir/leak.cpp"
"$cc" -fsanitize=address -g "$dir/leak.cpp" -o "$dir/leak" 2>/dev/null || exit 1
ASAN_OPTIONS=detect_leaks=1 "$dir/leak" >"$dir/out" 2>&1
grep -q "detected memory leaks" "$dir/out"
