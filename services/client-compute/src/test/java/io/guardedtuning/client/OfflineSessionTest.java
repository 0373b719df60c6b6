package io.guardedtuning.client;

import com.fasterxml.jackson.databind.JsonNode;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.Split;
import io.guardedtuning.offline.EmulatorBuilder;
import io.guardedtuning.offline.EmulatorLayout;
import io.guardedtuning.offline.EmulatorPackage;
import io.guardedtuning.offline.EmulatorRequest;
import io.guardedtuning.offline.OfflineTransport;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.offline.TensorBytes;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.testing.TestKafka;
import io.guardedtuning.testing.TinyModelResource;
import io.guardedtuning.testing.TinyModels;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * client-compute in the Offline design on the embedded broker, with the test playing the provider: the client asks
 * for an emulator, ignores a tampered chunk (dead-lettered), verifies the signed package, tunes locally and sends
 * back only adapters bound to that package. No activation or gradient crosses.
 */
@QuarkusTest
@TestProfile(OfflineSessionTest.Offline.class)
@WithTestResource(EmbeddedKafkaResource.class)
@WithTestResource(value = TinyModelResource.class,
        initArgs = @ResourceArg(name = TinyModelResource.PROPERTY, value = "gt.client.model"))
class OfflineSessionTest extends SplitSessionTest {

    /** A fixed Ed25519 pair: the profile and the test may see different class loaders, never different keys. */
    static final String PROVIDER_PRIVATE = "MC4CAQAwBQYDK2VwBCIEII4fgl3LY9VdEnK+o3zFLTTdipITTa8+V7HFk/Ot7kRb";
    static final String PROVIDER_PUBLIC = "MCowBQYDK2VwAyEAiapcDu4Com3E9c5Z+qdODWYHyb7i3gZP3Kc0mg5Mvyc=";

    public static class Offline extends Profile {
        @Override
        Map<String, String> design() {
            Map<String, String> c = new HashMap<>();
            c.put("gt.client.session-id", "offline-test");
            c.put("gt.client.design", "offline");
            c.put("gt.client.learning-rate", "1e-2");
            c.put("gt.client.offline.provider-public-key", PROVIDER_PUBLIC);
            c.put("gt.client.offline.package-timeout", "2m");
            return c;
        }
    }

