"""Process-level chaos suite for Strata: no acknowledged write may ever be lost.

The suite starts a real three-node cluster (three `strata server` processes on 127.0.0.1,
each a combined broker + controller, the three controllers forming the Raft quorum), creates
a topic (6 partitions, replication factor 3, min.insync.replicas=2) and keeps idempotent
producers (acks=all) writing unique values "w-<n>" to it at a modest rate while it injects
faults at random times:

  kill-leader      kill -9 the leader of a random partition, restart it 1-4 s later
  kill-controller  kill -9 the active controller (the Raft leader), restart it 1-4 s later
  pause-leader     SIGSTOP a partition leader for 1-3 s (past broker.session.timeout.ms,
                   500 ms by default), then SIGCONT
  kill-two         kill -9 two nodes at once, restart both 1-4 s later; while one node is
                   left, min.insync.replicas=2 means no write may be acknowledged
  restart-all      SIGTERM every node (controlled shutdown), then start all three again

Every send and its outcome (acked at partition+offset, or failed with an error) goes into a
history. After the last fault the producers stop and flush, the cluster is given time to
settle, and a consumer reads every partition from the beginning up to its high watermark.
Checkers then compare the history with what was read, as in Jepsen's Kafka analyses:

  lost          an acknowledged value is not in the log
  duplicated    a value is in the log more than once
  inconsistent  a value is read at another partition/offset than the one its ack gave
  non-monotonic offsets do not strictly increase within a partition's read
  unexpected    a value is read that no producer ever sent
  reordered     one producer's acknowledged values sit in a partition out of send order
                (enable.idempotence=true promises per-partition order)

It prints a summary (seed, faults, records sent/acked/failed, anomalies, measured failover
and recovery times) and exits 1 on any anomaly, 2 when the harness itself could not run (a
node did not start, the topic could not be created), 0 otherwise.

Run it with tests/chaos/run.sh (it picks <repo>/.venv/bin/python). The binary is
$STRATA_BIN, else <repo>/target/debug/strata. Environment:

  STRATA_CHAOS_SEED       RNG seed (printed on every run; set it to replay a schedule)
  STRATA_CHAOS_ROUNDS     rounds of each fault kind (default 4)
  STRATA_CHAOS_FAULTS     comma-separated fault kinds to use (default: all five)
  STRATA_CHAOS_RF         replication factor (default 3); min.insync.replicas = min(2, RF)
  STRATA_CHAOS_PARTITIONS partitions of the topic (default 6)
  STRATA_CHAOS_RATE       records per second, all producers together (default 200)
  STRATA_CHAOS_PRODUCERS  number of producers (default 2)
  STRATA_CHAOS_BUDGET_S   no new fault starts after this many seconds of faults (default 210)
  STRATA_KEEP_DATA=1      keep the run directory: node data and logs, clients.log,
                          history.jsonl (one line per send) and read.jsonl (the read-back)

The checkers have unit tests on made-up histories: `<repo>/.venv/bin/python -m pytest
tests/chaos` (no cluster needed).

The seed fixes the schedule (fault order, which partition or nodes, every wait); which node
leads a partition or the quorum at that moment is still the cluster's choice.
"""

import atexit
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qk"
NODE_IDS = (1, 2, 3)
TOPIC = "chaos"
READY_MARKER = " started (cluster "  # not the earlier "controller started" line

FAULT_KINDS = ("kill-leader", "kill-controller", "pause-leader", "kill-two", "restart-all")

# Random waits, in seconds (low, high).
DOWN_S = (1.0, 4.0)  # how long a killed node stays down
PAUSE_S = (1.0, 3.0)  # SIGSTOP length: longer than broker.session.timeout.ms (500 ms)
QUIET_S = (1.0, 3.0)  # fault-free traffic before each fault

# Bounds, in seconds. A debug build on two cores, with the workload running, is slow to start.
BINARY_WAIT_S = 180  # the binary may be missing for a while when it is being rebuilt
STARTUP_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30  # SIGTERM: controlled shutdown moves leaderships away first
LEADERS_TIMEOUT_S = 30  # after a restart, until every partition has a live leader
ISR_TIMEOUT_S = 20  # after a restart, until every ISR is complete again (not an error)
ELECTION_POLL_S = 0.2
ELECTION_TIMEOUT_S = 10  # keep polling for a new leader this long past the planned downtime
TOOL_TIMEOUT_S = 10
READ_TIMEOUT_S = 120

# Producer bounds: every send gets a definite outcome well within one run.
MESSAGE_TIMEOUT_MS = 30_000
REQUEST_TIMEOUT_MS = 5_000  # a SIGSTOPped leader must not hold requests for the default 30 s
LINGER_MS = 5
# librdkafka backs off up to 10 s between reconnects to a dead broker; a restarted node would
# then sit unused for seconds and the timings would measure the client, not the cluster.
RECONNECT_BACKOFF_MAX_MS = 1_000
FLUSH_SLACK_S = 15

# An ack that arrives this soon after the second kill of kill-two may have left a node before
# it died, so it is not counted as "acked during minority".
MINORITY_GRACE_S = 0.5

