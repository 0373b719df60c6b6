package io.guardedtuning.session;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.guardedtuning.eval.LanguageModel;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.Split;
import io.guardedtuning.model.TokenBatch;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.tensor.HostTensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The client's view of the whole model for inference: its own bottom and top around the provider's backbone,
 * reached forward-only through the link. Used to evaluate a split-tuned model without moving any weights. Its
 * steps count from 0: over Kafka, start a new pass on the link first ({@link RemoteBackboneLink#start}).
 */
public final class SplitLanguageModel implements LanguageModel {

    private final OptModel client;
    private final Split split;
    private final BackboneLink link;
    private long step;

    public SplitLanguageModel(OptModel client, Split split, BackboneLink link) {
        this.client = client;
        this.split = split;
        this.link = link;
    }

    @Override
    public NDArray logits(TokenBatch batch) {
        HostTensor hIn = OptModel.hostCopy(client.blocks(client.embed(batch), batch, 0, split.k()));
        link.beforeBatch(tokens(batch));
        HostTensor hOut = link.forward(step++, hIn, batch.lengths(), false);
        NDArray h = batch.inputIds().getManager().create(hOut.data(), new Shape(hOut.shape()));
        return client.head(client.blocks(h, batch, split.trunkTo(), split.layers()));
    }

    /** The batch's token ids, each cut to its length: the client's own, for the link's checks. */
    private static List<int[]> tokens(TokenBatch batch) {
        long[] ids = batch.inputIds().toLongArray();
        long[] lengths = batch.lengths();
        int t = batch.sequenceLength();
        List<int[]> out = new ArrayList<>();
        for (int b = 0; b < lengths.length; b++) {
            int[] seq = new int[(int) lengths[b]];
            for (int i = 0; i < seq.length; i++) {
                seq[i] = (int) ids[b * t + i];
            }
            out.add(seq);
        }
        return out;
    }
}