    @Test
    @Override
    void sessionRunsToTheEnd() throws Exception {
        SessionKey key = SessionKeys.fromHex(MASTER_KEY).forSession(session);
        List<EmulatorRequest> requests = new CopyOnWriteArrayList<>();
        List<String> deadLetterReasons = new CopyOnWriteArrayList<>();
        List<ConsumerRecord<String, byte[]>> adapterRecords = new CopyOnWriteArrayList<>();
        String[] digest = new String[1];
        JsonNode summary;
        try (KafkaProducer<String, byte[]> producer = TestKafka.producer();
             AutoCloseable provider = TestKafka.poll(List.of(Topics.EMULATOR_REQUESTS, Topics.ADAPTERS_UP,
                     Topics.DEAD_LETTER), r -> {
                 if (!session.equals(r.key())) {
                     return;
                 }
                 switch (r.topic()) {
                     case Topics.EMULATOR_REQUESTS -> {
                         EmulatorRequest request = verified(key, r);
                         requests.add(request);
                         byte[] pkg = providerPackage(request);
                         digest[0] = EmulatorPackage.sha256(pkg);
                         List<ProducerRecord<String, byte[]>> records = OfflineTransport.packageRecords(key,
                                 "emulator-distillation", pkg);
                         producer.send(tampered(records.get(0)));
                         records.forEach(producer::send);
                         producer.flush();
                     }
                     case Topics.ADAPTERS_UP -> adapterRecords.add(r);
                     default -> deadLetterReasons.add(new String(r.headers().lastHeader(DeadLetters.REASON).value(),
                             StandardCharsets.UTF_8));
                 }
             })) {
            summary = runSession();
            awaitUntil(() -> !deadLetterReasons.isEmpty() && !adapterRecords.isEmpty());
        }

        assertEquals(1, requests.size(), requests.toString());
        EmulatorRequest request = requests.get(0);
        assertEquals(2, request.k());
        assertEquals(1, request.keptLayers(), "default: half of the two middle blocks");
        assertTrue(request.task().startsWith("arc:"), "the task is named when disclose-task is on");
        assertEquals(List.of("BAD_MAC"), deadLetterReasons, "the tampered chunk is dead-lettered, nothing else");

        // What came back: one authentic ADAPTER event, bound to the package, holding exactly the adapters.
        OfflineTransport.Receiver receiver = new OfflineTransport.Receiver(key, EventKind.ADAPTER);
        Optional<TensorEvent> event = Optional.empty();
        for (ConsumerRecord<String, byte[]> r : adapterRecords) {
            Optional<TensorEvent> whole = receiver.offer(r);
            if (whole.isPresent()) {
                event = whole;
            }
        }
        assertTrue(event.isPresent(), "the adapter event is complete");
        assertEquals(digest[0], event.get().metadata().attribute(OfflineTransport.PACKAGE_ATTRIBUTE));
        Map<String, HostTensor> adapters = TensorBytes.decode(event.get().payload());
        Split split = Split.of(2, TinyModels.CONFIG);
        assertEquals(new java.util.TreeSet<>(Split.select(TinyModels.weights().keySet(), split.adapters())),
                new java.util.TreeSet<>(adapters.keySet()));

        assertEquals(digest[0], summary.path("offline").path("packageDigest").asText());
        assertFalse(summary.path("offline").path("packageReused").asBoolean());
        assertEquals(16, summary.path("steps").asInt());
        assertEquals(16, summary.path("losses").size());
        assertTrue(summary.path("accuracyAfter").path("acc").asDouble()
                >= summary.path("accuracyBefore").path("acc").asDouble(), summary.toPrettyString());
        assertTrue(summary.path("lastLoss").asDouble() < summary.path("firstLoss").asDouble(), summary.toString());
        assertEquals(summary.path("offline").path("adapterBytes").asLong(), summary.path("link").path("bytesUp")
                .asLong());
        assertEquals(1, summary.path("link").path("rejected").asLong());
        List<String> kinds = TestKafka.kindsOf(session, 3000);
        assertFalse(TestKafka.containsKind(kinds, EventKind.ACTIVATION_UP), "an activation crossed: " + kinds);
        assertNoGradients(kinds);
    }

    /** The request as emulator-distillation reads it: only after it verified under the session key. */
    private static EmulatorRequest verified(SessionKey key, ConsumerRecord<String, byte[]> record) {
        try {
            return EmulatorRequest.verify(key, record).request();
        } catch (OfflineTransport.RejectedRecordException e) {
            throw new AssertionError("client-compute sent a request that does not verify: " + e.getMessage(), e);
        }
    }

    /** What emulator-distillation would release: the tiny model's middle, layer-dropped, signed for the session. */
    private byte[] providerPackage(EmulatorRequest request) {
        PrivateKey signing = ProviderKeys.privateKey(PROVIDER_PRIVATE);
        EmulatorLayout layout = EmulatorLayout.uniform(Split.of(request.k(), TinyModels.CONFIG), request.keptLayers());
        return EmulatorPackage.create(request.session(),
                EmulatorBuilder.build(TinyModels.CONFIG, TinyModels.weights(), layout), signing);
    }

    private static ProducerRecord<String, byte[]> tampered(ProducerRecord<String, byte[]> r) {
        byte[] flipped = r.value().clone();
        flipped[flipped.length / 3] ^= 1;
        return new ProducerRecord<>(r.topic(), null, r.key(), flipped, r.headers());
    }

    private static void awaitUntil(java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 30_000;
        while (!done.getAsBoolean() && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
    }
}
