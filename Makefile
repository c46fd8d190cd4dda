# ringlb: two commands do all set-up on a fresh machine.
#   make run    build (release) and start ringlb on :5000 with 3 local replicas
#   make test   the whole test suite (format, lint, unit, property, integration)

CARGO   ?= cargo
CONF    ?= conf/ringlb.yaml
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps build release lint unit bench help

help:
	@echo "make run    build and start ringlb on :5000 with 3 local replicas ($(CONF))"
	@echo "make test   run the whole test suite"
	@echo "make bench  side-by-side benchmark against HAProxy and nginx (bench/)"

# Pingora's zlib-ng build needs cmake; install it when missing.
deps:
	@command -v cmake >/dev/null 2>&1 || { \
	  echo "installing cmake (needed to build pingora)"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y cmake; }

release: deps
	$(CARGO) build --release --bins

build: deps
	$(CARGO) build --workspace --bins

run: release
	./target/release/ringlb -c $(CONF)

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Integration tests start the real binaries, so build them first.
unit: build
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

test: lint unit

# Side by side with HAProxy and nginx; then failure timings and 10k clients.
bench: release
	$(CARGO) build --release -p ringlb --example bare_proxy
	bench/run.sh
	python3 bench/failover.py
	python3 bench/c10k.py
