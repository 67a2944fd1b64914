#!/usr/bin/env bash
# The managed runtimes' SDK and bootstrap sources (src/local/managed-runtime/<lang>/), checked by their
# own languages' tools where this machine has them: gofmt and go vet, python3 -m py_compile, the Rust
# SDK built with warnings denied (offline, against the Debian crates) and rustfmt when installed, and
# the Deno SDK with deno check, deno lint and deno fmt --check.
set -euo pipefail
cd "$(dirname "$0")/.."
src=src/local/managed-runtime
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if command -v gofmt >/dev/null 2>&1; then
  unformatted="$(gofmt -l "$src/go/sdk")"
  if [ -n "$unformatted" ]; then echo "gofmt: not formatted: $unformatted" >&2; exit 1; fi
  (cd "$src/go/sdk/ignite" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE="$tmp/go-cache" go vet ./...)
  echo "go sdk: gofmt, go vet ok"
else
  echo "go sdk: skipped (no go toolchain)"
fi

if command -v python3 >/dev/null 2>&1; then
  PYTHONPYCACHEPREFIX="$tmp/pycache" python3 -m py_compile "$src/python/bootstrap/bootstrap.py"
  echo "python bootstrap: py_compile ok"
fi

if command -v cargo >/dev/null 2>&1; then
  registry="${IGNITE_CARGO_REGISTRY:-/usr/share/cargo/registry}"
  cp -r "$src/rust/sdk" "$tmp/rust-sdk"
  (cd "$tmp/rust-sdk/ignite" && RUSTFLAGS="-D warnings" CARGO_TARGET_DIR="$tmp/cargo-target" CARGO_NET_OFFLINE=true \
    cargo --config 'source.crates-io.replace-with="ignite-offline"' --config "source.ignite-offline.directory=\"$registry\"" build --quiet)
  if cargo fmt --version >/dev/null 2>&1; then
    for crate in ignite ignite-macros; do cargo fmt --check --manifest-path "$src/rust/sdk/$crate/Cargo.toml"; done
    echo "rust sdk: built with -D warnings, cargo fmt ok"
  else
    echo "rust sdk: built with -D warnings (no rustfmt: format not checked)"
  fi
fi

if command -v deno >/dev/null 2>&1; then
  (cd "$src/deno/sdk" && export NO_COLOR=1 DENO_DIR="$tmp/deno-dir" && deno check --quiet ignite/ && deno lint --quiet ignite/ && deno fmt --check --quiet ignite/)
  echo "deno sdk: deno check, lint, fmt ok"
else
  echo "deno sdk: skipped (no deno)"
fi
