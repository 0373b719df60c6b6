package io.guardedtuning.emulator.service;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.Document;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.emulator.config.EmulatorConfig;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.tokenizer.BpeTokenizer;
import io.guardedtuning.train.Pretrainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The provider's full model (host tensors; every job builds its own DJL models from them), tokenizer and public
 * text windows, loaded once on first use by the worker thread.
 */
record ProviderAssets(OptConfig config, Map<String, HostTensor> tensors, BpeTokenizer tokenizer,
                      List<int[]> distillationText, List<int[]> heldOutText) {

    static ProviderAssets load(EmulatorConfig config) throws IOException {
        ModelCatalog.Model model = ModelCatalog.Model.load(config.model());
        Map<String, HostTensor> tensors = model.tensors();
        OptConfig modelConfig = model.config();
        BpeTokenizer tokenizer = model.tokenizer();
        EmulatorConfig.Distillation d = config.distillation();
        String text;
        if (d.publicText().isPresent()) {
            text = Files.readString(d.publicText().get(), StandardCharsets.UTF_8);
        } else {
            Corpus corpus = Corpus.load(new PackageCache(), EnumSet.allOf(Corpus.Source.class), d.publicTextMaxChars());
            text = corpus.documents().stream().map(Document::text).collect(Collectors.joining("\n\n"));
        }
        int length = Math.min(d.sequenceLength(), modelConfig.maxPositionEmbeddings());
        List<int[]> windows = Pretrainer.windows(tokenizer.encode(text), length, Integer.MAX_VALUE);
        int heldOut = Math.min(d.heldOutSequences(), windows.size() / 2);
        if (heldOut < 1) {
            throw new IOException("public text gives only " + windows.size() + " windows of " + length
                    + " tokens; the guard and distillation need at least 2");
        }
        return new ProviderAssets(modelConfig, tensors, tokenizer,
                List.copyOf(windows.subList(0, windows.size() - heldOut)),
                List.copyOf(windows.subList(windows.size() - heldOut, windows.size())));
    }
}
