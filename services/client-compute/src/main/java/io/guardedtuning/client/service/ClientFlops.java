package io.guardedtuning.client.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.model.OptModel;

import java.util.Set;

/**
 * A rough estimate of the client's training FLOPs, the usual dense-transformer rule of thumb:
 * {@code 6 × trained params × tokens} (forward 2, backward 4 per parameter and token) plus
 * {@code 2 × frozen params × tokens} (forward only) over the client's own parameters (embeddings and the tied head
 * count as frozen). Tokens = steps × batch size × the mean training sequence length, padding ignored. Attention's
 * sequence-length term, the Gradfree h_out cache (later epochs skip the bottom) and evaluation are left out.
 */
record ClientFlops(long trainedParams, long frozenParams, double tokens, double flops) {

    static final String FORMULA = "6 * trainedParams * tokens + 2 * frozenParams * tokens";

    static ClientFlops estimate(OptModel client, Set<String> trained, long steps, int batchSize,
                                double meanSequenceTokens) {
        long trainedParams = client.parameters().entrySet().stream().filter(e -> trained.contains(e.getKey()))
                .mapToLong(e -> e.getValue().size()).sum();
        long frozenParams = client.parameterCount() - trainedParams;
        double tokens = steps * batchSize * meanSequenceTokens;
        return new ClientFlops(trainedParams, frozenParams, tokens,
                6.0 * trainedParams * tokens + 2.0 * frozenParams * tokens);
    }

    void write(ObjectNode n) {
        n.put("estimate", flops).put("trainedParams", trainedParams).put("frozenParams", frozenParams)
                .put("tokens", tokens).put("formula", FORMULA);
    }
}
