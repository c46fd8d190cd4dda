#!/bin/sh
# Collects what bench/scale.py and bench/conns.py run into one folder that
# can be carried to a machine where nothing can be installed:
#   DIR/bin  ringlb, ringlb-backend, bare_proxy (release), haproxy, nginx,
#            wrk, taskset
#   DIR/lib  their shared libraries (not libc, libm or the loader)
# usage: bench/pack.sh [DIR]        (default .bench; needs cargo build
#        --release --bins and the bare_proxy example, as `make bench` does)
set -eu
dir=${1:-.bench}
rel=target/release
mkdir -p "$dir/bin" "$dir/lib"
for f in "$rel/ringlb" "$rel/ringlb-backend" "$rel/examples/bare_proxy"; do
  [ -x "$f" ] || { echo "missing $f: cargo build --release --bins && cargo build --release -p ringlb --example bare_proxy" >&2; exit 1; }
  cp "$f" "$dir/bin/"
done
for tool in haproxy nginx wrk taskset; do
  path=$(command -v "$tool") || { echo "missing $tool (make bench installs it)" >&2; exit 1; }
  cp "$path" "$dir/bin/"
done
for f in "$dir"/bin/*; do
  ldd "$f" 2>/dev/null | awk '/=> \//{print $3}' | while read -r lib; do
    case $(basename "$lib") in
      libc.so*|libm.so*|ld-linux*|libpthread.so*|libdl.so*|librt.so*) ;;
      *) cp -L "$lib" "$dir/lib/" ;;
    esac
  done
done
# Debug info makes the ringlb binaries large; the benchmark needs none.
strip "$dir/bin/ringlb" "$dir/bin/ringlb-backend" "$dir/bin/bare_proxy" 2>/dev/null || true
du -sh "$dir"
