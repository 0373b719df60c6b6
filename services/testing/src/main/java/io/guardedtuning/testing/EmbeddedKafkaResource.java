package io.guardedtuning.testing;

import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.WireLimits;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/**
 * A real single-node KRaft broker from Kafka's own jars for {@code @QuarkusTest}s (attach with
 * {@code @WithTestResource(EmbeddedKafkaResource.class)}); no Docker. One broker per JVM, shared by the test classes
 * that use it; the shared topics are created up front so the first message does not wait for auto-creation.
 */
public final class EmbeddedKafkaResource implements QuarkusTestResourceLifecycleManager {

    private static EmbeddedKafkaBroker broker;

    /** The running broker, for tests that produce or consume directly. */
    public static synchronized EmbeddedKafkaBroker broker() {
        if (broker == null) {
            broker = EmbeddedKafkaBroker.inTemporaryDirectory().start();
            broker.createTopics(WireLimits.chunkedDefaults().topicConfig(), Topics.shared().toArray(String[]::new));
            Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "embedded-kafka-stop"));
        }
        return broker;
    }

    @Override
    public Map<String, String> start() {
        return Map.of("kafka.bootstrap.servers", broker().bootstrapServers());
    }

    @Override
    public void stop() {
        // Kept for the next test class in this JVM; stopped by the shutdown hook.
    }
}
