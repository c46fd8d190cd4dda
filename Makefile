# ringlb: two commands do all set-up on a fresh machine.
#   make run    build (release) and start ringlb on :5000 with 3 local replicas
#   make test   the whole test suite (format, lint, unit, property, integration)

CARGO   ?= cargo
CONF    ?= conf/ringlb.yaml
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run upgrade test deps test-deps build release lint unit bench help

help:
	@echo "make run    build and start ringlb on :5000 with 3 local replicas ($(CONF))"
	@echo "make test   run the whole test suite"
	@echo "make bench  side-by-side benchmark against HAProxy and nginx (bench/)"
	@echo "make upgrade       zero-downtime upgrade of the ringlb make run started (new build, same replicas)"
	@echo "make compose       the docker-compose deployment on :5000 (compose-down stops it)"
	@echo "make swarm         two ringlb instances on Docker Swarm, :5000 and :5001 (swarm-down removes it)"

# Pingora's zlib-ng build needs cmake; install it when missing.
deps:
	@command -v cmake >/dev/null 2>&1 || { \
	  echo "installing cmake (needed to build pingora)"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y cmake; }

# What only the tests need: promtool (Debian's prometheus package) checks
# the /metrics scrape (proxy/tests/metrics.rs); headless chromium renders
# the dashboard (proxy/tests/dashboard.rs).
test-deps: deps
	@command -v promtool >/dev/null 2>&1 || { \
	  echo "installing prometheus (promtool checks the /metrics scrape)"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends prometheus; }
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (a real browser renders the dashboard in the tests)"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

release: deps
	$(CARGO) build --release --bins

build: deps
	$(CARGO) build --workspace --bins

run: release
	./target/release/ringlb -c $(CONF)

# Zero-downtime upgrade (or reload of a changed $(CONF)) of the ringlb that
# `make run` started, Pingora's way: the new build starts with -u and takes
# over in this terminal; the old one gets SIGQUIT, hands over its sockets
# and replica set, and exits. UPGRADE_SOCK is the config's `upgrade_sock`.
UPGRADE_SOCK ?= /tmp/pingora_upgrade.sock
upgrade: release
	@old=$$(cat $(UPGRADE_SOCK).ringlb.pid 2>/dev/null); \
	if [ -z "$$old" ] || ! kill -0 $$old 2>/dev/null; then \
	  echo "no running ringlb found in $(UPGRADE_SOCK).ringlb.pid: start one with make run"; exit 1; fi; \
	echo "upgrading ringlb $$old"; kill -QUIT $$old; \
	exec ./target/release/ringlb -c $(CONF) -u

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Integration tests start the real binaries, so build them first; the Docker
# tests need an Engine and the compose test the images `make compose` runs.
unit: test-deps build docker-up compose-images
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  echo "cargo-nextest not found: cargo test, one test at a time (timing tests need the cores)"; \
	  $(CARGO) test --workspace --no-fail-fast -- --test-threads=1; \
	fi

test: lint unit

# Side by side with HAProxy and nginx; then failure timings, 10k clients and
# what metrics and the access log cost.
bench: release
	$(CARGO) build --release -p ringlb --example bare_proxy
	bench/run.sh
	python3 bench/failover.py
	python3 bench/c10k.py
	python3 bench/observability.py

# The docker-compose deployment: ringlb in a container starts its replicas as
# containers. Images are FROM scratch with static binaries built here (no
# image can be pulled); the legacy builder needs no buildx. With no variables
# it is the deployment on :5000; RINGLB_PORT, RINGLB_CONTAINER, RINGLB_NETWORK,
# RINGLB_CONF and COMPOSE_PROJECT_NAME (see docker-compose.yml) and OWNER
# (the config's owner label) run a second stack beside it, as
# proxy/tests/compose.rs does.
DOCKER   ?= docker
COMPOSE  ?= docker-compose
TRIPLE   := x86_64-unknown-linux-gnu
OWNER    := ringlb-compose

.PHONY: compose compose-down compose-images compose-static docker-up

# Stripped: the images carry no symbols (make run's binaries keep theirs,
# for profiles).
compose-static: deps
	RUSTFLAGS='-C target-feature=+crt-static -C strip=symbols' $(CARGO) build --release \
	  --target $(TRIPLE) --target-dir target/static -p ringlb -p ringlb-backend --bins

compose-images: compose-static
	DOCKER_BUILDKIT=0 $(DOCKER) build --build-arg BIN=ringlb-backend -t ringlb-backend:latest .
	DOCKER_BUILDKIT=0 $(DOCKER) build --build-arg BIN=ringlb -t ringlb:latest .

