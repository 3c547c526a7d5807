# jishi — the two commands: `make demo` and `make test`. Both install what they need.
.PHONY: demo test test-release bench build-dev build-release setup web clean format

JOBS ?= $(shell nproc)
# ccache hits across checkouts (CI builds a fresh clone each time).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
DEMO_DIR ?= demo-data
DEMO_LISTEN ?= 127.0.0.1:8080

setup:
	@./scripts/setup

build-release: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-dev: setup
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

# The web UI (web/): npm ci against the committed package-lock.json, then a Vite build to
# web/dist, which `jishi serve` serves (the shop at /).
web: setup
	@cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

# Starts the server on a fresh data dir with demo accounts; Ctrl-C stops it.
demo: build-release web
	@rm -rf $(DEMO_DIR)
	@echo "Starting jishi on http://$(DEMO_LISTEN) (data in ./$(DEMO_DIR)); Ctrl-C to stop"
	@./build/release/src/app/jishi demo --data-dir $(DEMO_DIR) --listen $(DEMO_LISTEN)

test: build-dev web
	@ctest --preset dev

# The integration suites again, against the release binary that `make demo` and the benchmarks
# run (optimised, linked with jemalloc; `make test` runs the sanitizer build). CI runs both.
test-release: build-release
	@ldd build/release/src/app/jishi | grep -q libjemalloc || \
	  { echo "build/release/src/app/jishi is not linked with jemalloc"; exit 1; }
	@cd tests/integration && JISHI_BIN=$(CURDIR)/build/release/src/app/jishi \
	  PYTHONDONTWRITEBYTECODE=1 python3 -W ignore::ResourceWarning -m unittest discover -p 'test_*.py'

# The foundation benchmarks, then checkout side by side with a PostgreSQL peer; the run ends
# with the checkout headline (bench/results/<date>-checkout.md).
bench: build-release
	@./scripts/setup bench
	@./bench/run.sh
	@python3 bench/compare.py build/release $${BENCH_CHECKOUT_SECONDS:-10} $${BENCH_CHECKOUT_SKUS:-100000}

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	@rm -rf build
