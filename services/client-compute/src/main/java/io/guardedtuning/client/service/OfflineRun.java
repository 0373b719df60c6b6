package io.guardedtuning.client.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.offline.EmulatorRequest;
import io.guardedtuning.offline.OfflineClient;
import io.guardedtuning.offline.OfflineTransport;
import io.guardedtuning.offline.PackageRejectedException;
import io.guardedtuning.service.messaging.KafkaPublisher;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.storage.AtomicFiles;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One Offline run: ask the provider for an emulator of the backbone, receive the signed package on the session's
 * down topic, tune the adapters around the frozen emulator locally, and send only the adapters back. Nothing
 * crosses per step. The received package is kept in the checkpoint directory, so a restarted client does not need
 * it again (if it had not arrived yet, the new request makes the provider send it again).
 */
public final class OfflineRun {

    private static final Logger LOG = Logger.getLogger(OfflineRun.class);
    private static final String PACKAGE_FILE = "emulator-package.bin";
    private static final Duration SEND_TIMEOUT = Duration.ofMinutes(2);

    private final ClientSettings settings;
    private final KafkaPublisher publisher;
    private final SplitRun.Listener listener;
    private final OfflineTransport.Receiver receiver;
    private final CompletableFuture<byte[]> received = new CompletableFuture<>();
    private final AtomicLong bytesUp = new AtomicLong();
    private final AtomicLong messagesUp = new AtomicLong();
    private final AtomicLong bytesDown = new AtomicLong();
    private final AtomicLong messagesDown = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();

    public OfflineRun(ClientSettings settings, KafkaPublisher publisher, SplitRun.Listener listener) {
        this.settings = settings;
        this.publisher = publisher;
        this.listener = listener;
        this.receiver = new OfflineTransport.Receiver(settings.key(), EventKind.PACKAGE_CHUNK);
    }

