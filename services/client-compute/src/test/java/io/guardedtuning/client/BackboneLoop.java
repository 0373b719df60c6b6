package io.guardedtuning.client;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.session.BackboneEndpoint;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.testing.TestKafka;
import io.guardedtuning.testing.TinyModels;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** The provider's side as server-compute runs it, on a test thread: up topics in, answers out. */
final class BackboneLoop implements AutoCloseable {

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread thread;

    BackboneLoop(String masterKeyHex, int k) {
        Split split = Split.of(k, TinyModels.CONFIG);
        OptModel trunk = OptModel.fromTensors(TinyModels.CONFIG, TinyModels.weights(split.backbone()));
        BackboneEndpoint endpoint = new BackboneEndpoint(new BackboneServer(trunk, split, 8),
                SessionKeys.fromHex(masterKeyHex), WireLimits.chunkedDefaults(), "server-test", Clock.systemUTC());
        thread = new Thread(() -> {
            try (KafkaConsumer<String, byte[]> c = TestKafka.consumer("server-compute");
                 KafkaProducer<String, byte[]> p = TestKafka.producer()) {
                c.subscribe(List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP));
                while (running.get()) {
                    c.poll(Duration.ofMillis(50)).forEach(r -> endpoint.handle(r).forEach(p::send));
                    p.flush();
                }
            } finally {
                trunk.close();
            }
        }, "test-backbone");
        thread.start();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(10_000);
    }
}
