package io.guardedtuning.session;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
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
 * steps count from 0: over Kafka, start a new pass on the link first ({@link RemoteBackboneLink#start}). Each
 * batch's rows go to the client's audit keeper under the pass's name, so an audited evaluation step is scored
 * against its own rows.
 */
public final class SplitLanguageModel implements LanguageModel {

    private final OptModel client;
    private final Split split;
    private final BackboneLink link;
    private final String pass;
    private final AuditSink audit;
    private long step;

    public SplitLanguageModel(OptModel client, Split split, BackboneLink link) {
        this(client, split, link, SplitProtocol.EVAL_AFTER, AuditSink.NONE);
    }

    public SplitLanguageModel(OptModel client, Split split, BackboneLink link, String pass, AuditSink audit) {
        this.client = client;
        this.split = split;
        this.link = link;
        this.pass = SplitProtocol.requirePass(pass);
        this.audit = audit;
    }

    @Override
    public NDArray logits(TokenBatch batch) {
        HostTensor hIn = OptModel.hostCopy(client.blocks(client.embed(batch), batch, 0, split.k()));
        List<int[]> rows = rows(batch);
        if (audit != AuditSink.NONE) {
            audit.step(pass, step, rows, true);
        }
        link.beforeBatch(rows);
        HostTensor hOut = link.forward(step++, hIn, batch.lengths(), false);
        NDArray h = batch.inputIds().getManager().create(hOut.data(), new Shape(hOut.shape()));
        return client.head(client.blocks(h, batch, split.trunkTo(), split.layers()));
    }

    /** The batch's token ids per sequence, padding dropped. */
    private static List<int[]> rows(TokenBatch batch) {
        long[] ids = batch.inputIds().toType(DataType.INT64, true).toLongArray();
        long[] lengths = batch.lengths();
        int t = batch.sequenceLength();
        List<int[]> out = new ArrayList<>(lengths.length);
        for (int i = 0; i < lengths.length; i++) {
            int[] row = new int[(int) lengths[i]];
            for (int j = 0; j < row.length; j++) {
                row[j] = (int) ids[i * t + j];
            }
            out.add(row);
        }
        return out;
    }
}
