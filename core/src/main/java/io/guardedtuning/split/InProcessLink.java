package io.guardedtuning.split;

import io.guardedtuning.tensor.HostTensor;

import java.util.function.UnaryOperator;

/**
 * A backbone in the same process: the reference for "the same step without a network", and the link unit tests
 * use. An optional transform stands in for the wire (e.g. a codec's encode/decode) in each direction.
 */
public final class InProcessLink implements BackboneLink {

    private final BackboneServer server;
    private final String session;
    private final UnaryOperator<HostTensor> up;
    private final UnaryOperator<HostTensor> down;

    public InProcessLink(BackboneServer server, String session) {
        this(server, session, UnaryOperator.identity(), UnaryOperator.identity());
    }

    public InProcessLink(BackboneServer server, String session, UnaryOperator<HostTensor> up,
                         UnaryOperator<HostTensor> down) {
        this.server = server;
        this.session = session;
        this.up = up;
        this.down = down;
    }

    @Override
    public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
        return down.apply(server.forward(session, step, up.apply(hIn), lengths, forBackward));
    }

    @Override
    public HostTensor backward(long step, HostTensor gradOut) {
        return down.apply(server.backward(session, step, up.apply(gradOut)));
    }
}
