# A thin wrapper around Meson.  `make demo`, `make test` and `make bench`
# install what is missing (scripts/install-deps.sh), configure, build and run.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_BENCH ?= build-bench
BUILD_FUZZ ?= build-fuzz
MESON      ?= meson
# make fuzz: seconds per fuzz target (the smoke run in make test takes 5).
FUZZ_SECONDS ?= 60

.PHONY: all deps build test test-plain test-asan test-tsan test-fuzz fuzz bench bench-plots demo install clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

build: deps $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD)

$(BUILD_ASAN)/build.ninja:
	$(MESON) setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

$(BUILD_TSAN)/build.ninja:
	$(MESON) setup $(BUILD_TSAN) -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug

test-plain: build
	$(MESON) test -C $(BUILD) --print-errorlogs

test-asan: deps $(BUILD_ASAN)/build.ninja
	$(MESON) compile -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON) test -C $(BUILD_ASAN) --print-errorlogs --timeout-multiplier 4

test-tsan: deps $(BUILD_TSAN)/build.ninja
	$(MESON) compile -C $(BUILD_TSAN)
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		setarch -R $(MESON) test -C $(BUILD_TSAN) --print-errorlogs --suite tsan --timeout-multiplier 10

# The fuzz targets: clang, AddressSanitizer + UndefinedBehaviorSanitizer,
# libFuzzer (fuzz/meson.build).
$(BUILD_FUZZ)/build.ninja:
	CC=clang $(MESON) setup $(BUILD_FUZZ) -Dfuzz=true -Dpython=disabled -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

# The smoke run of every fuzz target, and the hostile-writer suite again
# under clang's sanitizers (whose UBSan also checks float conversions).
test-fuzz: deps $(BUILD_FUZZ)/build.ninja
	$(MESON) compile -C $(BUILD_FUZZ)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON) test -C $(BUILD_FUZZ) --print-errorlogs --suite fuzz --suite hostile --timeout-multiplier 4

fuzz: deps $(BUILD_FUZZ)/build.ninja
	$(MESON) compile -C $(BUILD_FUZZ)
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(MESON) test -C $(BUILD_FUZZ) --verbose --suite fuzz-long

test: test-plain test-asan test-tsan test-fuzz

# The benchmark suite (docs/benchmarks.md): an optimised build of its own,
# results in $(BUILD)/bench.jsonl.  Never part of `make test`.
$(BUILD_BENCH)/build.ninja:
	$(MESON) setup $(BUILD_BENCH) -Dbuildtype=release -Dbench_peers=enabled

bench: deps $(BUILD_BENCH)/build.ninja
	$(MESON) compile -C $(BUILD_BENCH)
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench.jsonl $(MESON) compile -C $(BUILD_BENCH) bench

# The plots in docs/ from $(BUILD)/bench.jsonl.
bench-plots: deps $(BUILD_BENCH)/build.ninja
	BENCH_OUT=$(CURDIR)/$(BUILD)/bench.jsonl $(MESON) compile -C $(BUILD_BENCH) bench-plots

demo: build
	$(BUILD)/src/cli/shmetrics demo

install: build
	$(MESON) install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_BENCH) $(BUILD_FUZZ)
