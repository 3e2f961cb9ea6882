"""Python clients and the binary's Kafka tools against one real strata node.

Clients: confluent-kafka (librdkafka), kafka-python, aiokafka. Tools: `strata kafka-topics`,
`strata kafka-console-producer`, `strata kafka-console-consumer` (Apache Kafka 3.9's flags and
output), also through symlinks named `kafka-topics` / `kafka-topics.sh`.
Most consumers assign() partitions and read from the beginning; the consumer-group tests at the
end subscribe with each library's group consumer (join, share, commit, resume).
"""
import asyncio
import os
import re
import subprocess
import time
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

HERE = os.path.dirname(os.path.abspath(__file__))
CODECS = ["gzip", "snappy", "lz4", "zstd"]
IO_TIMEOUT_S = 30
TOOL_TIMEOUT_S = 60
COLLISION_WARNING = (
    "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could "
    "collide. To avoid issues it is best to use either, but not both."
)


# ------------------------------------------------------------------ helpers

def create_topic(node, name, partitions=1):
    admin = AdminClient({"bootstrap.servers": node.bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    try:
        futures[name].result(timeout=IO_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 - report any failure with the topic and cause
        raise AssertionError(f"CreateTopics {name} ({partitions} partitions) failed: {e!r}") from e
    deadline = time.time() + IO_TIMEOUT_S
    while time.time() < deadline:
        md = admin.list_topics(topic=name, timeout=10)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
            p.leader == 1 for p in t.partitions.values()
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} did not show {partitions} partitions led by node 1")


def ck_produce(node, topic, records, **conf):
    """records: list of dicts with value and optional key/partition/headers/timestamp.
    Returns the delivered (partition, offset) pairs in order."""
    p = Producer({"bootstrap.servers": node.bootstrap, "linger.ms": 5, **conf})
    results = [None] * len(records)

    def cb(i):
        def done(err, msg):
            results[i] = err if err is not None else (msg.partition(), msg.offset())
        return done

    for i, r in enumerate(records):
        p.produce(topic, on_delivery=cb(i), **r)
        p.poll(0)
    remaining = p.flush(IO_TIMEOUT_S)
    assert remaining == 0, f"{remaining} records still undelivered after {IO_TIMEOUT_S}s"
    for i, res in enumerate(results):
        assert isinstance(res, tuple), f"record #{i} not delivered: {res}"
    return results


def ck_consume(node, topic, partition, n):
    """Reads n records of one partition from the beginning with confluent-kafka (assign only;
    the Python client insists on a group.id but nothing is committed or joined)."""
    c = Consumer({
        "bootstrap.servers": node.bootstrap,
        "group.id": f"py-assign-only-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
    })
    try:
        c.assign([CkTopicPartition(topic, partition, OFFSET_BEGINNING)])
        out = []
        deadline = time.time() + IO_TIMEOUT_S
        while len(out) < n and time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            assert m.error() is None, f"consume {topic}-{partition}: {m.error()}"
            out.append(m)
        assert len(out) == n, f"expected {n} records from {topic}-{partition}, got {len(out)}"
        return out
    finally:
        c.close()


def kp_consume(node, topic, partition, n):
    """Reads n records of one partition from the beginning with kafka-python (no group)."""
    c = KafkaConsumer(bootstrap_servers=node.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tp = KpTopicPartition(topic, partition)
        c.assign([tp])
        c.seek_to_beginning(tp)
        out = []
        deadline = time.time() + IO_TIMEOUT_S
        while len(out) < n and time.time() < deadline:
            for recs in c.poll(timeout_ms=200).values():
                out.extend(recs)
        assert len(out) == n, f"kafka-python: expected {n} records from {topic}-{partition}, got {len(out)}"
        return out
    finally:
        c.close()


def tool(bin_path, *args, stdin=None, argv0=None):
    """Runs `strata <args>` (or a symlink named argv0 whose args are the tool's own)."""
    cmd = [argv0, *args] if argv0 else [bin_path, *args]
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    return r


def ok(r, what):
    assert r.returncode == 0, f"{what} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


# ------------------------------------------------------------------ clients

def test_confluent_keys_headers_timestamps(node, topic):
    create_topic(node, topic)
    base = 1_700_000_000_000
    records = [
        {
            "value": f"value-{i}".encode(),
            "key": None if i % 4 == 0 else f"key-{i}".encode(),
            "headers": [("idx", str(i).encode()), ("nil", None)],
            "timestamp": base + i,
            "partition": 0,
        }
        for i in range(40)
    ]
    delivered = ck_produce(node, topic, records)
    assert [d[1] for d in delivered] == list(range(40)), "offsets must be 0..39 in order"
    for i, m in enumerate(ck_consume(node, topic, 0, 40)):
        assert m.offset() == i
        assert m.value() == records[i]["value"]
        assert m.key() == records[i]["key"], f"key of record #{i}"
        assert m.timestamp() == (1, base + i), f"timestamp of record #{i} (type 1 = CreateTime)"
        assert m.headers() == [("idx", str(i).encode()), ("nil", None)], f"headers of record #{i}"
    # Cross-client: kafka-python reads the same records.
    kp = kp_consume(node, topic, 0, 40)
    assert [r.value for r in kp] == [r["value"] for r in records]
    assert [r.timestamp for r in kp] == [base + i for i in range(40)]


@pytest.mark.parametrize("codec", CODECS)
def test_confluent_producer_codecs(node, topic, codec):
    create_topic(node, topic)
    values = [f"{codec}-{i:04} ".encode() + b"payload " * 20 for i in range(300)]
    ck_produce(node, topic, [{"value": v, "key": b"k", "partition": 0} for v in values],
               **{"compression.type": codec, "linger.ms": 50})
    got = kp_consume(node, topic, 0, len(values))
    assert [r.value for r in got] == values, f"{codec}: kafka-python read back different values"
    assert [r.offset for r in got] == list(range(len(values)))


@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python_producer_codecs(node, topic, codec):
    create_topic(node, topic)
    p = KafkaProducer(bootstrap_servers=node.bootstrap, compression_type=codec, linger_ms=20, acks="all")
    values = [f"kp-{codec}-{i:04} ".encode() + b"data " * 30 for i in range(300)]
    futures = [p.send(topic, value=v, key=f"k{i % 7}".encode(), partition=0,
                      headers=[("h", b"v")]) for i, v in enumerate(values)]
    p.flush(IO_TIMEOUT_S)
    offsets = [f.get(timeout=IO_TIMEOUT_S).offset for f in futures]
    p.close()
    assert offsets == list(range(len(values))), f"{codec}: acknowledged offsets"
    got = ck_consume(node, topic, 0, len(values))
    assert [m.value() for m in got] == values, f"{codec}: confluent-kafka read back different values"
    assert [m.key() for m in got] == [f"k{i % 7}".encode() for i in range(len(values))]
    assert all(m.headers() == [("h", b"v")] for m in got), "headers lost"


def test_aiokafka_round_trip(node, topic):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    create_topic(node, topic, partitions=2)

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=node.bootstrap, compression_type="gzip", acks="all")
        await p.start()
        try:
            metas = [await p.send_and_wait(topic, value=f"aio-{i}".encode(), key=b"k", partition=i % 2,
                                           timestamp_ms=1_600_000_000_000 + i) for i in range(20)]
        finally:
            await p.stop()
        assert [m.offset for m in metas] == [i // 2 for i in range(20)]
        c = AIOKafkaConsumer(bootstrap_servers=node.bootstrap, group_id=None, enable_auto_commit=False)
        await c.start()
        try:
            tps = [AioTopicPartition(topic, 0), AioTopicPartition(topic, 1)]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            got = []
            deadline = time.time() + IO_TIMEOUT_S
            while len(got) < 20 and time.time() < deadline:
                batch = await c.getmany(timeout_ms=200)
                for recs in batch.values():
                    got.extend(recs)
        finally:
            await c.stop()
        assert len(got) == 20, f"aiokafka read {len(got)} of 20 records"
        assert sorted(r.value for r in got) == sorted(f"aio-{i}".encode() for i in range(20))
        for r in got:
            i = int(r.value.decode().split("-")[1])
            assert (r.partition, r.offset, r.timestamp) == (i % 2, i // 2, 1_600_000_000_000 + i)

    asyncio.run(run())


# ------------------------------------------------------------------ tools (the tutorial)

def normalise_topic_id(text):
    return re.sub(r"TopicId: \S+", "TopicId: <id>", text)


def test_kafka_topics_tutorial(node, bin_path):
    t = "inventory_purchases"
    bs = ["--bootstrap-server", node.bootstrap]
    r = ok(tool(bin_path, "kafka-topics", *bs, "--create", "--topic", t, "--partitions", "6",
                "--replication-factor", "1"), "kafka-topics --create")
    # Kafka warns about '.'/'_' metric-name collisions for names containing either.
    assert r.stdout.splitlines() == [COLLISION_WARNING, f"Created topic {t}."], f"--create output: {r.stdout!r}"

    r = tool(bin_path, "kafka-topics", *bs, "--create", "--topic", t, "--partitions", "6",
             "--replication-factor", "1")
    assert r.returncode != 0, "creating an existing topic must exit non-zero"
    assert "already exists" in (r.stdout + r.stderr), f"duplicate create output: {r.stdout!r} {r.stderr!r}"

    r = ok(tool(bin_path, "kafka-topics", *bs, "--describe", "--topic", t), "kafka-topics --describe")
    m = re.search(r"TopicId: (\S+)", r.stdout)
    assert m and m.group(1) != "AAAAAAAAAAAAAAAAAAAAAA", f"--describe must show a real TopicId: {r.stdout!r}"
    with open(os.path.join(HERE, "golden", "describe_inventory_purchases.txt")) as f:
        golden = f.read()
    assert normalise_topic_id(r.stdout) == golden, (
        "--describe output differs from the Kafka 3.9 layout\n--- expected\n"
        + repr(golden) + "\n--- got\n" + repr(normalise_topic_id(r.stdout))
    )

    r = ok(tool(bin_path, "kafka-topics", *bs, "--list"), "kafka-topics --list")
    assert t in r.stdout.splitlines(), f"--list output lacks {t}: {r.stdout!r}"

    ok(tool(bin_path, "kafka-topics", *bs, "--alter", "--topic", t, "--partitions", "8"), "kafka-topics --alter")
    r = ok(tool(bin_path, "kafka-topics", *bs, "--describe", "--topic", t), "describe after alter")
    assert "PartitionCount: 8\t" in r.stdout, f"--alter --partitions 8 not visible: {r.stdout!r}"
    assert len([l for l in r.stdout.splitlines() if l.startswith("\tTopic: ")]) == 8

    ok(tool(bin_path, "kafka-topics", *bs, "--delete", "--topic", t), "kafka-topics --delete")
    deadline = time.time() + 10
    while True:
        r = ok(tool(bin_path, "kafka-topics", *bs, "--list"), "kafka-topics --list after delete")
        if t not in r.stdout.splitlines():
            break
        assert time.time() < deadline, f"{t} still listed after --delete: {r.stdout!r}"
        time.sleep(0.2)


def test_tool_symlinks(node, bin_path, tmp_path, topic):
    create_topic(node, topic)
    for name in ["kafka-topics", "kafka-topics.sh"]:
        link = tmp_path / name
        link.symlink_to(bin_path)
        r = ok(tool(bin_path, "--bootstrap-server", node.bootstrap, "--list", argv0=str(link)), f"{name} --list")
        assert topic in r.stdout.splitlines(), f"{name} --list lacks {topic}: {r.stdout!r}"


def test_console_producer_with_keys(node, bin_path, topic):
    create_topic(node, topic)
    lines = [f"user{i % 3}:event number {i}" for i in range(10)]
    ok(tool(bin_path, "kafka-console-producer", "--bootstrap-server", node.bootstrap, "--topic", topic,
            "--property", "parse.key=true", "--property", "key.separator=:",
            stdin="\n".join(lines) + "\n"), "kafka-console-producer")
    got = kp_consume(node, topic, 0, len(lines))
    assert [(r.key, r.value) for r in got] == [
        (l.split(":", 1)[0].encode(), l.split(":", 1)[1].encode()) for l in lines
    ], "console producer must split key and value at the first ':'"


def test_console_consumer_from_beginning(node, bin_path, topic):
    create_topic(node, topic)
    values = [f"line {i}".encode() for i in range(15)]
    ck_produce(node, topic, [{"value": v, "partition": 0} for v in values])
    r = ok(tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
                "--from-beginning", "--max-messages", "15"), "kafka-console-consumer")
    assert r.stdout.splitlines() == [v.decode() for v in values], f"console consumer stdout: {r.stdout!r}"
    assert "Processed a total of 15 messages" in r.stderr, f"console consumer stderr: {r.stderr!r}"


def test_console_consumer_print_properties(node, bin_path, topic):
    create_topic(node, topic, partitions=2)
    base = 1_650_000_000_000
    records = [{"value": f"v{i}".encode(), "key": f"k{i}".encode(), "partition": i % 2, "timestamp": base + i}
               for i in range(6)]
    ck_produce(node, topic, records)
    r = ok(tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
                "--from-beginning", "--max-messages", "6",
                "--property", "print.key=true", "--property", "print.timestamp=true",
                "--property", "print.partition=true"), "kafka-console-consumer with print properties")
    expected = [f"CreateTime:{base + i}\tPartition:{i % 2}\tk{i}\tv{i}" for i in range(6)]
    got = r.stdout.splitlines()
    # Partitions interleave in any order; within a partition the order is fixed.
    assert sorted(got) == sorted(expected), f"console consumer output:\n{r.stdout}\nexpected lines:\n" + "\n".join(expected)
    for p in (0, 1):
        assert [l for l in got if f"\tPartition:{p}\t" in l] == [l for l in expected if f"\tPartition:{p}\t" in l]


def test_console_consumer_partition_offset_and_metadata(node, bin_path, topic):
    create_topic(node, topic, partitions=2)
    records = [{"value": f"v{i}".encode(), "key": b"k", "partition": 1, "timestamp": 1_650_000_000_000 + i,
                "headers": [("h1", b"x"), ("h2", b"y")]} for i in range(5)]
    ck_produce(node, topic, records)
    r = ok(tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
                "--partition", "1", "--offset", "2", "--max-messages", "2",
                "--property", "print.offset=true", "--property", "print.headers=true",
                "--property", "print.partition=true"), "console consumer --partition --offset")
    assert r.stdout.splitlines() == ["Partition:1\tOffset:2\th1:x,h2:y\tv2", "Partition:1\tOffset:3\th1:x,h2:y\tv3"], r.stdout


def test_console_consumer_timeout_and_seed_formatter_flags(node, bin_path, topic):
    create_topic(node, topic)
    ck_produce(node, topic, [{"value": b"only", "key": b"key", "partition": 0}])
    # Seed 000 passes a formatter class and property names Kafka ignores (timestamp.print,
    # key.print): they must be accepted, and the output is the value alone, as with Kafka.
    r = tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
             "--from-beginning", "--formatter", "kafka.tools.DefaultMessageFormatter",
             "--property", "timestamp.print=true", "--property", "key.print=true",
             "--property", "print.partition=true", "--timeout-ms", "2000")
    assert r.returncode == 0, f"rc={r.returncode} stderr={r.stderr}"
    assert r.stdout.splitlines() == ["Partition:0\tonly"], r.stdout
    assert "Processed a total of 1 messages" in r.stderr, r.stderr


