#!/usr/bin/env bash
# Installs everything that `scripts/test.sh` and the client test suites need on a fresh
# Debian 12 machine: build tools for rdkafka (librdkafka is compiled from source by the
# rdkafka-sys crate with ./configure + make), kcat, a Java 17 JDK, and a Python venv at
# <repo>/.venv with the Kafka clients (confluent-kafka, kafka-python, aiokafka, pytest) and
# `shigawire-apache-flink-libraries`, which ships Apache kafka-clients 3.9.1 jars that the
# Java suite compiles against.
#
# Idempotent and non-interactive: every step checks first and only installs what is missing,
# so a second run takes a second or two. Uses sudo only when not root.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${STRATA_VENV:-$REPO_ROOT/.venv}"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[setup] %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        log "WARNING: not root and no sudo; apt packages cannot be installed"
    fi
fi

# ---------------------------------------------------------------- apt packages
# kcat: the kcat suite (Debian's build links librdkafka 2.0.2, an old client on purpose).
# build-essential, pkg-config, zlib1g-dev: rdkafka-sys builds librdkafka from source
#   (configure + make with gcc); libz-sys links the system zlib found via pkg-config.
#   lz4/snappy are bundled in librdkafka and zstd-sys compiles zstd itself, so no
#   cmake or other -dev packages are needed.
# openjdk-17-jdk-headless: javac/java for the Java suite.
# python3 + python3-venv: only when no python3 with a working venv module is on PATH.
APT_PACKAGES=(kcat build-essential pkg-config zlib1g-dev ca-certificates)
if ! command -v javac >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
    APT_PACKAGES+=(openjdk-17-jdk-headless)
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    APT_PACKAGES+=(python3 python3-venv python3-pip)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    log "apt: all packages present (${APT_PACKAGES[*]})"
fi

# ---------------------------------------------------------------- Rust tools
if ! command -v cargo >/dev/null 2>&1; then
    log "ERROR: cargo not found on PATH (the machine's rustup toolchain is expected)" >&2
    exit 1
fi
# The lint stages need the toolchain's clippy and rustfmt (rustup components; this machine has
# no route to rustup's servers, so they are checked, not installed).
for component in clippy fmt; do
    if ! cargo "$component" --version >/dev/null 2>&1; then
        log "ERROR: cargo $component not found (rustup component add ${component/fmt/rustfmt})" >&2
        exit 1
    fi
done
if cargo nextest --version >/dev/null 2>&1; then
    log "cargo-nextest: present ($(cargo nextest --version 2>/dev/null | head -n1))"
else
    log "cargo-nextest: not installed; scripts/test.sh will fall back to 'cargo test'"
fi

# ---------------------------------------------------------------- Python venv
# python-snappy, lz4, zstandard: kafka-python's codecs; cramjam: aiokafka's codecs.
PY_PACKAGES=(pytest confluent-kafka kafka-python aiokafka python-snappy lz4 zstandard cramjam
             shigawire-apache-flink-libraries)
if [ ! -x "$VENV/bin/python" ]; then
    log "venv: creating $VENV"
    python3 -m venv "$VENV"
fi
if "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import importlib.util, sys
for m in ("pytest", "confluent_kafka", "kafka", "aiokafka", "snappy", "lz4", "zstandard",
          "cramjam", "pyflink"):
    if importlib.util.find_spec(m) is None:
        sys.exit(1)
PY
then
    log "venv: python packages present (${PY_PACKAGES[*]})"
else
    log "venv: pip install ${PY_PACKAGES[*]}"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q "${PY_PACKAGES[@]}"
fi

# ---------------------------------------------------------------- Java client jars
# The Java suite uses the kafka-clients jar shipped in the pip package's pyflink/lib.
if ! KAFKA_JAR_DIR="$("$VENV/bin/python" "$REPO_ROOT/scripts/kafka_jars.py" --dir)"; then
    log "ERROR: no kafka-clients jar found under the venv's pyflink/lib" >&2
    exit 1
fi
log "java: kafka-clients jars in $KAFKA_JAR_DIR"
log "setup complete"
