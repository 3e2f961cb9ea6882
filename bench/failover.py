#!/usr/bin/env python3
"""Leader failover benchmark: time from `kill -9` of a partition leader to
(a) a new leader in the metadata and (b) the first successful produce to that partition.

Starts a three-process Strata cluster on 127.0.0.1 (combined nodes, one Raft quorum), creates
a topic with replication factor 3, then repeats: find the leader, kill -9 it, poll Metadata
and produce until both succeed, restart the killed node and wait until it is back in the ISR.
A background acks=all idempotent producer loads a second RF 3 topic all the while (unless
--no-load), and the node logs are checked for live nodes fenced by mistake (a session that
expired although the process was alive). Prints one line per run and min/median/max. Not a
test: numbers go in docs/PERFORMANCE.md.

Usage: .venv/bin/python bench/failover.py [--runs 10] [--bin target/release/strata] [--no-load]
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

CLUSTER_ID = "MkU3OEVBNTcwNTJENDM2Qk"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, binary, node_id, root, client_port, controller_port, voters):
        self.binary, self.node_id = binary, node_id
        self.dir = os.path.join(root, f"n{node_id}")
        self.client_port, self.controller_port, self.voters = client_port, controller_port, voters
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)

    def start(self):
        log = open(os.path.join(self.dir, "strata.log"), "a")
        listeners = f"PLAINTEXT://127.0.0.1:{self.client_port},CONTROLLER://127.0.0.1:{self.controller_port}"
        args = [self.binary, "server",
                "--override", f"node.id={self.node_id}",
                "--override", f"log.dirs={self.dir}/data",
                "--override", f"listeners={listeners}",
                "--override", f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.client_port}",
                "--override", f"controller.quorum.voters={self.voters}",
                "--override", "strata.auto.format=true",
                "--override", f"strata.cluster.id={CLUSTER_ID}"]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()


def leader_and_isr(admin, topic):
    md = admin.list_topics(topic, timeout=2)
    p = md.topics[topic].partitions[0]
    return p.leader, list(p.isrs)


def load_thread(bootstrap, topic, stop, counts):
    """Background acks=all idempotent load on `topic` (no rate limit: as fast as the client
    and cluster go), so failover is measured while the brokers are busy."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "queue.buffering.max.messages": 200_000,
                         "message.timeout.ms": 60000})
    def report(err, _msg):
        counts["acked" if err is None else "failed"] += 1
    value = b"x" * 100
    while not stop.is_set():
        try:
            producer.produce(topic, value=value, on_delivery=report)
        except BufferError:
            producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)


def fencings(nodes):
    """(broker, count) of every 'fencing a broker whose session expired' line in the logs."""
    found = {}
    for n in nodes.values():
        try:
            with open(os.path.join(n.dir, "strata.log"), errors="replace") as f:
                for line in f:
                    if "fencing a broker whose session expired" in line and "broker_id=" in line:
                        b = int(line.split("broker_id=")[1].split()[0])
                        found[b] = found.get(b, 0) + 1
        except OSError:
            pass
    return found


