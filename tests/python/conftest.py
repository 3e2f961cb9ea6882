"""Shared fixtures for the Python client suite: one real `strata` node per test session.

The binary is $STRATA_BIN, else <repo>/target/debug/strata. Set STRATA_KEEP_DATA=1 to keep
the node's data directory and log after the run.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# How long a debug build may take to print its ready line and accept connections.
STARTUP_TIMEOUT_S = 30
READY_MARKER = " started (cluster "  # not the earlier "controller started" line


def strata_bin():
    path = os.environ.get("STRATA_BIN") or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO_ROOT, "target")), "debug", "strata"
    )
    return os.path.abspath(path)


def _die_with_parent():
    """Runs in the child before exec: have the kernel SIGKILL the server if pytest dies, so an
    interrupted run leaves no server holding ports."""
    try:
        import ctypes
        import signal
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StrataNode:
    """A strata server process on a free loopback port with its own temp data dir."""

    def __init__(self, extra_overrides=()):
        self.bin = strata_bin()
        if not os.access(self.bin, os.X_OK):
            raise RuntimeError(
                f"strata binary not found at {self.bin}: build it (cargo build --bins) or set STRATA_BIN"
            )
        self.root = tempfile.mkdtemp(prefix="strata-py-")
        self.data_dir = os.path.join(self.root, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.root, "strata.log")
        self.port = free_port()
        self.extra = list(extra_overrides)
        self.proc = None
        self.start()

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def output(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        listener = f"PLAINTEXT://127.0.0.1:{self.port}"
        args = [self.bin, "server"]
        for kv in [f"node.id=1", f"listeners={listener}", f"advertised.listeners={listener}",
                   f"log.dirs={self.data_dir}", "strata.auto.format=true", *self.extra]:
            args += ["--override", kv]
        log = open(self.log_path, "ab")
        start_at = log.tell()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)
        log.close()
        deadline = time.time() + STARTUP_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"strata exited with {self.proc.returncode} before becoming ready:\n{self.output()}")
            with open(self.log_path, "rb") as f:
                f.seek(start_at)
                ready_line = READY_MARKER.encode() in f.read()
            if ready_line:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"strata did not print a line containing {READY_MARKER!r} and accept on {self.bootstrap} "
            f"within {STARTUP_TIMEOUT_S}s:\n{self.output()}"
        )

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self):
        self.stop()
        if os.environ.get("STRATA_KEEP_DATA"):
            print(f"STRATA_KEEP_DATA: keeping {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def node():
    n = StrataNode()
    yield n
    alive = n.proc is not None and n.proc.poll() is None
    n.close()
    assert alive, "strata died during the Python suite"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the node's last output lines to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        n = item.funcargs.get("node")
        if isinstance(n, StrataNode):
            tail = "\n".join(n.output().splitlines()[-40:])
            rep.sections.append(("strata output (last 40 lines)", tail))


@pytest.fixture
def topic():
    """A fresh topic name per test."""
    return f"py-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def bin_path():
    return strata_bin()
