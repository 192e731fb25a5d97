# Front door: `make run` and `make test` do everything on a fresh Debian 12 machine.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CONFIG ?= dist/tern-dev.toml

.PHONY: all deps test-deps configure build run test unit integration bench clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

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

bench: build
	@echo "Benchmarks arrive with the performance work (bench/)."

clean:
	rm -rf $(BUILD)