compose: compose-images
	$(COMPOSE) up -d
	@port=$$($(COMPOSE) port ringlb 5000 | sed 's/.*://'); \
	for i in $$(seq 600); do curl -fsS -o /dev/null http://127.0.0.1:$$port/rep 2>/dev/null && break; sleep 0.1; done; \
	curl -fsS -o /dev/null http://127.0.0.1:$$port/rep || { \
	  echo "ringlb did not answer on :$$port within 60 s: docker logs $${RINGLB_CONTAINER:-ringlb}" >&2; exit 1; }; \
	echo; \
	echo "ringlb is up on :$$port (its replicas: docker ps --filter label=ringlb.owner=$(OWNER))"; \
	echo "  curl http://localhost:$$port/home"; \
	echo "  curl http://localhost:$$port/rep"; \
	echo "  curl -X POST -H 'Content-Type: application/json' -d '{\"n\": 2, \"hostnames\": [\"S5\"]}' http://localhost:$$port/add"; \
	echo "  docker logs -f $${RINGLB_CONTAINER:-ringlb}"; \
	echo "  make compose-down"

# ringlb removes its replicas on SIGTERM; anything still labelled as its own
# (after a kill -9) is removed before the network goes.
compose-down:
	-$(COMPOSE) stop
	@left=$$($(DOCKER) ps -aq --filter label=ringlb.owner=$(OWNER)); \
	  if [ -n "$$left" ]; then echo "removing leftover replicas"; $(DOCKER) rm -f $$left; fi
	$(COMPOSE) down

# The Docker tests (proxy/tests/docker.rs, compose.rs) fail when no Engine
# answers, so `make test` makes sure one does: if `docker info` fails it
# starts dockerd in the background (as root, or through sudo) and waits for
# it, 30 s at most. The opposite of skipping: a machine without Docker fails
# here, saying why.
docker-up:
	@timeout 20 $(DOCKER) info >/dev/null 2>&1 || { \
	  command -v dockerd >/dev/null 2>&1 || { \
	    echo "docker-up: no Docker Engine answers and dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }; \
	  echo "docker-up: no Docker Engine answers; starting dockerd (log: /tmp/dockerd.log)"; \
	  $(SUDO) setsid dockerd >/tmp/dockerd.log 2>&1 & pid=$$!; \
	  for i in $$(seq 150); do \
	    timeout 5 $(DOCKER) info >/dev/null 2>&1 && break; kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	  timeout 5 $(DOCKER) info >/dev/null 2>&1 || { \
	    echo "docker-up: dockerd exited or did not answer within 30 s; the end of /tmp/dockerd.log:" >&2; \
	    tail -n 20 /tmp/dockerd.log >&2; exit 1; }; \
	  echo "docker-up: dockerd answers"; }

# Docker Swarm (docker-stack.yml, conf/swarm.yaml): two ringlb instances,
# on :5000 and :5001, over one replica set of Swarm services. A single-node
# swarm is initialised when there is none (and `make swarm-down` leaves it
# again); the token for /add and /rm is made once, in $(SWARM_STATE)/admin-token.
# proxy/tests/swarm.rs sets the variables below to run a second deployment
# beside this one; SWARM_OWNER must be the config's `swarm.owner`.
STACK         ?= ringlb
SWARM_NETWORK ?= ringlb-swarm
SWARM_CONF    ?= conf/swarm.yaml
SWARM_OWNER   ?= ringlb-swarm
SWARM_STATE   ?= .swarm
SWARM_PORT_A  ?= 5000
SWARM_PORT_B  ?= 5001

.PHONY: swarm swarm-down swarm-init

swarm-init: docker-up
	@if [ "$$($(DOCKER) info --format '{{.Swarm.LocalNodeState}}')" = inactive ]; then \
	  echo "initialising a single-node swarm (make swarm-down leaves it)"; \
	  $(DOCKER) swarm init --advertise-addr 127.0.0.1 >/dev/null && \
	  mkdir -p $(SWARM_STATE) && touch $(SWARM_STATE)/swarm-initialised; fi
	@$(DOCKER) network inspect $(SWARM_NETWORK) >/dev/null 2>&1 || \
	  $(DOCKER) network create -d overlay --attachable --label ringlb.stack=$(STACK) $(SWARM_NETWORK) >/dev/null

swarm: compose-images swarm-init
	@mkdir -p $(SWARM_STATE); [ -s $(SWARM_STATE)/admin-token ] || \
	  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > $(SWARM_STATE)/admin-token)
	RINGLB_PORT_A=$(SWARM_PORT_A) RINGLB_PORT_B=$(SWARM_PORT_B) RINGLB_SWARM_NETWORK=$(SWARM_NETWORK) \
	RINGLB_CONF=$(abspath $(SWARM_CONF)) RINGLB_CONF_NAME=$(STACK)_conf_$$(sha256sum $(SWARM_CONF) | cut -c1-12) \
	RINGLB_TOKEN_FILE=$(abspath $(SWARM_STATE))/admin-token \
	RINGLB_TOKEN_NAME=$(STACK)_token_$$(sha256sum $(SWARM_STATE)/admin-token | cut -c1-12) \
	  $(DOCKER) stack deploy -c docker-stack.yml $(STACK)
	@for port in $(SWARM_PORT_A) $(SWARM_PORT_B); do \
	  for i in $$(seq 600); do curl -fsS -o /dev/null http://127.0.0.1:$$port/rep 2>/dev/null && break; sleep 0.1; done; \
	  curl -fsS -o /dev/null http://127.0.0.1:$$port/rep || { \
	    echo "ringlb on :$$port did not answer within 60 s: docker service logs $(STACK)_ringlb" >&2; exit 1; }; done
	@echo; \
	echo "ringlb is up on :$(SWARM_PORT_A) and :$(SWARM_PORT_B), one ring over the replica services"; \
	echo "  (docker service ls --filter label=ringlb.owner=$(SWARM_OWNER))"; \
	echo "  curl http://localhost:$(SWARM_PORT_A)/rep"; \
	echo "  curl -X POST -H \"Authorization: Bearer \$$(cat $(SWARM_STATE)/admin-token)\" -H 'Content-Type: application/json' -d '{\"n\": 1, \"hostnames\": [\"S5\"]}' http://localhost:$(SWARM_PORT_A)/add"; \
	echo "  curl http://localhost:$(SWARM_PORT_B)/rep"; \
	echo "  make swarm-down"

