package io.guardedtuning.offline;

import io.guardedtuning.data.McExample;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.offline.PackageRejectedException.Reason;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEvent;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.security.KeyPair;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OfflineFlowTest {

    private static final OptConfig CONFIG = TinyOffline.config();
    private static final Split SPLIT = Split.of(1, CONFIG);
    private static final EmulatorLayout LAYOUT = EmulatorLayout.uniform(SPLIT, 2);
    private static final KeyPair PROVIDER = ProviderKeys.generate();

    private static EmulatorBuilder.Emulator emulator(long seed) {
        return EmulatorBuilder.build(CONFIG, OptModel.randomTensors(CONFIG, seed, n -> true), LAYOUT);
    }

    @Test
    void signedPackageRoundTripsAndRejectsTamperingForeignSessionsAndOtherSigners() throws Exception {
        EmulatorBuilder.Emulator e = emulator(1);
        byte[] pkg = EmulatorPackage.create("s-1", e, PROVIDER.getPrivate());

        EmulatorPackage.Verified ok = EmulatorPackage.verify(pkg, PROVIDER.getPublic(), "s-1");
        assertEquals("s-1", ok.manifest().sessionId());
        assertEquals(LAYOUT, ok.manifest().layout());
        assertEquals(e.config(), ok.manifest().emulatorConfig());
        assertEquals(e.tensors(), ok.tensors());

        assertEquals(Reason.WRONG_SESSION, reject(pkg, "s-2").reason());
        byte[] tensorFlip = pkg.clone();
        tensorFlip[pkg.length - 3] ^= 1;
        assertEquals(Reason.DIGEST_MISMATCH, reject(tensorFlip, "s-1").reason());
        byte[] manifestEdit = new String(pkg, java.nio.charset.StandardCharsets.ISO_8859_1)
                .replaceFirst("\"s-1\"", "\"s-2\"").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertEquals(Reason.BAD_SIGNATURE, reject(manifestEdit, "s-2").reason());
        assertEquals(Reason.MALFORMED, reject(Arrays.copyOf(pkg, 20), "s-1").reason());
        byte[] otherSigner = EmulatorPackage.create("s-1", e, ProviderKeys.generate().getPrivate());
        assertEquals(Reason.BAD_SIGNATURE, reject(otherSigner, "s-1").reason());
        PackageRejectedException ex = reject(pkg, "s-2");
        assertTrue(ex.getMessage().contains("issued to session 's-1'"), ex.getMessage());
    }

    @Test
    void keysRoundTripThroughTheirBase64Form() {
        assertArrayEquals(PROVIDER.getPublic().getEncoded(),
                ProviderKeys.publicKey(ProviderKeys.toBase64(PROVIDER.getPublic())).getEncoded());
        assertArrayEquals(PROVIDER.getPrivate().getEncoded(),
                ProviderKeys.privateKey(ProviderKeys.toBase64(PROVIDER.getPrivate())).getEncoded());
    }

    @Test
    void offlineFlowBuildPackageTuneOnTheEmulatorAndPlugInImprovesTheTask() throws Exception {
        List<McExample> train = TinyOffline.task(36);
        SessionKey key = SessionKey.random("s-flow");
        try (OptModel full = OptModel.random(CONFIG, 7)) {
            EmulatorBuilder.Emulator emulator = EmulatorBuilder.build(full, LAYOUT);
            double fullBefore = TinyOffline.evaluator().evaluate(full::logits, train).accuracy();

            // Provider → client: chunked, HMAC'd package events; client reassembles and tunes.
            byte[] pkg = EmulatorPackage.create(key.sessionId(), emulator, PROVIDER.getPrivate());
            byte[] received = deliver(OfflineTransport.packageRecords(key, "emulator-distillation", pkg),
                    new OfflineTransport.Receiver(key, EventKind.PACKAGE_CHUNK)).payload();
            OfflineClient.Settings settings = new OfflineClient.Settings(
                    new TaskFinetuner.Settings(6, 6, 1e-2f, 0f, 5), 32, 16);
            OfflineClient.Outcome out = OfflineClient.tune(received, PROVIDER.getPublic(), key,
                    TinyOffline.VOCAB.tokenizer(), train, List.of(), settings);
            assertTrue(out.summary().accuracyAfter() >= 0.9, out.summary().toString());
            assertEquals(EmulatorPackage.sha256(pkg), out.summary().packageDigest());

            // Client → provider: the adapter event, verified, bound to the package, plugged in.
            TensorEvent adapterEvent = deliver(out.records(), new OfflineTransport.Receiver(key, EventKind.ADAPTER));
            assertEquals(EmulatorPackage.sha256(pkg), adapterEvent.metadata().attribute(OfflineTransport.PACKAGE_ATTRIBUTE));
            Map<String, HostTensor> adapters = TensorBytes.decode(adapterEvent.payload());
            PlugIn.install(full, SPLIT, adapters);
            try (OptModel tunedEmulator = EmulatorBuilder.build(full, LAYOUT).toModel()) {
                EmulatorGap gap = EmulatorGap.measure(tunedEmulator, full, TinyOffline.evaluator(), train,
                        TinyOffline.publicText(4, 16, 0), 4);
                assertTrue(gap.plugInAccuracy() >= fullBefore + 0.3, fullBefore + " -> " + gap);
                assertEquals(out.summary().accuracyAfter(), gap.emulatorAccuracy(), 1e-9);
            }
        }
    }

    @Test
    void plugInRefusesTensorsThatAreNotExactlyTheAdapters() {
        try (OptModel full = OptModel.random(CONFIG, 8)) {
            Map<String, HostTensor> adapters = full.toTensors(SPLIT.adapters());
            Map<String, HostTensor> withBackbone = new java.util.LinkedHashMap<>(adapters);
            String middle = io.guardedtuning.model.OptParameters.layer(2) + "fc1.weight";
            withBackbone.put(middle, full.toTensors(middle::equals).get(middle));
            PackageRejectedException e = assertThrows(PackageRejectedException.class,
                    () -> PlugIn.install(full, SPLIT, withBackbone));
            assertTrue(e.getMessage().contains(middle), e.getMessage());
            Map<String, HostTensor> partial = new java.util.LinkedHashMap<>(adapters);
            partial.remove(partial.keySet().iterator().next());
            assertEquals(Reason.NOT_AN_ADAPTER, assertThrows(PackageRejectedException.class,
                    () -> PlugIn.install(full, SPLIT, partial)).reason());
        }
    }

    @Test
    void eventsOfAnotherSessionAreRejectedOnTheWire() {
        SessionKey mine = SessionKey.random("s-a");
        SessionKey theirs = SessionKey.random("s-b");
        byte[] pkg = EmulatorPackage.create("s-b", emulator(2), PROVIDER.getPrivate());
        ProducerRecord<String, byte[]> record = OfflineTransport.packageRecords(theirs, "p", pkg).get(0);
        OfflineTransport.RejectedRecordException e = assertThrows(OfflineTransport.RejectedRecordException.class,
                () -> new OfflineTransport.Receiver(mine, EventKind.PACKAGE_CHUNK)
                        .offer(record.key(), record.headers(), record.value()));
        assertEquals(RejectReason.WRONG_SESSION, e.verdict().reason());
    }

    private static PackageRejectedException reject(byte[] pkg, String session) {
        return assertThrows(PackageRejectedException.class,
                () -> EmulatorPackage.verify(pkg, PROVIDER.getPublic(), session));
    }

    private static TensorEvent deliver(List<ProducerRecord<String, byte[]>> records,
                                       OfflineTransport.Receiver receiver) throws Exception {
        Optional<TensorEvent> whole = Optional.empty();
        for (ProducerRecord<String, byte[]> r : records) {
            whole = receiver.offer(r.key(), r.headers(), r.value());
        }
        return whole.orElseThrow();
    }
}
