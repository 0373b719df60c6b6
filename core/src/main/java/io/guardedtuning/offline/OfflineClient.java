package io.guardedtuning.offline;

import io.guardedtuning.data.McExample;
import io.guardedtuning.eval.McEncoder;
import io.guardedtuning.eval.MultipleChoiceEvaluator;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.TensorDigest;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.StepResult;
import io.guardedtuning.train.TaskFinetuner;
import io.guardedtuning.wire.SessionKey;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.security.PublicKey;
import java.util.List;
import java.util.function.Consumer;

/**
 * The client's whole part in the Offline design, for the client-compute service: verify the received package,
 * tune the emulator's adapters on the private task, and produce the ADAPTER records to send back.
 *
 * <pre>{@code
 * byte[] pkg = ...;                                  // reassembled from Topics.sessionDown(id), see OfflineTransport.Receiver
 * OfflineClient.Outcome out = OfflineClient.tune(pkg, providerPublicKey, sessionKey, tokenizer, train, eval,
 *         OfflineClient.Settings.defaults());
 * out.records().forEach(producer::send);             // to Topics.ADAPTERS_UP
 * }</pre>
 *
 * Call it on the thread that owns the JVM's single GradientCollector use.
 */
public final class OfflineClient {

    public static final String SOURCE = "client-compute";

    /**
     * Training settings (Offsite-Tuning uses lr 2e-5..5e-5, 5 epochs, batch 1–4) and encoding limits.
     *
     * @param maxSteps stop after this many steps; 0: all epochs
     */
    public record Settings(TaskFinetuner.Settings training, int maxTokens, int evalBatchSize, int maxSteps) {

        public Settings(TaskFinetuner.Settings training, int maxTokens, int evalBatchSize) {
            this(training, maxTokens, evalBatchSize, 0);
        }

        public static Settings defaults() {
            return new Settings(new TaskFinetuner.Settings(5, 4, 5e-5f, 0f, 1), 256, 16);
        }

        /** The number of steps a run on {@code examples} training examples takes. */
        public int steps(int examples) {
            int all = TaskFinetuner.steps(examples, training);
            return maxSteps > 0 ? Math.min(all, maxSteps) : all;
        }
    }

    /**
     * @param accuracyBefore emulator with the provider's pretrained adapters, on the eval examples
     * @param accuracyAfter  emulator with the tuned adapters
     * @param computeMillis  local training wall time
     */
    public record Summary(String sessionId, String packageDigest, double accuracyBefore, double accuracyAfter,
                          int steps, long computeMillis, long adapterBytes, List<Double> losses,
                          String adaptersSha256) {
    }

    /** The records to produce (in order) and what happened. */
    public record Outcome(List<ProducerRecord<String, byte[]>> records, Summary summary) {
    }

    private OfflineClient() {
    }

    /**
     * @param eval examples to report accuracy on (e.g. a held-back part of the client's data); empty: use train
     * @throws PackageRejectedException when the package is not signed by the provider, not for this session, or
     *                                  tampered with; nothing is trained then
     */
    public static Outcome tune(byte[] packageBytes, PublicKey providerKey, SessionKey sessionKey,
                               BpeTokenizer tokenizer, List<McExample> train, List<McExample> eval, Settings settings)
            throws PackageRejectedException {
        return tune(packageBytes, providerKey, sessionKey, tokenizer, train, eval, settings, step -> { });
    }

    /** As above, reporting each training step as it ends. */
    public static Outcome tune(byte[] packageBytes, PublicKey providerKey, SessionKey sessionKey,
                               BpeTokenizer tokenizer, List<McExample> train, List<McExample> eval, Settings settings,
                               Consumer<StepResult> progress) throws PackageRejectedException {
        EmulatorPackage.Verified pkg = EmulatorPackage.verify(packageBytes, providerKey, sessionKey.sessionId());
        EmulatorBuilder.Emulator emulator = pkg.emulator();
        McEncoder encoder = new McEncoder(tokenizer, emulator.config().bosTokenId(), settings.maxTokens());
        MultipleChoiceEvaluator evaluator = new MultipleChoiceEvaluator(encoder, emulator.config().padTokenId(),
                settings.evalBatchSize());
        List<McExample> scored = eval.isEmpty() ? train : eval;
        try (OptModel model = emulator.toModel()) {
            double before = evaluator.evaluate(model::logits, scored).accuracy();
            OffsiteTuning.TunedAdapters tuned = OffsiteTuning.tuneAdapters(model, emulator.layout(), encoder, train,
                    settings.training(), settings.steps(train.size()), progress);
            double after = evaluator.evaluate(model::logits, scored).accuracy();
            List<ProducerRecord<String, byte[]>> records = OfflineTransport.adapterRecords(sessionKey, SOURCE,
                    tuned.adapters(), pkg.packageDigest(), 0);
            long bytes = records.stream().mapToLong(r -> r.value().length).sum();
            return new Outcome(records, new Summary(sessionKey.sessionId(), pkg.packageDigest(), before, after,
                    tuned.history().size(), tuned.millis(), bytes,
                    tuned.history().stream().map(StepResult::loss).toList(), TensorDigest.sha256(tuned.adapters())));
        }
    }
}