    /** A record of the session's down topic (consumer thread): package chunks; anything else is dead-lettered. */
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        bytesDown.addAndGet(record.serializedValueSize() < 0 ? 0 : record.serializedValueSize());
        messagesDown.incrementAndGet();
        try {
            receiver.offer(record).ifPresent(event -> received.complete(event.payload()));
        } catch (OfflineTransport.RejectedRecordException e) {
            rejected.incrementAndGet();
            LOG.warnf("dead-lettering a record of %s: %s", record.topic(), e.getMessage());
            publisher.send(List.of(DeadLetters.record(Topics.DEAD_LETTER, record, e.verdict())));
        }
    }

    /** Traffic so far, in the split designs' terms (nothing is retried or resent here). */
    public RemoteBackboneLink.Stats stats() {
        return new RemoteBackboneLink.Stats(bytesUp.get(), messagesUp.get(), bytesDown.get(), messagesDown.get(),
                0, 0, 0, rejected.get());
    }

    /** Runs the session and returns its summary; throws when it cannot finish (a refused package included). */
    public ObjectNode run(ObjectNode summary) throws IOException, InterruptedException {
        SessionSettings s = settings.session();
        long wallStart = System.nanoTime();
        listener.phase(SessionProgress.Phase.LOADING);
        ClientTask data = ClientTask.load(settings);
        int middle = s.split(data.config()).trunkLayers();
        ClientSettings.Offline o = settings.offline();
        int keptLayers = o.keptLayers() > 0 ? o.keptLayers() : Math.max(1, middle / 2);
        data.describe(summary);

        Optional<Path> kept = settings.checkpointDir().map(d -> d.resolve(PACKAGE_FILE));
        boolean reused = kept.isPresent() && Files.isRegularFile(kept.get());
        byte[] pkg;
        if (reused) {
            pkg = Files.readAllBytes(kept.get());
            LOG.infof("using the package received before the restart (%s)", kept.get());
        } else {
            listener.phase(SessionProgress.Phase.AWAITING_PACKAGE);
            pkg = requestPackage(keptLayers, middle);
            if (kept.isPresent()) {
                AtomicFiles.write(kept.get(), pkg);
            }
        }

        OfflineClient.Settings tuning = new OfflineClient.Settings(new TaskFinetuner.Settings(s.epochs(),
                s.batchSize(), s.learningRate(), 0f, s.seed()), data.encoder().maxTokens(), settings.evalBatchSize(),
                s.maxSteps());
        listener.totalSteps(tuning.steps(data.train().size()));
        listener.phase(SessionProgress.Phase.TRAINING);
        OfflineClient.Outcome outcome;
        try {
            outcome = OfflineClient.tune(pkg, settings.offline().providerKey(), settings.key(), data.tokenizer(),
                    data.train(), data.test(), tuning, step -> listener.step(step.step(), step.loss()));
        } catch (PackageRejectedException e) {
            if (reused) {
                Files.deleteIfExists(kept.get());   // a kept package that no longer verifies is not kept
            }
            throw new IOException("the emulator package was refused (" + e.reason() + "): " + e.getMessage()
                    + "; nothing was trained or sent", e);
        }

        listener.phase(SessionProgress.Phase.SENDING_ADAPTERS);
        publisher.sendAndAwait(outcome.records(), SEND_TIMEOUT);
        outcome.records().forEach(r -> {
            bytesUp.addAndGet(r.value().length);
            messagesUp.incrementAndGet();
        });
        OfflineClient.Summary t = outcome.summary();
        summary.putObject("accuracyBefore").put("acc", t.accuracyBefore()).put("examples", data.test().size())
                .put("model", "emulator with the provider's adapters");
        summary.putObject("accuracyAfter").put("acc", t.accuracyAfter()).put("examples", data.test().size())
                .put("model", "emulator with the tuned adapters");
        summary.put("steps", t.steps()).put("resumedFromStep", 0)
                .put("firstLoss", t.losses().isEmpty() ? Double.NaN : t.losses().get(0))
                .put("lastLoss", t.losses().isEmpty() ? Double.NaN : t.losses().get(t.losses().size() - 1));
        t.losses().forEach(summary.putArray("losses")::add);
        summary.put("clientComputeMillis", t.computeMillis()).put("adaptersSha256", t.adaptersSha256());
        long steps = Math.max(1, t.steps());
        // Offline bytes are one-time; per step they are amortised over the run for comparison with the split designs.
        summary.putObject("bytesPerStep").put("up", t.adapterBytes() / steps).put("down", pkg.length / steps);
        summary.putObject("offline").put("packageDigest", t.packageDigest()).put("packageBytes", pkg.length)
                .put("adapterBytes", t.adapterBytes()).put("packageReused", reused)
                .put("keptLayers", keptLayers).put("middleLayers", middle);
        summary.put("wallMillis", (System.nanoTime() - wallStart) / 1_000_000);
        return summary;
    }

    /** Sends the build request and waits for the whole package on the down topic. */
    private byte[] requestPackage(int keptLayers, int middleLayers) throws IOException, InterruptedException {
        ClientSettings.Offline o = settings.offline();
        EmulatorRequest request = EmulatorRequest.build(settings.session().sessionId(), settings.session().k(),
                keptLayers, o.distilSteps(), o.discloseTask() ? settings.taskName() : null);
        // Signed with the session key; the send time makes a replay of it stale at the provider.
        publisher.sendAndAwait(request.records(settings.key(), settings.producerId(), System.currentTimeMillis()),
                SEND_TIMEOUT);
        LOG.infof("asked the provider for an emulator keeping %d of %d middle blocks (%d distillation steps)",
                keptLayers, middleLayers, o.distilSteps());
        try {
            return received.get(o.packageTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("no emulator package arrived on " + settings.downTopic() + " within "
                    + o.packageTimeout() + " (gt.client.offline.package-timeout); is emulator-distillation running, "
                    + "and did it refuse the job? See its GET /jobs/" + request.session(), e);
        } catch (ExecutionException e) {
            throw new IOException("receiving the emulator package failed", e.getCause());
        }
    }
}
