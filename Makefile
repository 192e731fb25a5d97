# Front door: `make run` and `make test` do everything on a fresh Debian 12 machine.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CONFIG ?= dist/tern-dev.toml
SAN_BUILD ?= build-san
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
# ccache only when installed (it pays off for repeated local builds, not for a fresh CI machine).
LAUNCHER := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

.PHONY: all deps test-deps fuzz-deps configure build run test unit integration bench bench-compare soak \
        clean test-sanitize fuzz fuzz-smoke fuzz-build

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

fuzz-deps:
	@scripts/install-deps.sh --fuzz

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(LAUNCHER)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Starts Tern on its embedded store in ./var with the development config (loopback ports).
run: build
	$(BUILD)/tern serve --config $(CONFIG)

# Every unit test and every integration test (real clients against a running tern).
test: test-deps configure
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The same tests against an ASan+UBSan build (unit tests and the integration tests' tern alike).
# Reports go to files as well as stderr: a server that only leaks or errs at shutdown, which no test
# would notice, still fails the run. LeakSanitizer needs ptrace, which some sandboxes forbid:
# scripts/lsan-works.sh probes it, and leak checking is switched off (with a notice) only there.
# -O1 -g1 (asserts on): ASan's recommended level, and well under half the compile time of -O2 -g
# on the coroutine-heavy server code, with line numbers still in every report.
SAN_FLAGS ?= -O1 -g1
SAN_LOGS = $(abspath $(SAN_BUILD))/sanitizer-logs
test-sanitize: test-deps
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$(SAN_FLAGS)" \
	  -DTERN_SANITIZE=ON $(LAUNCHER)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@leaks=$$(scripts/lsan-works.sh && echo 1 || echo 0); \
	[ $$leaks = 1 ] || echo "NOTE: LeakSanitizer cannot run here (ptrace denied); leak checks disabled"; \
	cd $(SAN_BUILD) && rc=0; \
	ASAN_OPTIONS=detect_leaks=$$leaks:abort_on_error=1:detect_stack_use_after_return=1:log_path=$(SAN_LOGS)/asan:log_exe_name=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(SAN_LOGS)/ubsan:log_exe_name=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 || rc=$$?; \
	if [ -n "$$(ls -A $(SAN_LOGS))" ]; then \
	  echo "Sanitizer reports:"; for f in $(SAN_LOGS)/*; do echo "--- $$f"; head -n 80 "$$f"; done; rc=1; \
	fi; exit $$rc

# libFuzzer targets (clang): `make fuzz` runs each for FUZZ_SECONDS, `make fuzz-smoke` for 10 s.
fuzz-build: fuzz-deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_FUZZ=ON $(LAUNCHER)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_BUILD) 10

BENCH_BUILD ?= build-bench
# Benchmarks (docs/PERFORMANCE.md): Tern alone, and Tern vs Dovecot + Postfix back to back (installs
# them from Debian with their services kept from starting; needs root). Release build in BENCH_BUILD.
bench: test-deps
	BENCH_BUILD=$(abspath $(BENCH_BUILD)) bench/run.sh

bench-compare: test-deps
	BENCH_BUILD=$(abspath $(BENCH_BUILD)) bench/compare.sh

SOAK_SECONDS ?= 600
# Mixed IMAP + SMTP load on a real tern for SOAK_SECONDS: RSS flat after warm-up, sockets back to
# baseline, no error in the log, every accepted message stored. Prints the figures.
soak: test-deps build
	cd tests/integration && TERN_BIN=$(abspath $(BUILD))/tern SOAK_SECONDS=$(SOAK_SECONDS) python3 soak.py

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)
