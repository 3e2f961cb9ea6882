#!/usr/bin/env bash
# Extra set-up for the static release / docker build only (not needed by scripts/test.sh):
# the Rust target x86_64-unknown-linux-musl and Debian's musl-tools (musl-gcc, for crates that
# compile C such as zstd-sys). Idempotent and non-interactive; uses sudo only when not root.
# Build afterwards with: cargo build --release --target x86_64-unknown-linux-musl -p strata
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
log() { printf '[setup-musl] %s\n' "$*"; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"

TARGET=x86_64-unknown-linux-musl
if dpkg-query -W -f='${Status}' musl-tools 2>/dev/null | grep -q "install ok installed"; then
    log "apt: musl-tools present"
else
    log "apt: installing musl-tools"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends musl-tools
fi
if rustup target list --installed | grep -qx "$TARGET"; then
    log "rustup: target $TARGET present"
else
    log "rustup: adding target $TARGET"
    rustup target add "$TARGET"
fi
log "done; build with: cargo build --release --target $TARGET -p strata"