# The stack first, and only once its ringlb tasks are gone (none can then
# create a replica) the replica services and the deployment's marker config
# (ringlb never removes replicas itself), then the network once the last
# task has let go of it; the swarm is left only if `make swarm` initialised
# it. Fails if anything of the deployment is still there.
swarm-down:
	-@$(DOCKER) stack rm $(STACK)
	@for i in $$(seq 300); do \
	  [ -z "$$($(DOCKER) ps -aq --filter label=com.docker.stack.namespace=$(STACK))" ] && break; sleep 0.1; done
	@left=$$($(DOCKER) service ls -q --filter label=ringlb.owner=$(SWARM_OWNER)); \
	  if [ -n "$$left" ]; then echo "removing the replica services"; $(DOCKER) service rm $$left >/dev/null; fi
	@$(DOCKER) config ls -q --filter label=ringlb.owner=$(SWARM_OWNER) | xargs -r $(DOCKER) config rm >/dev/null
	@for i in $$(seq 300); do \
	  [ -z "$$($(DOCKER) ps -aq --filter label=ringlb.owner=$(SWARM_OWNER))" ] && break; sleep 0.1; done
	@for i in $$(seq 100); do \
	  $(DOCKER) network inspect $(SWARM_NETWORK) >/dev/null 2>&1 || break; \
	  $(DOCKER) network rm $(SWARM_NETWORK) >/dev/null 2>&1 && break; sleep 0.3; done
	@for kind in config secret; do \
	  $(DOCKER) $$kind ls -q --filter label=com.docker.stack.namespace=$(STACK) | xargs -r $(DOCKER) $$kind rm >/dev/null; done
	@left="$$($(DOCKER) service ls -q --filter label=ringlb.owner=$(SWARM_OWNER)) \
	  $$($(DOCKER) ps -aq --filter label=ringlb.owner=$(SWARM_OWNER)) \
	  $$($(DOCKER) ps -aq --filter label=com.docker.stack.namespace=$(STACK)) \
	  $$($(DOCKER) network inspect $(SWARM_NETWORK) >/dev/null 2>&1 && echo network $(SWARM_NETWORK))"; \
	  if [ -n "$$(echo $$left | tr -d ' ')" ]; then echo "swarm-down: still there: $$left" >&2; exit 1; fi
	@if [ -f $(SWARM_STATE)/swarm-initialised ]; then \
	  echo "leaving the swarm make swarm initialised"; \
	  $(DOCKER) swarm leave --force >/dev/null; rm -f $(SWARM_STATE)/swarm-initialised; \
	  $(DOCKER) network rm docker_gwbridge >/dev/null 2>&1 || true; fi
