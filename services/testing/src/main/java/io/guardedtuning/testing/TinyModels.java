package io.guardedtuning.testing;

import io.guardedtuning.checkpoint.HfCheckpoint;
import io.guardedtuning.checkpoint.Safetensors;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.Gpt2Vocabulary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A tiny random OPT model written as a Hugging Face directory (weights and tokenizer.json), so service tests run
 * the real loading code in seconds. One directory per JVM; the weights are reproducible from {@link #weights()}.
 */
public final class TinyModels {

    public static final Gpt2Vocabulary VOCAB = Gpt2Vocabulary.truncated(60);
    public static final OptConfig CONFIG = OptConfig.of(VOCAB.vocabSize(), 32, 6, 64, 4, 64)
            .withSpecialTokens(VOCAB.padTokenId(), VOCAB.bosTokenId(), VOCAB.eosTokenId());
    private static final long SEED = 11;

    private static Path directory;

    private TinyModels() {
    }

    public static Map<String, HostTensor> weights() {
        return OptModel.randomTensors(CONFIG, SEED, n -> true);
    }

    public static Map<String, HostTensor> weights(Predicate<String> keep) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        weights().forEach((name, tensor) -> {
            if (keep.test(name)) {
                out.put(name, tensor);
            }
        });
        return out;
    }

    /** The model directory, written on first use. */
    public static synchronized Path directory() {
        if (directory == null) {
            try {
                Path dir = Files.createTempDirectory("gt-tiny-model-").resolve("model");
                HfCheckpoint.write(dir, CONFIG, weights(), Safetensors.Dtype.F32, HfCheckpoint.UNSHARDED,
                        Map.of("tokenizer.json", VOCAB.tokenizer().toTokenizerJson()));
                directory = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return directory;
    }
}