# ---------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    seed: int
    rounds: int
    faults: tuple
    replication_factor: int
    min_insync: int
    partitions: int
    rate: float
    producers: int
    budget_s: float
    keep_data: bool
    binary: str

    @staticmethod
    def from_env():
        env = os.environ
        rf = int(env.get("STRATA_CHAOS_RF", "3"))
        faults = tuple(f.strip() for f in env.get("STRATA_CHAOS_FAULTS", ",".join(FAULT_KINDS)).split(",") if f.strip())
        unknown = [f for f in faults if f not in FAULT_KINDS]
        if unknown:
            raise SystemExit(f"STRATA_CHAOS_FAULTS: unknown fault kind(s) {unknown}; known: {', '.join(FAULT_KINDS)}")
        binary = env.get("STRATA_BIN") or os.path.join(
            env.get("CARGO_TARGET_DIR", os.path.join(REPO_ROOT, "target")), "debug", "strata")
        return Settings(
            seed=int(env.get("STRATA_CHAOS_SEED") or random.SystemRandom().randrange(1, 2**31)),
            rounds=int(env.get("STRATA_CHAOS_ROUNDS", "4")),
            faults=faults,
            replication_factor=rf,
            min_insync=min(2, rf),
            partitions=int(env.get("STRATA_CHAOS_PARTITIONS", "6")),
            rate=float(env.get("STRATA_CHAOS_RATE", "200")),
            producers=int(env.get("STRATA_CHAOS_PRODUCERS", "2")),
            budget_s=float(env.get("STRATA_CHAOS_BUDGET_S", "210")),
            keep_data=env.get("STRATA_KEEP_DATA", "") not in ("", "0"),
            binary=os.path.abspath(binary),
        )


class HarnessError(Exception):
    """The suite could not run the workload (not an anomaly of the system under test)."""


_T0 = time.monotonic()


def now():
    """Seconds since the suite started; every timestamp in the history uses this clock."""
    return time.monotonic() - _T0


def say(message):
    print(f"[{now():6.1f}s] {message}", flush=True)


# ----------------------------------------------------------------------------- server nodes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """Runs in the child before exec: have the kernel SIGKILL the server if this script dies,
    so an interrupted run leaves no server holding ports. The signal fires when the *thread*
    that spawned the child exits, so only the main thread spawns servers."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def wait_for_binary(path):
    """The binary may be missing or half-written while it is being rebuilt: wait until it
    exists and answers --version."""
    deadline = time.monotonic() + BINARY_WAIT_S
    while True:
        try:
            if subprocess.run([path, "--version"], capture_output=True, timeout=30).returncode == 0:
                return
        except (OSError, subprocess.TimeoutExpired):
            pass
        if time.monotonic() > deadline:
            raise HarnessError(f"strata binary not usable at {path}: build it (cargo build --bins) or set STRATA_BIN")
        say(f"waiting for the strata binary at {path}")
        time.sleep(5)


def pin_binary(path, root):
    """Hard-link (else copy) the binary into the run directory, so that a rebuild during the
    run cannot make restarted nodes run a different build than the ones still up."""
    pinned = os.path.join(root, "strata")
    try:
        os.link(path, pinned)
    except OSError:
        shutil.copy2(path, pinned)
    return pinned


