# ringlb's images, FROM scratch: no base image to pull (none can be, on the
# machines this runs on), just one statically linked binary built on the
# host; `make compose` builds them:
#   RUSTFLAGS='-C target-feature=+crt-static' cargo build --release \
#     --target x86_64-unknown-linux-gnu --target-dir target/static
#
#   docker build --build-arg BIN=ringlb-backend -t ringlb-backend .   # a replica
#   docker build --build-arg BIN=ringlb -t ringlb .                   # the load balancer
#
# BIN_DIR is where the binary is, relative to the build context. Both listen
# on port 5000 and stop on SIGTERM (Docker's default). No other instruction:
# each one costs the legacy builder a container and about a second.
FROM scratch
ARG BIN=ringlb-backend
ARG BIN_DIR=target/static/x86_64-unknown-linux-gnu/release
COPY ${BIN_DIR}/${BIN} /app
ENTRYPOINT ["/app"]