def test_console_consumer_group_resumes_after_its_commit(node, bin_path, topic):
    """The seeds' `kafka-console-consumer --group 1`: a group member reads from the start
    (--from-beginning applies only without a committed offset), commits on exit, and the next
    run of the same group reads only what came after."""
    create_topic(node, topic, partitions=3)
    ok(tool(bin_path, "kafka-console-producer", "--bootstrap-server", node.bootstrap, "--topic", topic,
            stdin="a\nb\nc\nd\n"), "produce")
    group = f"console-{topic}"
    r = tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
             "--group", group, "--from-beginning", "--max-messages", "4", "--timeout-ms", "20000")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["a", "b", "c", "d"], r.stdout
    ok(tool(bin_path, "kafka-console-producer", "--bootstrap-server", node.bootstrap, "--topic", topic,
            stdin="e\n"), "produce more")
    r = tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
             "--group", group, "--from-beginning", "--timeout-ms", "5000")
    assert r.stdout.split() == ["e"], f"after the commit only the new record: {r.stdout!r} {r.stderr!r}"
    r = tool(bin_path, "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
             "--group", group, "--partition", "0")
    assert r.returncode != 0 and "group and partition cannot be specified together" in r.stderr, r.stderr


def test_console_producer_config_file_and_codec(node, bin_path, topic, tmp_path):
    create_topic(node, topic)
    config = tmp_path / "producer.properties"
    config.write_text("acks=all\nlinger.ms=5\n")
    ok(tool(bin_path, "kafka-console-producer", "--bootstrap-server", node.bootstrap, "--topic", topic,
            "--producer.config", str(config), "--compression-codec", "gzip",
            "--producer-property", "acks=all", stdin="one\ntwo\nthree\n"), "console producer with config file")
    got = kp_consume(node, topic, 0, 3)
    assert [r.value for r in got] == [b"one", b"two", b"three"]


