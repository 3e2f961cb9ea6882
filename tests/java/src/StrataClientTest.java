// Apache Kafka's Java client (kafka-clients 3.9.1) against a running strata node.
// Usage: java -cp build:<kafka jars> StrataClientTest <bootstrap> [test-name-substring]
// Covers: AdminClient create/describe/list/grow/delete topics and its error exceptions, the
// default (idempotent, acks=all) producer with keyed records (murmur2 placement), acks=1
// without idempotence, the four compression codecs with headers and timestamps, keyless
// records refused by a compacted topic with per-record errors, and a
// consumer using assign() + seekToBeginning() (no group). Prints "java: N passed, M failed".

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

public class StrataClientTest {
    /** How long any single wait (admin call, delivery, consumption) may take. */
    static final long IO_TIMEOUT_MS = 30_000;

    static String bootstrap;
    static int passed = 0;
    static int failed = 0;
    static final List<String> failedNames = new ArrayList<>();

    interface Check { void run() throws Exception; }

    static class Fail extends RuntimeException {
        Fail(String msg) { super(msg); }
    }

    static void check(boolean cond, String msg) {
        if (!cond) throw new Fail(msg);
    }

    static void eq(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new Fail(what + ": expected <" + expected + "> but got <" + actual + ">");
        }
    }

    static void run(String filter, String name, Check c) {
        if (filter != null && !name.contains(filter)) return;
        long t0 = System.nanoTime();
        try {
            c.run();
            passed++;
            System.out.printf("ok   - %s (%d ms)%n", name, (System.nanoTime() - t0) / 1_000_000);
        } catch (Throwable e) {
            failed++;
            failedNames.add(name);
            System.out.printf("FAIL - %s: %s%n", name, e);
            if (!(e instanceof Fail)) e.printStackTrace(System.out);
        }
    }

    static String uniqueTopic(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }
    static String s(byte[] b) { return b == null ? null : new String(b, StandardCharsets.UTF_8); }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) IO_TIMEOUT_MS);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        return Admin.create(p);
    }

    static KafkaProducer<byte[], byte[]> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) IO_TIMEOUT_MS);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, IO_TIMEOUT_MS);
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    /** Reads n records of the given partitions from their beginning (assign, no group). */
    static List<ConsumerRecord<byte[], byte[]>> consume(String topic, List<Integer> partitions, int n) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) IO_TIMEOUT_MS);
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int part : partitions) tps.add(new TopicPartition(topic, part));
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.currentTimeMillis() + IO_TIMEOUT_MS;
            while (out.size() < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(r);
            }
        }
        eq(n, out.size(), "records consumed from " + topic + " " + partitions);
        return out;
    }

    static void createTopic(Admin a, String topic, int partitions) throws Exception {
        createTopic(a, topic, partitions, Map.of());
    }

    static void createTopic(Admin a, String topic, int partitions, Map<String, String> configs) throws Exception {
        a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs)))
                .all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        long deadline = System.currentTimeMillis() + IO_TIMEOUT_MS;
        while (true) {
            try {
                TopicDescription d = a.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                if (d.partitions().size() == partitions
                        && d.partitions().stream().allMatch(pi -> pi.leader() != null && pi.leader().id() == 1)) return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) throw e;
            }
            check(System.currentTimeMillis() < deadline, topic + " did not get " + partitions + " partitions led by node 1");
            Thread.sleep(100);
        }
    }

    static <T extends Throwable> T expectFailure(Future<?> f, Class<T> cls, String what) throws Exception {
        try {
            f.get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (cls.isInstance(e.getCause())) return cls.cast(e.getCause());
            throw new Fail(what + ": expected " + cls.getSimpleName() + " but got " + e.getCause());
        }
        throw new Fail(what + ": expected " + cls.getSimpleName() + " but the call succeeded");
    }

    // ------------------------------------------------------------------ tests

    static void adminTopics() throws Exception {
        try (Admin a = admin()) {
            Collection<Node> nodes = a.describeCluster().nodes().get();
            eq(1, nodes.size(), "cluster size");
            eq(1, nodes.iterator().next().id(), "node id");

            String t = uniqueTopic("java-admin");
            createTopic(a, t, 3);
            TopicDescription d = a.describeTopics(List.of(t)).allTopicNames().get().get(t);
            eq(t, d.name(), "described name");
            check(d.topicId() != null && !d.topicId().equals(Uuid.ZERO_UUID), "topic id must be set, got " + d.topicId());
            eq(3, d.partitions().size(), "partition count");
            for (TopicPartitionInfo pi : d.partitions()) {
                eq(1, pi.leader().id(), "leader of partition " + pi.partition());
                eq(List.of(1), pi.replicas().stream().map(Node::id).toList(), "replicas of partition " + pi.partition());
                eq(List.of(1), pi.isr().stream().map(Node::id).toList(), "isr of partition " + pi.partition());
            }
            check(a.listTopics().names().get().contains(t), "listTopics lacks " + t);

            expectFailure(a.createTopics(List.of(new NewTopic(t, 3, (short) 1))).all(), TopicExistsException.class,
                    "creating " + t + " twice");
            expectFailure(a.createTopics(List.of(new NewTopic("bad/name", 1, (short) 1))).all(),
                    InvalidTopicException.class, "invalid topic name");
            expectFailure(a.createTopics(List.of(new NewTopic(uniqueTopic("zero"), 0, (short) 1))).all(),
                    InvalidPartitionsException.class, "0 partitions");

            a.createPartitions(Map.of(t, NewPartitions.increaseTo(4))).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            long deadline = System.currentTimeMillis() + IO_TIMEOUT_MS;
            while (a.describeTopics(List.of(t)).allTopicNames().get().get(t).partitions().size() != 4) {
                check(System.currentTimeMillis() < deadline, t + " did not grow to 4 partitions");
                Thread.sleep(100);
            }

            a.deleteTopics(List.of(t)).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            deadline = System.currentTimeMillis() + IO_TIMEOUT_MS;
            while (a.listTopics().names().get().contains(t)) {
                check(System.currentTimeMillis() < deadline, t + " still listed after deletion");
                Thread.sleep(100);
            }
            expectFailure(a.deleteTopics(List.of(t)).all(), UnknownTopicOrPartitionException.class,
                    "deleting a missing topic");
        }
    }

    /** Default producer settings in 3.9: enable.idempotence=true, acks=all. */
    static void idempotentDefaultProducerKeyedRecords() throws Exception {
        String t = uniqueTopic("java-keyed");
        int partitions = 3;
        try (Admin a = admin()) { createTopic(a, t, partitions); }
        int n = 300;
        List<RecordMetadata> metas = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(p.send(new ProducerRecord<>(t, b("key-" + (i % 17)), b("value-" + i))));
            }
            for (Future<RecordMetadata> f : fs) metas.add(f.get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS));
        }
        Map<Integer, List<Integer>> expectedByPartition = new HashMap<>();
        for (int i = 0; i < n; i++) {
            int want = Utils.toPositive(Utils.murmur2(b("key-" + (i % 17)))) % partitions;
            eq(want, metas.get(i).partition(), "partition of record " + i + " (murmur2)");
            expectedByPartition.computeIfAbsent(want, k -> new ArrayList<>()).add(i);
        }
        List<ConsumerRecord<byte[], byte[]>> got = consume(t, List.of(0, 1, 2), n);
        for (int part = 0; part < partitions; part++) {
            final int pp = part;
            List<String> values = got.stream().filter(r -> r.partition() == pp).map(r -> s(r.value())).toList();
            List<String> want = expectedByPartition.getOrDefault(part, List.of()).stream().map(i -> "value-" + i).toList();
            eq(want, values, "values of partition " + part + " in order");
            List<Long> offsets = got.stream().filter(r -> r.partition() == pp).map(ConsumerRecord::offset).toList();
            for (int i = 0; i < offsets.size(); i++) eq((long) i, offsets.get(i), "offset in partition " + part);
        }
    }

    static void acks1WithoutIdempotence() throws Exception {
        String t = uniqueTopic("java-acks1");
        try (Admin a = admin()) { createTopic(a, t, 1); }
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.ACKS_CONFIG, "1",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
            for (int i = 0; i < 50; i++) {
                RecordMetadata m = p.send(new ProducerRecord<>(t, 0, null, b("a1-" + i))).get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                eq((long) i, m.offset(), "offset of record " + i);
            }
        }
        List<ConsumerRecord<byte[], byte[]>> got = consume(t, List.of(0), 50);
        for (int i = 0; i < 50; i++) eq("a1-" + i, s(got.get(i).value()), "value " + i);
    }

    static void codec(String codec) throws Exception {
        String t = uniqueTopic("java-" + codec);
        try (Admin a = admin()) { createTopic(a, t, 1); }
        int n = 400;
        long base = 1_690_000_000_000L;
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.LINGER_MS_CONFIG, 50))) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(t, 0, base + i, b("k" + i),
                        b(codec + "-" + i + "-" + "payload".repeat(20)));
                r.headers().add("idx", b(Integer.toString(i))).add("null", null);
                fs.add(p.send(r));
            }
            for (int i = 0; i < n; i++) eq((long) i, fs.get(i).get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS).offset(), codec + " offset " + i);
        }
        List<ConsumerRecord<byte[], byte[]>> got = consume(t, List.of(0), n);
        for (int i = 0; i < n; i++) {
            ConsumerRecord<byte[], byte[]> r = got.get(i);
            eq((long) i, r.offset(), codec + " offset");
            eq("k" + i, s(r.key()), codec + " key " + i);
            eq(codec + "-" + i + "-" + "payload".repeat(20), s(r.value()), codec + " value " + i);
            eq(TimestampType.CREATE_TIME, r.timestampType(), codec + " timestamp type");
            eq(base + i, r.timestamp(), codec + " timestamp " + i);
            Header[] hs = r.headers().toArray();
            eq(2, hs.length, codec + " header count");
            eq("idx", hs[0].key(), codec + " header key");
            eq(Integer.toString(i), s(hs[0].value()), codec + " header value");
            eq(null, hs[1].value(), codec + " null header value");
        }
    }


    /**
     * A compacted topic refuses keyless records: one batch of keyed and keyless records fails
     * whole, each keyless record with its own InvalidRecordException (the broker's KIP-467
     * record error), each keyed one as "part of a batch which had invalid records".
     */
    static void compactedTopicKeys(String codec) throws Exception {
        String t = uniqueTopic("java-compacted-" + codec);
        try (Admin a = admin()) { createTopic(a, t, 1, Map.of("cleanup.policy", "compact")); }
        String keyError = "Compacted topic cannot accept message without key in topic partition " + t + "-0";
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                ProducerConfig.LINGER_MS_CONFIG, 1_000, ProducerConfig.RETRIES_CONFIG, 0))) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                byte[] key = i % 2 == 0 ? b("k" + i) : null;
                fs.add(p.send(new ProducerRecord<>(t, 0, key, b("v" + i))));
            }
            for (int i = 0; i < 4; i++) {
                try {
                    fs.get(i).get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                    throw new Fail(codec + ": record " + i + " was accepted");
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (i % 2 == 1) {
                        check(cause instanceof org.apache.kafka.common.InvalidRecordException,
                            codec + ": keyless record " + i + " failed with " + cause);
                        eq(keyError, cause.getMessage(), codec + ": keyless record " + i + "'s message");
                    } else {
                        check(cause.getMessage().contains("part of a batch which had one more more invalid records"),
                            codec + ": keyed record " + i + " failed with " + cause);
                    }
                }
            }
        }
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec))) {
            RecordMetadata m = p.send(new ProducerRecord<>(t, 0, b("k"), b("v"))).get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            eq(0L, m.offset(), codec + ": nothing of the refused batch was appended");
        }
    }

    /** DescribeConfigs, IncrementalAlterConfigs (set/delete/append), legacy AlterConfigs, invalid values. */
    static void adminConfigs() throws Exception {
        String t = uniqueTopic("java-configs");
        try (Admin a = admin()) {
            a.createTopics(List.of(new NewTopic(t, 1, (short) 1).configs(Map.of("retention.ms", "3600000"))))
                    .all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            org.apache.kafka.common.config.ConfigResource r =
                    new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, t);
            Config c = a.describeConfigs(List.of(r)).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS).get(r);
            eq("3600000", c.get("retention.ms").value(), "retention.ms after create");
            eq(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, c.get("retention.ms").source(), "retention.ms source");
            eq("delete", c.get("cleanup.policy").value(), "cleanup.policy default");
            eq(ConfigEntry.ConfigSource.DEFAULT_CONFIG, c.get("cleanup.policy").source(), "cleanup.policy source");
            eq("1048588", c.get("max.message.bytes").value(), "max.message.bytes default");

            a.incrementalAlterConfigs(Map.of(r, List.of(
                    new AlterConfigOp(new ConfigEntry("segment.ms", "60000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("retention.ms", null), AlterConfigOp.OpType.DELETE),
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND))))
                    .all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            c = a.describeConfigs(List.of(r)).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS).get(r);
            eq("60000", c.get("segment.ms").value(), "segment.ms after SET");
            eq("604800000", c.get("retention.ms").value(), "retention.ms back to default after DELETE");
            eq("delete,compact", c.get("cleanup.policy").value(), "cleanup.policy after APPEND");

            expectFailure(a.incrementalAlterConfigs(Map.of(r, List.of(
                    new AlterConfigOp(new ConfigEntry("retention.ms", "soon"), AlterConfigOp.OpType.SET)))).all(),
                    org.apache.kafka.common.errors.InvalidConfigurationException.class, "retention.ms=soon");
            expectFailure(a.incrementalAlterConfigs(Map.of(r, List.of(
                    new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all(),
                    org.apache.kafka.common.errors.InvalidConfigurationException.class, "unknown config");
            org.apache.kafka.common.config.ConfigResource missing =
                    new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.TOPIC, t + "-missing");
            expectFailure(a.describeConfigs(List.of(missing)).all(), UnknownTopicOrPartitionException.class, "describe configs of a missing topic");

            org.apache.kafka.common.config.ConfigResource broker =
                    new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.BROKER, "1");
            Config bc = a.describeConfigs(List.of(broker)).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS).get(broker);
            eq("1", bc.get("node.id").value(), "broker config node.id");
        }
    }

    /** ListOffsets earliest/latest/by timestamp/max timestamp, DeleteRecords, DescribeLogDirs, delete by id. */
    static void adminOffsetsAndRecords() throws Exception {
        String t = uniqueTopic("java-offsets");
        long base = 1_700_000_000_000L;
        try (Admin a = admin()) {
            createTopic(a, t, 1);
            try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 0))) {
                for (int i = 0; i < 10; i++) {
                    // Timestamps go up by 1000 except record 7, which has the largest one.
                    long ts = i == 7 ? base + 99_000 : base + i * 1000L;
                    p.send(new ProducerRecord<>(t, 0, ts, null, b("r" + i))).get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                }
            }
            TopicPartition tp = new TopicPartition(t, 0);
            java.util.function.Function<OffsetSpec, ListOffsetsResult.ListOffsetsResultInfo> list = spec -> {
                try { return a.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS); }
                catch (Exception e) { throw new RuntimeException(e); }
            };
            eq(0L, list.apply(OffsetSpec.earliest()).offset(), "earliest");
            eq(10L, list.apply(OffsetSpec.latest()).offset(), "latest");
            eq(3L, list.apply(OffsetSpec.forTimestamp(base + 2500)).offset(), "first offset with timestamp >= base+2500");
            eq(base + 3000, list.apply(OffsetSpec.forTimestamp(base + 2500)).timestamp(), "its timestamp");
            eq(7L, list.apply(OffsetSpec.maxTimestamp()).offset(), "offset of the max timestamp");
            eq(-1L, list.apply(OffsetSpec.forTimestamp(base + 500_000)).offset(), "no record that late");

            DeletedRecords d = a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp)
                    .get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            eq(4L, d.lowWatermark(), "low watermark after DeleteRecords");
            eq(4L, list.apply(OffsetSpec.earliest()).offset(), "earliest after DeleteRecords");
            expectFailure(a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(11))).all(),
                    org.apache.kafka.common.errors.OffsetOutOfRangeException.class, "delete beyond the high watermark");

            Map<Integer, Map<String, LogDirDescription>> dirs = a.describeLogDirs(List.of(1)).allDescriptions()
                    .get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            boolean found = dirs.get(1).values().stream().anyMatch(dd -> dd.replicaInfos().containsKey(tp) && dd.replicaInfos().get(tp).size() > 0);
            check(found, "describeLogDirs lists " + tp + " with a size: " + dirs);

            Uuid id = a.describeTopics(List.of(t)).allTopicNames().get().get(t).topicId();
            a.deleteTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id))).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            check(!a.listTopics().names().get().contains(t), t + " deleted by id");
        }
    }

    /** CreateTopics validate-only and explicit replica assignments. */
    /** ElectLeaders on one node: the preferred replica already leads, an unknown topic fails. */
    static void adminElectLeaders() throws Exception {
        String topic = uniqueTopic("java-elect");
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            TopicPartition tp = new TopicPartition(topic, 0);
            Map<TopicPartition, Optional<Throwable>> one = admin
                .electLeaders(org.apache.kafka.common.ElectionType.PREFERRED, Set.of(tp))
                .partitions().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            eq(Set.of(tp), one.keySet(), "partitions in the result");
            check(one.get(tp).isPresent()
                    && one.get(tp).get() instanceof org.apache.kafka.common.errors.ElectionNotNeededException,
                "preferred election of a partition its preferred replica leads: " + one);
            Map<TopicPartition, Optional<Throwable>> all = admin
                .electLeaders(org.apache.kafka.common.ElectionType.PREFERRED, null)
                .partitions().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            eq(Map.of(), all, "an election over all partitions lists only those that needed one");
            TopicPartition missing = new TopicPartition(uniqueTopic("java-no-such"), 0);
            Map<TopicPartition, Optional<Throwable>> unknown = admin
                .electLeaders(org.apache.kafka.common.ElectionType.UNCLEAN, Set.of(missing))
                .partitions().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            check(unknown.get(missing) != null && unknown.get(missing).isPresent()
                    && unknown.get(missing).get() instanceof UnknownTopicOrPartitionException,
                "unclean election of an unknown topic: " + unknown);
        }
    }

    static void adminCreateOptions() throws Exception {
        String t = uniqueTopic("java-validate");
        try (Admin a = admin()) {
            a.createTopics(List.of(new NewTopic(t, 4, (short) 1)), new CreateTopicsOptions().validateOnly(true))
                    .all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            check(!a.listTopics().names().get().contains(t), "validateOnly must not create " + t);
            a.createTopics(List.of(new NewTopic(t, Map.of(0, List.of(1), 1, List.of(1)))))
                    .all().get(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            TopicDescription d = a.describeTopics(List.of(t)).allTopicNames().get().get(t);
            eq(2, d.partitions().size(), "partitions from explicit assignment");
            expectFailure(a.createTopics(List.of(new NewTopic(t + "-x", Map.of(0, List.of(7))))).all(),
                    org.apache.kafka.common.errors.InvalidReplicaAssignmentException.class, "assignment to an unknown broker");
        }
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: StrataClientTest <bootstrap> [test-name-substring]");
            System.exit(2);
        }
        bootstrap = args[0];
        String filter = args.length > 1 ? args[1] : null;
        run(filter, "admin: create/describe/list/grow/delete topics and errors", StrataClientTest::adminTopics);
        run(filter, "producer: idempotent default, acks=all, murmur2 keyed placement", StrataClientTest::idempotentDefaultProducerKeyedRecords);
        run(filter, "producer: acks=1 without idempotence", StrataClientTest::acks1WithoutIdempotence);
        run(filter, "admin: describe/alter/incremental-alter configs", StrataClientTest::adminConfigs);
        run(filter, "admin: list offsets, delete records, log dirs, delete by id", StrataClientTest::adminOffsetsAndRecords);
        run(filter, "admin: validate-only and explicit assignments", StrataClientTest::adminCreateOptions);
        run(filter, "admin: elect leaders (preferred, unclean, errors)", StrataClientTest::adminElectLeaders);
        for (String c : List.of("gzip", "snappy", "lz4", "zstd")) {
            run(filter, "codec: " + c + " with headers and timestamps", () -> codec(c));
        }
        for (String c : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            run(filter, "compacted topic: keyless records refused, " + c, () -> compactedTopicKeys(c));
        }
        if (!failedNames.isEmpty()) System.out.println("failed: " + failedNames);
        System.out.println("java: " + passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