def active_controller(binary, bootstrap):
    """The active controller's node id, from `strata kafka-metadata-quorum` (-1 if unknown)."""
    out = subprocess.run([binary, "kafka-metadata-quorum", "--bootstrap-server", bootstrap,
                          "describe", "--status"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        if line.startswith("LeaderId:"):
            return int(line.split(":", 1)[1])
    return -1


def create_topic(admin, name, partitions):
    deadline = time.time() + 60
    while True:
        try:
            fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=3,
                                               config={"min.insync.replicas": "2"})])
            fs[name].result(10)
            return
        except Exception as e:  # the cluster may still be forming
            if "already exists" in str(e):
                return
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--bin", default=os.environ.get("STRATA_BIN", "target/release/strata"))
    ap.add_argument("--no-load", action="store_true", help="no background produce load")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="strata-failover-")
    client_ports = [free_port() for _ in range(3)]
    controller_ports = [free_port() for _ in range(3)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(controller_ports))
    nodes = {i + 1: Node(args.bin, i + 1, root, client_ports[i], controller_ports[i], voters) for i in range(3)}
    bootstrap = ",".join(f"127.0.0.1:{p}" for p in client_ports)
    stop = threading.Event()
    counts = {"acked": 0, "failed": 0}
    loader = None
    try:
        for n in nodes.values():
            n.start()
        admin = AdminClient({"bootstrap.servers": bootstrap})
        create_topic(admin, "failover", 1)
        if not args.no_load:
            create_topic(admin, "load", 6)
            loader = threading.Thread(target=load_thread, args=(bootstrap, "load", stop, counts), daemon=True)
            loader.start()
        to_metadata, to_produce, false_fencings = [], [], 0
        for run in range(args.runs):
            leader, isr = leader_and_isr(admin, "failover")
            while leader < 0 or len(isr) < 3:
                time.sleep(0.2)
                leader, isr = leader_and_isr(admin, "failover")
            before = fencings(nodes)
            controller = active_controller(args.bin, bootstrap)
            survivors = ",".join(f"127.0.0.1:{nodes[i].client_port}" for i in nodes if i != leader)
            watcher = AdminClient({"bootstrap.servers": survivors})
            producer = Producer({"bootstrap.servers": survivors, "acks": "all", "linger.ms": 0,
                                 "message.timeout.ms": 30000, "retry.backoff.ms": 20,
                                 "topic.metadata.refresh.interval.ms": 100})
            t0 = time.monotonic()
            nodes[leader].kill9()
            t_meta = None
            while t_meta is None:
                try:
                    new_leader, _ = leader_and_isr(watcher, "failover")
                    if new_leader >= 0 and new_leader != leader:
                        t_meta = time.monotonic() - t0
                except Exception:
                    pass
                if t_meta is None:
                    time.sleep(0.005)
            delivered = []
            producer.produce("failover", value=b"after-failover", partition=0,
                             on_delivery=lambda err, msg: delivered.append(err))
            producer.flush(30)
            t_prod = time.monotonic() - t0
            if not delivered or delivered[0] is not None:
                raise SystemExit(f"run {run}: produce after failover failed: {delivered}")
            to_metadata.append(t_meta * 1000)
            to_produce.append(t_prod * 1000)
            nodes[leader].start()
            back = time.time() + 30
            while time.time() < back:
                try:
                    _, isr = leader_and_isr(admin, "failover")
                    if len(isr) == 3:
                        break
                except Exception:
                    pass
                time.sleep(0.2)
            after = fencings(nodes)
            wrongly = {b: after.get(b, 0) - before.get(b, 0) for b in nodes if b != leader
                       and after.get(b, 0) > before.get(b, 0)}
            false_fencings += sum(wrongly.values())
            role = " (also the active controller)" if controller == leader else ""
            print(f"run {run + 1:2d}: killed leader {leader}{role}; new leader in metadata after {t_meta * 1000:7.1f} ms, "
                  f"first produce acknowledged after {t_prod * 1000:7.1f} ms"
                  + (f"; live nodes fenced: {wrongly}" if wrongly else ""), flush=True)
        for name, xs in (("kill -9 -> new leader in metadata", to_metadata),
                         ("kill -9 -> first acknowledged produce", to_produce)):
            print(f"{name}: min {min(xs):.1f} ms, median {statistics.median(xs):.1f} ms, max {max(xs):.1f} ms "
                  f"({len(xs)} runs)")
        print(f"live nodes fenced by mistake: {false_fencings}")
        if loader is not None:
            stop.set()
            loader.join(90)
            print(f"background load (acks=all, idempotent, 100 B): {counts['acked']} acknowledged, "
                  f"{counts['failed']} failed")
    finally:
        stop.set()
        for n in nodes.values():
            n.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
