package io.guardedtuning.benchmarks;

import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One fp32 activation event produced, consumed, verified, reassembled and decoded on the embedded broker, acks=all:
 * chunks under Kafka's default 1 MiB limit vs one record with every limit raised to fit.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class KafkaTransferBenchmark {

    @Param({"1", "8", "32"})
    public int sizeMiB;

    @Param({"chunked", "raised"})
    public String strategy;

    private EmbeddedKafkaBroker broker;
    private KafkaProducer<String, byte[]> producer;
    private KafkaConsumer<String, byte[]> consumer;
    private TensorEventWriter writer;
    private TensorEventVerifier verifier;
    private HostTensor tensor;
    private String topic;
    private long step;

    @Setup
    public void setUp() {
        WireLimits limits = strategy.equals("chunked") ? WireLimits.chunkedDefaults()
                : WireLimits.singleRecord((sizeMiB << 20) + (1 << 20));
        broker = EmbeddedKafkaBroker.inTemporaryDirectory().start();
        topic = "activations-" + sizeMiB + "-" + strategy;
        broker.createTopics(limits.topicConfig(), topic);
        Map<String, Object> producerConfig = new HashMap<>(limits.producerProperties());
        producerConfig.put("bootstrap.servers", broker.bootstrapServers());
        producer = new KafkaProducer<>(producerConfig, new StringSerializer(), new ByteArraySerializer());
        Map<String, Object> consumerConfig = new HashMap<>(limits.consumerProperties());
        consumerConfig.put("bootstrap.servers", broker.bootstrapServers());
        consumerConfig.put("group.id", "benchmark");
        consumer = new KafkaConsumer<>(consumerConfig, new StringDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        SessionKey session = SessionKey.random("benchmark");
        writer = new TensorEventWriter("benchmark", session, limits);
        verifier = new TensorEventVerifier(session, EnumSet.of(EventKind.ACTIVATION_UP), limits, Clock.systemUTC());
        tensor = SyntheticActivations.activation(new long[] {sizeMiB * 128L, 2048}, 2);
        roundTrip(); // joins the group before measuring
    }

    @Benchmark
    public HostTensor roundTrip() {
        for (ProducerRecord<String, byte[]> r : writer.records(topic, writer.tensorEvent(EventKind.ACTIVATION_UP,
                ++step, 0, tensor, CodecSpec.of(CodecFormat.FP32)))) {
            producer.send(r);
        }
        producer.flush();
        while (true) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                Verdict verdict = verifier.verify(r);
                if (verdict instanceof Verdict.Accepted accepted) {
                    return accepted.tensor().orElseThrow();
                }
                if (verdict instanceof Verdict.Rejected rejected) {
                    throw new IllegalStateException(rejected.toString());
                }
            }
        }
    }

    @TearDown
    public void tearDown() {
        consumer.close();
        producer.close();
        broker.stop();
    }
}