class Node:
    """One `strata server` process: fixed ports and data dir, restartable with the same args.
    All its incarnations append to one log file."""

    def __init__(self, node_id, root, binary):
        self.id = node_id
        self.binary = binary
        self.client_port = free_port()
        self.controller_port = free_port()
        self.data_dir = os.path.join(root, f"node-{node_id}", "data")
        self.log_path = os.path.join(root, f"node-{node_id}.log")
        os.makedirs(self.data_dir)
        self.proc = None
        self.paused = False
        self.spawned_at = None
        self._log_offset = 0  # where the current incarnation's output starts

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.client_port}"

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def reachable(self):
        return self.alive and not self.paused

    def spawn(self, voters):
        args = [self.binary, "server"]
        for kv in (f"node.id={self.id}",
                   f"listeners=PLAINTEXT://{self.bootstrap},CONTROLLER://127.0.0.1:{self.controller_port}",
                   f"advertised.listeners=PLAINTEXT://{self.bootstrap}",
                   f"controller.quorum.voters={voters}",
                   f"log.dirs={self.data_dir}",
                   "strata.auto.format=true",
                   f"strata.cluster.id={CLUSTER_ID}"):
            args += ["--override", kv]
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        self.paused = False
        self.spawned_at = now()

    def _printed_ready_line(self):
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return READY_MARKER.encode() in f.read()

    def _accepts(self):
        try:
            socket.create_connection(("127.0.0.1", self.client_port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def wait_ready(self, timeout=STARTUP_TIMEOUT_S):
        """Waits for this incarnation's ready line and an accepting client port; returns the
        seconds since spawn."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise HarnessError(f"node {self.id} exited with {self.proc.returncode} before it was ready")
            if self._printed_ready_line() and self._accepts():
                return now() - self.spawned_at
            time.sleep(0.05)
        raise HarnessError(f"node {self.id} printed no {READY_MARKER!r} line and accepted no connection "
                           f"on {self.bootstrap} within {timeout} s")

    def kill(self):
        """kill -9, and reap, so the ports are free for the restart."""
        if self.alive:
            self.proc.kill()
            self.proc.wait()
        self.paused = False

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def tail(self, lines=40):
        """The last lines of the log, reading only its end (a looping node writes megabytes)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 64 * 1024))
                return "".join(f.read().decode(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""

    def log_stats(self):
        """(lines, WARN lines, ERROR lines) over all incarnations: a quick sign of a node that
        loops or complains."""
        lines = warns = errors = 0
        try:
            with open(self.log_path, "rb") as f:
                for line in f:
                    lines += 1
                    warns += b" WARN " in line
                    errors += b" ERROR " in line
        except OSError:
            pass
        return lines, warns, errors


@dataclass
class PartitionState:
    leader: int
    replicas: tuple
    isr: tuple


def parse_describe(text, topic):
    """`kafka-topics --describe` output -> {partition: PartitionState}. Partition lines are
    tab-separated "Key: value" fields:
    "\\tTopic: T\\tPartition: 0\\tLeader: 1\\tReplicas: 1,2,3\\tIsr: 1,2,3\\tElr: ..."."""
    def ids(value):
        return tuple(int(x) for x in value.split(",") if x.strip().lstrip("-").isdigit())

    layout = {}
    for line in text.splitlines():
        fields = dict(f.split(": ", 1) for f in line.strip().split("\t") if ": " in f)
        if fields.get("Topic") != topic or "Partition" not in fields:
            continue
        leader = fields.get("Leader", "").strip()
        layout[int(fields["Partition"])] = PartitionState(
            leader=int(leader) if leader.lstrip("-").isdigit() else -1,
            replicas=ids(fields.get("Replicas", "")),
            isr=ids(fields.get("Isr", "")))
    return layout


class Cluster:
    """The three nodes, plus the questions the faults ask about them (who leads what), answered
    by the binary's own Kafka tools against a reachable node."""

    def __init__(self, root, binary):
        self.binary = binary
        self.nodes = {i: Node(i, root, binary) for i in NODE_IDS}
        self.voters = ",".join(f"{n.id}@127.0.0.1:{n.controller_port}" for n in self.nodes.values())
        self.ready_times = []  # seconds from spawn to ready, every (re)start

    @property
    def bootstrap(self):
        return ",".join(n.bootstrap for n in self.nodes.values())

    def reachable(self):
        return [n for n in self.nodes.values() if n.reachable]

    def start(self, ids):
        """Spawns the nodes together (a node waits for a quorum before it is ready) and waits
        until all are ready."""
        for i in ids:
            self.nodes[i].spawn(self.voters)
        for i in ids:
            self.ready_times.append(self.nodes[i].wait_ready())

    def restart_crashed(self):
        """Starts the nodes that are down; returns [(id, exit code)] of them."""
        crashed = [(n.id, n.proc.returncode if n.proc else None) for n in self.nodes.values() if not n.alive]
        if crashed:
            self.start([i for i, _ in crashed])
        return crashed

    def kill_all(self):
        for n in self.nodes.values():
            n.kill()

    def stop_all(self):
        """SIGTERM every node at once; returns the ids that ignored it for STOP_TIMEOUT_S (then
        they get SIGKILL)."""
        for n in self.nodes.values():
            if n.alive:
                if n.paused:
                    n.resume()
                n.proc.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        stuck = []
        for n in self.nodes.values():
            if n.proc is None:
                continue
            try:
                n.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                stuck.append(n.id)
                n.kill()
        return stuck

    def tool(self, node, command, *args):
        """`strata <command> --bootstrap-server <node> <args>` (kafka-topics, kafka-metadata-quorum)."""
        return subprocess.run([self.binary, command, "--bootstrap-server", node.bootstrap, *args],
                              capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)

    def _ask(self, *args, nodes=None):
        """Runs a tool against the given (default: every reachable) node in random order;
        returns the first successful stdout, else None."""
        candidates = list(nodes if nodes is not None else self.reachable())
        random.shuffle(candidates)  # the module RNG: the seeded one drives only the schedule
        for node in candidates:
            try:
                out = self.tool(node, *args)
            except subprocess.TimeoutExpired:
                continue
            if out.returncode == 0:
                return out.stdout
        return None

    def create_topic(self, topic, partitions, rf, min_insync):
        out = self.tool(self.nodes[1], "kafka-topics", "--create", "--topic", topic, "--partitions", str(partitions),
                        "--replication-factor", str(rf), "--config", f"min.insync.replicas={min_insync}")
        if out.returncode != 0:
            raise HarnessError(f"creating topic {topic} failed: {out.stdout}{out.stderr}")

    def layout(self, topic, nodes=None):
        """{partition: PartitionState} as a reachable node describes it, or {} if none answers."""
        out = self._ask("kafka-topics", "--describe", "--topic", topic, nodes=nodes)
        return parse_describe(out, topic) if out else {}

    def controller(self, nodes=None):
        """The active controller's id as a reachable node reports it, or None."""
        out = self._ask("kafka-metadata-quorum", "describe", "--status", nodes=nodes)
        for line in (out or "").splitlines():
            if line.startswith("LeaderId:"):
                value = line.split(":", 1)[1].strip()
                return int(value) if value.lstrip("-").isdigit() and int(value) >= 0 else None
        return None

    def wait_leaders(self, topic, partitions, timeout=LEADERS_TIMEOUT_S):
        """Until every partition has a reachable leader; True if that happened in time."""
        deadline = time.monotonic() + timeout
        live = {n.id for n in self.reachable()}
        while time.monotonic() < deadline:
            layout = self.layout(topic)
            if len(layout) == partitions and all(p.leader in live for p in layout.values()):
                return True
            time.sleep(0.2)
        return False

    def wait_full_isr(self, topic, timeout=ISR_TIMEOUT_S):
        """Until every partition's ISR equals its replica set; True if that happened in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            layout = self.layout(topic)
            if layout and all(set(p.isr) == set(p.replicas) for p in layout.values()):
                return True
            time.sleep(0.2)
        return False


# --------------------------------------------------------------------------------- workload


def client_logger(root):
    """librdkafka logs connection errors to stderr all the time while nodes are down: send
    them to <run dir>/clients.log instead."""
    logger = logging.getLogger("strata-chaos.clients")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(os.path.join(root, "clients.log"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    return logger


@dataclass
class Record:
    """One send and its outcome: acked (offset set), failed (error set) or neither (unknown)."""
    value: str
    producer: int
    seq: int  # position among this producer's sends, for the order check
    partition: int
    sent_at: float
    done_at: float = None
    offset: int = None
    acked_partition: int = None
    error: str = None

    @property
    def acked(self):
        return self.offset is not None


class ValueCounter:
    """Hands out the unique values "w-<n>" across all producers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 0

    def take(self):
        with self._lock:
            self._next += 1
            return self._next


class ProducerWorker(threading.Thread):
    """One idempotent acks=all producer sending at a fixed rate, round-robin over the
    partitions (so every partition sees steady traffic and its recovery can be timed), and
    recording every send. Delivery callbacks run in this thread (from poll/flush), so the
    records need no lock; others read them only after join()."""

    def __init__(self, index, bootstrap, topic, partitions, rate, values, logger):
        super().__init__(name=f"producer-{index}", daemon=True)
        self.index = index
        self.topic = topic
        self.partitions = partitions
        self.interval = 1.0 / rate
        self.values = values
        self.config = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": LINGER_MS,
            "message.timeout.ms": MESSAGE_TIMEOUT_MS,
            "request.timeout.ms": REQUEST_TIMEOUT_MS,
            "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
            "logger": logger,
            "error_cb": self._on_error,
        }
        self.records = []
        self.acked = self.failed = 0  # running counts for progress lines
        self.fatal_errors = []
        self._fatal = None
        self._stopping = threading.Event()
        self.unflushed = 0

    def stop(self):
        self._stopping.set()

    def run(self):
        producer = Producer(self.config)
        due = time.monotonic()
        while not self._stopping.is_set():
            if self._fatal is not None:
                producer = self._replace(producer)
            while due <= time.monotonic() and not self._stopping.is_set():
                self._send(producer)
                due += self.interval
            # After a stall (a GIL-heavy moment, a full queue) skip the backlog, not burst it.
            due = max(due, time.monotonic() - 1.0)
            producer.poll(min(0.05, max(0.0, due - time.monotonic())))
        self.unflushed = producer.flush(MESSAGE_TIMEOUT_MS / 1000 + FLUSH_SLACK_S)

    def _send(self, producer):
        n = self.values.take()
        record = Record(value=f"w-{n}", producer=self.index, seq=len(self.records),
                        partition=n % self.partitions, sent_at=now())
        self.records.append(record)
        for attempt in range(2):
            try:
                producer.produce(self.topic, value=record.value.encode(), partition=record.partition,
                                 on_delivery=lambda err, msg, r=record: self._on_delivery(r, err, msg))
                return
            except BufferError:
                producer.poll(0.1)  # local queue full: serve callbacks, then try once more
            except KafkaException as e:  # the producer is in a fatal state
                self._fatal = e.args[0]
                break
        record.error = "not sent (local queue full or producer failed)"
        record.done_at = now()
        self.failed += 1

    def _on_delivery(self, record, err, msg):
        record.done_at = now()
        if err is not None:
            record.error = err.name() or str(err)
            self.failed += 1
        else:
            record.acked_partition = msg.partition()
            record.offset = msg.offset()
            self.acked += 1

    def _on_error(self, err):
        # Transient errors (all brokers down, transport) are expected here; fatal ones leave
        # the idempotent producer unusable, so it is replaced (with a new producer id).
        if err.fatal():
            self._fatal = err

    def _replace(self, producer):
        say(f"producer {self.index}: fatal error {self._fatal}; starting a new producer")
        self.fatal_errors.append(str(self._fatal))
        self._fatal = None
        producer.flush(5)  # serves the failure callbacks of what it still held
        return Producer(self.config)


class Workload:
    """The producers, started and stopped together."""

    def __init__(self, settings, bootstrap, topic, logger):
        values = ValueCounter()
        rate = settings.rate / settings.producers
        self.workers = [ProducerWorker(i, bootstrap, topic, settings.partitions, rate, values, logger)
                        for i in range(settings.producers)]

    def start(self):
        for w in self.workers:
            w.start()

    def stop(self):
        for w in self.workers:
            w.stop()
        for w in self.workers:
            w.join()

    def progress(self):
        sent = sum(len(w.records) for w in self.workers)
        acked = sum(w.acked for w in self.workers)
        failed = sum(w.failed for w in self.workers)
        return f"sent {sent}, acked {acked}, failed {failed}"

    def history(self):
        return [r for w in self.workers for r in w.records]


# ----------------------------------------------------------------------------------- faults


@dataclass
class Fault:
    kind: str
    round: int
    started_at: float
    victims: list
    partitions: list  # partitions whose leader was a victim when the fault began
    description: str = ""
    ended_at: float = None  # when every node was ready and every partition led again
    minority: tuple = None  # (from, to): while only one node was alive
    failover_s: float = None  # until another live node led the chosen partition
    election_s: float = None  # until another node was the active controller
    notes: list = field(default_factory=list)


class Chaos:
    """Injects the faults, one at a time, on the seeded schedule."""

    def __init__(self, settings, cluster, rng):
        self.settings = settings
        self.cluster = cluster
        self.rng = rng
        self.faults = []
        self.skipped = 0

    def schedule(self):
        kinds = [k for k in self.settings.faults for _ in range(self.settings.rounds)]
        self.rng.shuffle(kinds)
        return kinds

    def run(self, workload):
        kinds = self.schedule()
        budget_end = now() + self.settings.budget_s
        for i, kind in enumerate(kinds, 1):
            if now() > budget_end:
                self.skipped = len(kinds) - i + 1
                say(f"time budget of {self.settings.budget_s:.0f} s spent: skipping the last {self.skipped} faults")
                break
            time.sleep(self.rng.uniform(*QUIET_S))
            fault = getattr(self, kind.replace("-", "_"))(i)
            self.faults.append(fault)
            self._recover(fault)
            say(f"  round {i}/{len(kinds)} done ({workload.progress()})" +
                "".join(f"\n         note: {n}" for n in fault.notes))

    # -- helpers

    def _begin(self, kind, round_no, victims, layout, description):
        fault = Fault(kind=kind, round=round_no, started_at=now(), victims=list(victims),
                      partitions=sorted(p for p, s in layout.items() if s.leader in victims),
                      description=description)
        say(f"round {round_no} {kind}: {description}")
        return fault

    def _pick_partition(self, layout):
        """A random partition (drawn before looking at the layout, so the draw is the same on
        every run with this seed) and its current leader."""
        partition = self.rng.randrange(self.settings.partitions)
        state = layout.get(partition)
        if state is None or state.leader not in self.cluster.nodes:
            return partition, None
        return partition, state.leader

    def _watch(self, duration, has_happened, limit_past_duration=0.0):
        """Polls has_happened() for `duration` seconds (the planned fault length) and at most
        `limit_past_duration` longer if it has not happened yet; returns the seconds until it
        happened, or None. Always spends at least `duration`."""
        start = time.monotonic()
        happened_after = None
        while True:
            elapsed = time.monotonic() - start
            if happened_after is None and has_happened():
                happened_after = time.monotonic() - start
            if elapsed >= duration and (happened_after is not None or elapsed >= duration + limit_past_duration):
                return happened_after
            if happened_after is not None:
                time.sleep(max(0.0, min(0.1, duration - elapsed)))
            else:
                time.sleep(ELECTION_POLL_S)

    def _leader_moved(self, partition, victim, survivors):
        def moved():
            state = self.cluster.layout(TOPIC, nodes=survivors).get(partition)
            return state is not None and state.leader not in (-1, victim) and state.leader in {n.id for n in survivors}
        return moved

    def _recover(self, fault):
        """Waits until every node is up and ready and every partition led again; then, with
        replicas to wait for, until every ISR is complete (a note if not: an incomplete ISR
        is unavailability, not loss)."""
        # Every victim has been restarted by now: a node that is down crashed on its own.
        crashed = self.cluster.restart_crashed()
        fault.notes += [f"node {i} had exited by itself (exit code {rc}); restarted" for i, rc in crashed]
        if not self.cluster.wait_leaders(TOPIC, self.settings.partitions):
            fault.notes.append(f"some partition had no live leader {LEADERS_TIMEOUT_S} s after recovery began")
        if self.settings.replication_factor > 1 and not self.cluster.wait_full_isr(TOPIC):
            fault.notes.append(f"ISR still incomplete {ISR_TIMEOUT_S} s after recovery")
        fault.ended_at = now()

    # -- the fault kinds (method name = kind with '_' for '-')

    def kill_leader(self, round_no):
        layout = self.cluster.layout(TOPIC)
        partition, victim = self._pick_partition(layout)
        down_s = self.rng.uniform(*DOWN_S)
        if victim is None:
            return self._no_target("kill-leader", round_no, f"partition {partition} has no leader")
        fault = self._begin("kill-leader", round_no, [victim], layout,
                            f"kill -9 node {victim} (leader of partition {partition}), down {down_s:.1f} s")
        self.cluster.nodes[victim].kill()
        survivors = self.cluster.reachable()
        fault.failover_s = self._watch(down_s, self._leader_moved(partition, victim, survivors))
        self.cluster.start([victim])
        return fault

    def kill_controller(self, round_no):
        down_s = self.rng.uniform(*DOWN_S)
        victim = self.cluster.controller()
        if victim is None:
            return self._no_target("kill-controller", round_no, "no node reports an active controller")
        layout = self.cluster.layout(TOPIC)
        fault = self._begin("kill-controller", round_no, [victim], layout,
                            f"kill -9 node {victim} (active controller), down {down_s:.1f} s")
        self.cluster.nodes[victim].kill()
        survivors = self.cluster.reachable()

        def elected():
            leader = self.cluster.controller(nodes=survivors)
            return leader is not None and leader != victim
        fault.election_s = self._watch(down_s, elected, ELECTION_TIMEOUT_S)
        if fault.election_s is None:
            fault.notes.append(f"no new controller within {down_s + ELECTION_TIMEOUT_S:.1f} s of the kill")
        self.cluster.start([victim])
        return fault

    def pause_leader(self, round_no):
        layout = self.cluster.layout(TOPIC)
        partition, victim = self._pick_partition(layout)
        pause_s = self.rng.uniform(*PAUSE_S)
        if victim is None:
            return self._no_target("pause-leader", round_no, f"partition {partition} has no leader")
        fault = self._begin("pause-leader", round_no, [victim], layout,
                            f"SIGSTOP node {victim} (leader of partition {partition}) for {pause_s:.1f} s")
        node = self.cluster.nodes[victim]
        node.pause()
        survivors = self.cluster.reachable()
        fault.failover_s = self._watch(pause_s, self._leader_moved(partition, victim, survivors))
        node.resume()
        return fault

    def kill_two(self, round_no):
        victims = sorted(self.rng.sample(NODE_IDS, 2))
        down_s = self.rng.uniform(*DOWN_S)
        layout = self.cluster.layout(TOPIC)
        fault = self._begin("kill-two", round_no, victims, layout,
                            f"kill -9 nodes {victims[0]} and {victims[1]}, down {down_s:.1f} s")
        for v in victims:
            self.cluster.nodes[v].kill()
        alone_from = now()
        time.sleep(down_s)
        fault.minority = (alone_from, now())
        self.cluster.start(victims)
        return fault

    def restart_all(self, round_no):
        layout = self.cluster.layout(TOPIC)
        fault = self._begin("restart-all", round_no, list(NODE_IDS), layout, "SIGTERM all nodes, start all")
        stuck = self.cluster.stop_all()
        if stuck:
            fault.notes.append(f"node(s) {stuck} did not exit within {STOP_TIMEOUT_S} s of SIGTERM (killed)")
        self.cluster.start(NODE_IDS)
        return fault

    def _no_target(self, kind, round_no, why):
        fault = Fault(kind=kind, round=round_no, started_at=now(), victims=[], partitions=[],
                      description=f"skipped: {why}")
        fault.notes.append(f"not injected: {why}")
        say(f"round {round_no} {kind}: not injected, {why}")
        return fault


# -------------------------------------------------------------------------------- read-back


@dataclass(frozen=True)
class Read:
    partition: int
    offset: int
    value: str


def high_watermarks(consumer, topic, partitions):
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)[1]
            for p in range(partitions)}