def test_console_consumer_without_from_beginning_sees_only_new_records(node, bin_path, topic):
    import subprocess
    import time
    create_topic(node, topic)
    ck_produce(node, topic, [{"value": b"old", "partition": 0}])
    consumer = subprocess.Popen([str(bin_path), "kafka-console-consumer", "--bootstrap-server", node.bootstrap,
                                 "--topic", topic, "--max-messages", "2", "--timeout-ms", "30000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2.0)  # the consumer positions itself at the end first
        ck_produce(node, topic, [{"value": b"new1", "partition": 0}, {"value": b"new2", "partition": 0}])
        out, err = consumer.communicate(timeout=40)
    finally:
        if consumer.poll() is None:
            consumer.kill()
    assert out.splitlines() == ["new1", "new2"], f"stdout={out!r} stderr={err!r}"


def test_internal_topics_are_protected(node, bin_path):
    from confluent_kafka import KafkaError, Producer
    try:
        create_topic(node, "__consumer_offsets")
    except AssertionError as e:
        # The group coordinator creates it on a consumer's first FindCoordinator.
        if "TOPIC_ALREADY_EXISTS" not in str(e):
            raise
    p = Producer({"bootstrap.servers": node.bootstrap, "message.timeout.ms": 10000})
    errors = []
    p.produce("__consumer_offsets", value=b"x", partition=0, on_delivery=lambda err, msg: errors.append(err))
    p.flush(15)
    assert errors and errors[0] is not None and errors[0].code() == KafkaError.TOPIC_EXCEPTION, \
        f"producing to an internal topic must fail with INVALID_TOPIC_EXCEPTION, got {errors}"
    r = tool(bin_path, "kafka-topics", "--bootstrap-server", node.bootstrap, "--delete", "--topic", "__consumer_offsets")
    assert r.returncode != 0 and "internal topic" in r.stdout, f"stdout={r.stdout!r} stderr={r.stderr!r}"


# ------------------------------------------------------------------ consumer groups

def _produce_values(node, topic, values, partitions):
    ck_produce(node, topic, [{"value": v.encode(), "partition": i % partitions} for i, v in enumerate(values)])


def test_group_confluent_kafka_two_members_share_and_resume(node, topic):
    """confluent-kafka: two members of one group split the partitions and read every record;
    after both commit and close, a new member reads only what came later."""
    create_topic(node, topic, partitions=4)
    first = [f"ck-{i}" for i in range(40)]
    _produce_values(node, topic, first, 4)
    group = f"ck-group-{topic}"
    conf = {"bootstrap.servers": node.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 10000}
    a, b = Consumer(conf), Consumer(conf)
    a.subscribe([topic])
    b.subscribe([topic])
    got = {"a": [], "b": []}
    deadline = time.time() + 60
    try:
        while len(got["a"]) + len(got["b"]) < len(first) and time.time() < deadline:
            for name, c in (("a", a), ("b", b)):
                m = c.poll(0.1)
                if m is not None and m.error() is None:
                    got[name].append(m.value().decode())
        assert sorted(got["a"] + got["b"]) == sorted(first), got
        assert len(a.assignment()) == 2 and len(b.assignment()) == 2, (a.assignment(), b.assignment())
        a.commit(asynchronous=False)
        b.commit(asynchronous=False)
    finally:
        a.close()
        b.close()
    later = [f"ck-later-{i}" for i in range(4)]
    _produce_values(node, topic, later, 4)
    c = Consumer(conf)
    c.subscribe([topic])
    seen = []
    deadline = time.time() + 60
    try:
        while len(seen) < len(later) and time.time() < deadline:
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                seen.append(m.value().decode())
    finally:
        c.close()
    assert sorted(seen) == sorted(later), f"resumed after the commit: {seen}"


def test_group_kafka_python_commits_and_resumes(node, topic):
    create_topic(node, topic, partitions=2)
    _produce_values(node, topic, [f"kp-{i}" for i in range(10)], 2)
    group = f"kp-group-{topic}"
    def consume(n):
        c = KafkaConsumer(topic, bootstrap_servers=node.bootstrap, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False)
        out = []
        deadline = time.time() + 60
        try:
            while len(out) < n and time.time() < deadline:
                for recs in c.poll(timeout_ms=200).values():
                    out.extend(r.value.decode() for r in recs)
            c.commit()
        finally:
            c.close()
        return out
    assert sorted(consume(10)) == sorted(f"kp-{i}" for i in range(10))
    _produce_values(node, topic, ["kp-late-0", "kp-late-1"], 2)
    assert sorted(consume(2)) == ["kp-late-0", "kp-late-1"]


def test_group_aiokafka_commits_and_resumes(node, topic):
    from aiokafka import AIOKafkaConsumer
    create_topic(node, topic, partitions=2)
    _produce_values(node, topic, [f"aio-{i}" for i in range(6)], 2)
    group = f"aio-group-{topic}"

    async def consume(n):
        c = AIOKafkaConsumer(topic, bootstrap_servers=node.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False)
        await c.start()
        out = []
        try:
            deadline = time.time() + 60
            while len(out) < n and time.time() < deadline:
                batch = await c.getmany(timeout_ms=200)
                for recs in batch.values():
                    out.extend(r.value.decode() for r in recs)
            await c.commit()
        finally:
            await c.stop()
        return out

    assert sorted(asyncio.run(consume(6))) == sorted(f"aio-{i}" for i in range(6))
    _produce_values(node, topic, ["aio-late"], 2)
    assert asyncio.run(consume(1)) == ["aio-late"]
