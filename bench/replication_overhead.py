#!/usr/bin/env python3
"""Replication overhead benchmark: records/s of an acks=all producer to a topic with
replication factor 3 (min.insync.replicas=2) against an acks=1 producer to a topic with
replication factor 1, on the same three-node cluster in the same run.

Starts a three-process Strata cluster on 127.0.0.1 (see bench/failover.py), creates both
topics with 6 partitions, then for each mode produces --records values of --size bytes with
librdkafka (confluent-kafka, linger.ms=5) and times from the first send to the last delivery
report. Not a test: numbers go in docs/PERFORMANCE.md.

Usage: .venv/bin/python bench/replication_overhead.py [--records 200000] [--size 100]
       [--bin target/release/strata]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import Node, free_port  # noqa: E402  (the same cluster set-up)


def create(admin, name, rf, configs):
    deadline = time.time() + 60
    while True:
        try:
            admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=rf, config=configs)])[name].result(10)
            return
        except Exception as e:  # the cluster may still be forming
            if "already exists" in str(e):
                return
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def run(bootstrap, topic, acks, records, size):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
                         "enable.idempotence": acks == "all", "queue.buffering.max.messages": 1_000_000})
    value = b"x" * size
    failed = []
    def report(err, _msg):
        if err is not None:
            failed.append(err)
    # Warm up: metadata and connections.
    producer.produce(topic, value=value, on_delivery=report)
    producer.flush(30)
    t0 = time.monotonic()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, value=value, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.monotonic() - t0
    if failed:
        raise SystemExit(f"{topic}: {len(failed)} deliveries failed, first: {failed[0]}")
    return records / elapsed, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--bin", default=os.environ.get("STRATA_BIN", "target/release/strata"))
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="strata-replication-bench-")
    client_ports = [free_port() for _ in range(3)]
    controller_ports = [free_port() for _ in range(3)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(controller_ports))
    nodes = [Node(args.bin, i + 1, root, client_ports[i], controller_ports[i], voters) for i in range(3)]
    bootstrap = ",".join(f"127.0.0.1:{p}" for p in client_ports)
    try:
        for n in nodes:
            n.start()
        admin = AdminClient({"bootstrap.servers": bootstrap})
        create(admin, "rf1", 1, {})
        create(admin, "rf3", 3, {"min.insync.replicas": "2"})
        time.sleep(2)  # let every follower join the ISR
        rate1, t1 = run(bootstrap, "rf1", "1", args.records, args.size)
        print(f"acks=1   RF 1: {args.records} records of {args.size} B in {t1:6.2f} s = {rate1:9.0f} records/s", flush=True)
        rate3, t3 = run(bootstrap, "rf3", "all", args.records, args.size)
        print(f"acks=all RF 3: {args.records} records of {args.size} B in {t3:6.2f} s = {rate3:9.0f} records/s", flush=True)
        print(f"acks=all RF 3 reaches {100 * rate3 / rate1:.0f}% of acks=1 RF 1")
    finally:
        for n in nodes:
            n.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