def read_back(bootstrap, topic, partitions, logger):
    """Every record of every partition, from the beginning up to the high watermark, in the
    order the consumer delivered them. Partitions are assign()ed: there are no consumer groups
    to rely on. The watermarks are asked again once they are reached, in case they moved."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "strata-chaos-reader",  # required by the client; nothing joins or commits
        "enable.auto.commit": False,
        "isolation.level": "read_uncommitted",  # everything up to the high watermark
        "enable.partition.eof": True,
        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        "logger": logger,
    })
    reads, errors = [], []
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + READ_TIMEOUT_S
        position = {p: 0 for p in range(partitions)}
        high = high_watermarks(consumer, topic, partitions)
        while time.monotonic() < deadline:
            if all(position[p] >= high[p] for p in high):
                again = high_watermarks(consumer, topic, partitions)
                if again == high:
                    break
                high = again
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        errors.append(str(msg.error()))
                    continue
                reads.append(Read(msg.partition(), msg.offset(), (msg.value() or b"").decode(errors="replace")))
                position[msg.partition()] = max(position[msg.partition()], msg.offset() + 1)
        short = {p: (position[p], high[p]) for p in high if position[p] < high[p]}
        if short:
            errors.append(f"read stopped short of the high watermark (partition: (position, high)) {short}")
        return reads, high, errors
    finally:
        consumer.close()


# --------------------------------------------------------------------------------- checkers


@dataclass
class Check:
    name: str
    anomalies: int
    examples: list

    @property
    def passed(self):
        return self.anomalies == 0


def examples_of(items, limit=5):
    return [str(x) for x in list(items)[:limit]]


def check_lost(history, reads):
    read_values = {r.value for r in reads}
    lost = [r for r in history if r.acked and r.value not in read_values]
    return Check("lost", len(lost), examples_of(f"{r.value} (acked at {r.acked_partition}/{r.offset}, "
                                                f"t={r.done_at:.1f}s)" for r in lost))


def check_duplicated(reads):
    where = defaultdict(list)
    for r in reads:
        where[r.value].append(f"{r.partition}/{r.offset}")
    dups = {v: at for v, at in where.items() if len(at) > 1}
    return Check("duplicated", len(dups), examples_of(f"{v} at {', '.join(at)}" for v, at in dups.items()))


def check_inconsistent(history, reads):
    """An acked value read somewhere other than its ack said, an ack whose partition is not the
    one asked for, or one offset read with two values."""
    problems = []
    read_at = defaultdict(set)
    values_at = defaultdict(set)
    for r in reads:
        read_at[r.value].add((r.partition, r.offset))
        values_at[(r.partition, r.offset)].add(r.value)
    for rec in history:
        if not rec.acked:
            continue
        if rec.acked_partition != rec.partition:
            problems.append(f"{rec.value} sent to partition {rec.partition}, acked on {rec.acked_partition}")
        places = read_at.get(rec.value)
        if places and (rec.acked_partition, rec.offset) not in places:
            problems.append(f"{rec.value} acked at {rec.acked_partition}/{rec.offset}, read at "
                            f"{', '.join(f'{p}/{o}' for p, o in sorted(places))}")
    for (p, o), values in sorted(values_at.items()):
        if len(values) > 1:
            problems.append(f"offset {p}/{o} read with {len(values)} values: {', '.join(sorted(values))}")
    return Check("inconsistent", len(problems), examples_of(problems))


def check_monotonic(reads):
    last = {}
    problems = []
    for r in reads:
        if r.partition in last and r.offset <= last[r.partition]:
            problems.append(f"partition {r.partition}: offset {r.offset} read after {last[r.partition]}")
        last[r.partition] = r.offset
    return Check("non-monotonic", len(problems), examples_of(problems))


def check_unexpected(history, reads):
    sent = {r.value for r in history}
    unexpected = [r for r in reads if r.value not in sent]
    return Check("unexpected", len(unexpected),
                 examples_of(f"{r.value!r} at {r.partition}/{r.offset}" for r in unexpected))


def check_reordered(history):
    """Per producer and partition, acked offsets must grow with send order."""
    problems = []
    last = {}
    for rec in sorted((r for r in history if r.acked), key=lambda r: (r.producer, r.seq)):
        key = (rec.producer, rec.acked_partition)
        if key in last and rec.offset <= last[key].offset:
            prev = last[key]
            problems.append(f"producer {rec.producer}: {rec.value} sent after {prev.value} but acked at "
                            f"{rec.acked_partition}/{rec.offset} <= {prev.offset}")
        last[key] = rec
    return Check("reordered", len(problems), examples_of(problems))


def run_checks(history, reads):
    return [check_lost(history, reads), check_duplicated(reads), check_inconsistent(history, reads),
            check_monotonic(reads), check_unexpected(history, reads), check_reordered(history)]


# ---------------------------------------------------------------------------------- metrics


def longest_ack_gap(history, partition, start, end):
    """The longest stretch without an ack on `partition` that overlaps [start, end]: the
    time the partition took no writes because of the fault. (Not "fault -> next ack": an
    ack already in flight when the fault hits would make that look instant.) None if the
    partition saw no ack after `start` at all."""
    times = sorted(r.done_at for r in history if r.acked and r.acked_partition == partition)
    if not times or times[-1] <= start:
        return None
    gaps = [b - a for a, b in zip(times, times[1:]) if b >= start and a <= end]
    return max(gaps, default=0.0)


def unavailability(fault, history):
    """The longest ack gap among the partitions the victims led (see longest_ack_gap);
    math.inf if one of them never took a write again. Only for faults whose victims led some
    partition."""
    gaps = [longest_ack_gap(history, p, fault.started_at, fault.ended_at) for p in fault.partitions]
    return math.inf if None in gaps else max(gaps)


def acked_during_minority(faults, history):
    windows = [(a + MINORITY_GRACE_S, b) for f in faults if f.minority for a, b in [f.minority]]
    return [r for r in history if r.acked and any(a <= r.done_at <= b for a, b in windows)]


def spread(values, why_missing=""):
    """"median, max (n of total)" over the measured values; None = not measured (why_missing
    says why), math.inf = never happened."""
    values = list(values)
    measured = [v for v in values if v is not None]
    if not measured:
        return f"- (0 of {len(values)}{'; ' + why_missing if why_missing else ''})"
    finite = [v for v in measured if v != math.inf]
    text = (f"median {statistics.median(measured):.2f} s, max {max(finite, default=math.inf):.2f} s"
            if finite else "never")
    never = len(measured) - len(finite)
    notes = [f"{len(measured)} of {len(values)}"]
    if never:
        notes.append(f"{never} never recovered")
    if len(measured) < len(values) and why_missing:
        notes.append(why_missing)
    return f"{text} ({'; '.join(notes)})"


# ---------------------------------------------------------------------------------- summary


def print_summary(settings, faults, skipped, history, reads, high, read_errors, checks, cluster, fatal_errors):
    acked = [r for r in history if r.acked]
    failed = [r for r in history if r.error is not None]
    unknown = [r for r in history if not r.acked and r.error is None]
    read_values = {r.value for r in reads}
    print("\n========== strata chaos summary ==========")
    print(f"seed            {settings.seed}   (replay: STRATA_CHAOS_SEED={settings.seed} "
          f"STRATA_CHAOS_ROUNDS={settings.rounds} STRATA_CHAOS_RF={settings.replication_factor})")
    print(f"cluster         3 nodes; topic {TOPIC}: {settings.partitions} partitions, RF {settings.replication_factor}, "
          f"min.insync.replicas={settings.min_insync}; {settings.producers} idempotent acks=all producer(s), "
          f"{settings.rate:.0f} records/s")
    kinds = Counter(f.kind for f in faults if f.victims)
    print(f"faults          {sum(kinds.values())} injected: " +
          ", ".join(f"{k} {kinds[k]}" for k in settings.faults) + (f"; {skipped} skipped (time budget)" if skipped else ""))
    print(f"records         sent {len(history)}, acked {len(acked)}, failed {len(failed)}, no outcome {len(unknown)}")
    if failed:
        print("failures        " + ", ".join(f"{e} {n}" for e, n in Counter(r.error for r in failed).most_common(6)))
    print(f"read back       {len(reads)} records up to high watermarks {high}; "
          f"{sum(1 for r in failed if r.value in read_values)} of the failed sends are in the log (allowed)")
    for e in read_errors:
        print(f"read error      {e}")
    if fatal_errors:
        print(f"producer fatal  {len(fatal_errors)}: {', '.join(examples_of(fatal_errors, 3))}")
    print("timings         unavailable = longest gap between acks on a partition a victim led")
    for kind in settings.faults:
        of_kind = [f for f in faults if f.kind == kind and f.victims]
        if of_kind:
            gaps = (unavailability(f, history) if f.partitions else None for f in of_kind)
            print(f"  {kind:<15} unavailable {spread(gaps, 'the others led no partition')}")
    # With RF 1 a partition has no other replica to move to: no failover to time.
    leader_faults = [f for f in faults if f.kind in ("kill-leader", "pause-leader") and f.victims]
    if leader_faults and settings.replication_factor > 1:
        print(f"  {'leader failover':<15} {spread((f.failover_s for f in leader_faults), 'the victim was back first')}"
              "  (fault -> another live node leads the chosen partition)")
    controller_faults = [f for f in faults if f.kind == "kill-controller" and f.victims]
    if controller_faults:
        print(f"  {'controller':<15} {spread(f.election_s for f in controller_faults)}"
              "  (kill -> another node is the active controller)")
    print(f"  {'node start':<15} {spread(cluster.ready_times)}  (spawn -> ready line + port accepts)")
    if settings.min_insync >= 2:
        minority = acked_during_minority(faults, history)
        lost_there = [r for r in minority if r.value not in read_values]
        print(f"acked during minority  {len(minority)} (anomaly only if lost: {len(lost_there)} lost)"
              + (f" e.g. {', '.join(examples_of((r.value for r in minority), 3))}" if minority else ""))
    notes = [f"round {f.round} {f.kind}: {n}" for f in faults for n in f.notes]
    for n in notes:
        print(f"note            {n}")
    for n in cluster.nodes.values():
        lines, warns, errors = n.log_stats()
        print(f"node {n.id} log      {lines} lines, {warns} WARN, {errors} ERROR ({n.log_path})")
    print("checks          " + ", ".join(f"{c.name} {c.anomalies}" for c in checks))
    for c in checks:
        for e in c.examples:
            print(f"  {c.name}: {e}")
    passed = sum(c.passed for c in checks)
    print(f"chaos: {passed} passed, {len(checks) - passed} failed")


def print_node_logs(cluster, lines=40):
    for n in cluster.nodes.values():
        print(f"\n----- node {n.id} log, last {lines} lines ({n.log_path}) -----")
        print(n.tail(lines), end="")


def dump_history(root, history, reads):
    """The raw history and read-back, for STRATA_KEEP_DATA=1 post-mortems."""
    with open(os.path.join(root, "history.jsonl"), "w") as f:
        for r in history:
            f.write(json.dumps(r.__dict__) + "\n")
    with open(os.path.join(root, "read.jsonl"), "w") as f:
        for r in reads:
            f.write(json.dumps(r.__dict__) + "\n")


# ------------------------------------------------------------------------------------- main


class RunDir:
    """The run's temp directory and the cluster living in it; at exit every node is killed
    and the directory removed (unless STRATA_KEEP_DATA=1)."""

    def __init__(self, keep):
        self.root = tempfile.mkdtemp(prefix="strata-chaos-")
        self.keep = keep
        self.cluster = None
        atexit.register(self.cleanup)

    def cleanup(self):
        if self.cluster is not None:
            self.cluster.kill_all()
        if self.keep:
            print(f"STRATA_KEEP_DATA: keeping {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def settle(cluster, settings):
    """After the faults: every node up, every partition led and (with replicas) every ISR
    complete, so the read sees the final log."""
    for node_id, code in cluster.restart_crashed():
        say(f"warning: node {node_id} had exited by itself (exit code {code}); restarted it")
    if not cluster.wait_leaders(TOPIC, settings.partitions):
        say("warning: some partition still has no live leader; reading anyway")
    if settings.replication_factor > 1 and not cluster.wait_full_isr(TOPIC):
        say("warning: some ISR is still incomplete; reading anyway")


def run(settings, run_dir):
    """The whole suite; returns the exit status."""
    root = run_dir.root
    wait_for_binary(settings.binary)
    binary = pin_binary(settings.binary, root)
    logger = client_logger(root)
    cluster = run_dir.cluster = Cluster(root, binary)
    rng = random.Random(settings.seed)

    say(f"seed {settings.seed}; run dir {root}")
    say(f"starting 3 nodes ({settings.binary})")
    cluster.start(NODE_IDS)
    cluster.create_topic(TOPIC, settings.partitions, settings.replication_factor, settings.min_insync)
    if not cluster.wait_leaders(TOPIC, settings.partitions):
        raise HarnessError(f"topic {TOPIC} has partitions without a leader {LEADERS_TIMEOUT_S} s after creation")
    say(f"topic {TOPIC} created; producing at {settings.rate:.0f} records/s")

    workload = Workload(settings, cluster.bootstrap, TOPIC, logger)
    workload.start()
    chaos = Chaos(settings, cluster, rng)
    # No try/finally: an interrupted run (SIGTERM, Ctrl-C, harness error) must not sit in a
    # flush for up to message.timeout.ms; the producer threads are daemons and die with it.
    chaos.run(workload)
    say(f"faults over; stopping the producers and flushing ({workload.progress()})")
    workload.stop()
    say(f"producers done ({workload.progress()}); letting the cluster settle")
    settle(cluster, settings)
    say("reading every partition back")
    reads, high, read_errors = read_back(cluster.bootstrap, TOPIC, settings.partitions, logger)

    history = workload.history()
    checks = run_checks(history, reads)
    fatal_errors = [e for w in workload.workers for e in w.fatal_errors]
    print_summary(settings, chaos.faults, chaos.skipped, history, reads, high, read_errors, checks, cluster,
                  fatal_errors)
    if settings.keep_data:
        dump_history(root, history, reads)
    if all(c.passed for c in checks):
        print("RESULT: PASS, no anomaly")
        return 0
    print_node_logs(cluster)
    print("\nRESULT: FAIL (set STRATA_KEEP_DATA=1 to keep data, logs and history.jsonl)")
    return 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    # SIGTERM would end the script without atexit; make it a normal exit so nodes are killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = Settings.from_env()
    run_dir = RunDir(settings.keep_data)
    try:
        return run(settings, run_dir)
    except HarnessError as e:
        say(f"HARNESS ERROR: {e}")
        if run_dir.cluster is not None:
            print_node_logs(run_dir.cluster)
        return 2


if __name__ == "__main__":
    sys.exit(main())
