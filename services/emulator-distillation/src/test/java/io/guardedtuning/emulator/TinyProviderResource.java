package io.guardedtuning.emulator;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;
import io.guardedtuning.train.Pretrainer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.HexFormat;
import java.util.Map;

/**
 * A provider with a tiny, briefly pretrained OPT (6 layers, d = 32) written to a temp dir, public text, a
 * hand-made PIQA-format task, a fresh Ed25519 key pair and master secret.
 */
public final class TinyProviderResource implements QuarkusTestResourceLifecycleManager {

    public static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(40);
    public static final String MASTER_KEY = HexFormat.of().formatHex(new byte[32]).replace('0', '7');
    public static final KeyPair PROVIDER = ProviderKeys.generate();
    public static final String TEXT = ("the old man and the sea went to town. a cat sat on the mat while the rain fell "
            + "on the hills. ").repeat(60);
    private static Path root;

    public static Path root() {
        return root;
    }

    public static Path taskFile() {
        return root.resolve("task.jsonl");
    }

    @Override
    public Map<String, String> start() {
        try {
            root = Files.createTempDirectory("gt-emulator-test");
            OptConfig config = OptConfig.of(VOCAB.vocabSize(), 32, 6, 64, 4, 64)
                    .withSpecialTokens(VOCAB.padTokenId(), VOCAB.bosTokenId(), VOCAB.eosTokenId());
            Path model = root.resolve("model");
            try (OptModel m = OptModel.random(config, 21)) {
                // Pretrained a little, so dropping middle layers visibly costs perplexity (the guard's measure).
                int[] stream = VOCAB.tokenizer().encode(TEXT);
                Pretrainer.run(m, stream, stream, new Pretrainer.Settings(40, 8, 32, 1e-2f, 4, 0f, 3, 4), s -> { });
                HfCheckpoint.write(model, config, m.toTensors(n -> true), Safetensors.Dtype.F32,
                        HfCheckpoint.UNSHARDED, Map.of("tokenizer.json", VOCAB.tokenizer().toTokenizerJson()));
            }
            Files.writeString(root.resolve("public.txt"), TEXT);
            StringBuilder task = new StringBuilder();
            String[] words = {"red", "blue", "green", "gold", "pink", "gray"};
            for (int i = 0; i < 24; i++) {
                boolean yes = i % 2 == 0;
                task.append(String.format("{\"id\":\"t%d\",\"goal\":\"%s %s\",\"sol1\":\"no\",\"sol2\":\"yes\",\"label\":%d}%n",
                        i, yes ? "sun" : "rain", words[i % words.length], yes ? 1 : 0));
            }
            Files.writeString(taskFile(), task);
            return Map.ofEntries(
                    Map.entry("gt.emulator.model", model.toString()),
                    Map.entry("gt.emulator.jobs-dir", root.resolve("jobs").toString()),
                    Map.entry("gt.emulator.master-key", MASTER_KEY),
                    Map.entry("gt.emulator.signing.private-key", ProviderKeys.toBase64(PROVIDER.getPrivate())),
                    Map.entry("gt.emulator.signing.public-key", ProviderKeys.toBase64(PROVIDER.getPublic())),
                    Map.entry("gt.emulator.distillation.public-text", root.resolve("public.txt").toString()),
                    Map.entry("gt.emulator.distillation.sequence-length", "16"),
                    Map.entry("gt.emulator.distillation.checkpoint-every", "2"),
                    Map.entry("gt.emulator.distillation.held-out-sequences", "4"),
                    Map.entry("gt.emulator.guard.min-perplexity-ratio", "1.01"),
                    Map.entry("gt.emulator.evaluation.max-tokens", "32"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void stop() {
        // The temp dir is left for inspection of a failed run; it is small.
    }
}
