package io.guardedtuning.faults;

import io.guardedtuning.faults.SplitSessionFixture.ClientRun;
import io.guardedtuning.faults.SplitSessionFixture.LinkSetup;
import io.guardedtuning.faults.SplitSessionFixture.ServerReplica;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.kafka.EmbeddedKafkaExtension;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.Precision;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.WireHeaders;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static io.guardedtuning.faults.SplitSessionFixture.CONFIG;
import static io.guardedtuning.faults.SplitSessionFixture.LIMITS;
import static io.guardedtuning.faults.SplitSessionFixture.assertSameRun;
import static io.guardedtuning.faults.SplitSessionFixture.header;
import static io.guardedtuning.faults.SplitSessionFixture.online;
import static io.guardedtuning.faults.SplitSessionFixture.runInProcess;
import static io.guardedtuning.faults.SplitSessionFixture.runOverKafka;
import static io.guardedtuning.faults.SplitSessionFixture.sessionId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two sessions at once on one server while a third party, who knows the session ids but not the master secret,
 * forges events into both directions of both sessions and replays the events it captures on the up topics.
 */
@ExtendWith(EmbeddedKafkaExtension.class)
class SessionIsolationTest {

    private static final SessionKeys FORGER_KEYS = new SessionKeys("a forger's guess at the master secret!!"
            .getBytes(StandardCharsets.UTF_8));

    @Test
    void forgedAndReplayedEventsAreAllRejectedAndNeitherSessionIsAffected(EmbeddedKafkaBroker broker)
            throws Exception {
        SessionSettings first = online(sessionId("iso-a"), 6, 1);
        SessionSettings second = online(sessionId("iso-b"), 6, 2);
        ClientRun firstReference = runInProcess(first);
        ClientRun secondReference = runInProcess(second);
        List<String> sessions = List.of(first.sessionId(), second.sessionId());

        AtomicLong forgedUp = new AtomicLong();
        AtomicLong forgedDown = new AtomicLong();
        AtomicLong replayed = new AtomicLong();
        AtomicBoolean attacking = new AtomicBoolean(true);
        ExecutorService threads = Executors.newFixedThreadPool(3);
        try (ServerReplica server = new ServerReplica(broker, "iso-server")) {
            Future<?> forger = threads.submit(() -> {
                forge(broker, sessions, attacking, forgedUp, forgedDown, replayed);
                return null;
            });
            Future<ClientRun> a = threads.submit(() -> runOverKafka(broker, first, LinkSetup.patient()));
            Future<ClientRun> b = threads.submit(() -> runOverKafka(broker, second, LinkSetup.patient()));
            ClientRun firstRun = a.get(180, TimeUnit.SECONDS);
            ClientRun secondRun = b.get(180, TimeUnit.SECONDS);
            attacking.set(false);
            forger.get(30, TimeUnit.SECONDS);

            assertSameRun(firstReference, firstRun);
            assertSameRun(secondReference, secondRun);
            assertTrue(firstRun.link().rejected() > 0 && secondRun.link().rejected() > 0,
                    "forged answers reached both clients and were refused");
            assertTrue(forgedUp.get() > 0 && replayed.get() > 0, forgedUp + " forged, " + replayed + " replayed");
            // Every forged request failed its MAC, every replay was refused as seen or stale, and nothing else.
            long deadline = System.currentTimeMillis() + 30_000;
            Map<RejectReason, Long> rejected = server.endpoint().rejections();
            while (System.currentTimeMillis() < deadline && total(rejected) < forgedUp.get() + replayed.get()) {
                Thread.sleep(200);
                rejected = server.endpoint().rejections();
            }
            assertEquals(forgedUp.get(), rejected.getOrDefault(RejectReason.BAD_MAC, 0L), rejected.toString());
            assertEquals(replayed.get(), rejected.getOrDefault(RejectReason.REPLAYED, 0L)
                    + rejected.getOrDefault(RejectReason.STALE_STEP, 0L), rejected.toString());
            assertEquals(forgedUp.get() + replayed.get(), total(rejected), rejected.toString());
        } finally {
            attacking.set(false);
            threads.shutdownNow();
        }
    }

    private static long total(Map<RejectReason, Long> counts) {
        return counts.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Until told to stop: forged activations both ways for both sessions, and replays of what passes by. */
    private static void forge(EmbeddedKafkaBroker broker, List<String> sessions, AtomicBoolean attacking,
                              AtomicLong forgedUp, AtomicLong forgedDown, AtomicLong replayed) throws Exception {
        HostTensor junk = new HostTensor(new long[] {1, 4, CONFIG.hiddenSize()}, new float[4 * CONFIG.hiddenSize()]);
        try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer(broker.bootstrapServers(), LIMITS);
             KafkaConsumer<String, byte[]> tap = PlainKafkaTransport.consumer(broker.bootstrapServers(), LIMITS,
                     "forger-" + UUID.randomUUID(), "latest")) {
            tap.subscribe(List.of(Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP));
            Set<String> replayedIds = new HashSet<>();
            long step = 0;
            while (attacking.get()) {
                for (String session : sessions) {
                    TensorEventWriter writer = new TensorEventWriter("forger", FORGER_KEYS.forSession(session), LIMITS);
                    var up = writer.tensorEvent(EventKind.ACTIVATION_UP, step, 0, 0,
                            SplitProtocol.activationAttributes(new long[] {4}, true, 32, SplitProtocol.TRAIN, 0f), junk, Precision.activations(32));
                    writer.records(Topics.ACTIVATIONS_UP, up).forEach(producer::send);
                    forgedUp.incrementAndGet();
                    var down = writer.tensorEvent(EventKind.ACTIVATION_DOWN, step, 0, 0, Map.of(), junk,
                            Precision.activations(32));
                    writer.records(Topics.sessionDown(session), down).forEach(producer::send);
                    forgedDown.incrementAndGet();
                }
                step++;
                for (ConsumerRecord<String, byte[]> r : tap.poll(Duration.ofMillis(300))) {
                    // Each captured event once: the tap sees the replays too.
                    if (sessions.contains(r.key()) && !"forger".equals(header(r, WireHeaders.SOURCE))
                            && replayedIds.add(header(r, WireHeaders.ID))) {
                        producer.send(new ProducerRecord<>(r.topic(), null, r.key(), r.value(), r.headers()));
                        replayed.incrementAndGet();
                    }
                }
                producer.flush();
            }
        }
    }
}
