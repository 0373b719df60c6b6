package io.guardedtuning.benchmarks;

import io.guardedtuning.session.Precision;
import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.split.BackboneServer;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.TensorCodec;

/**
 * An in-process backbone behind the same codecs the Kafka link uses (activations asymmetric, gradients
 * symmetric, per direction), so each tensor is exactly what the other party would decode. Counts payload bytes
 * (codec output, no event headers) and shows the server's view of every step to a {@link ServerView}.
 */
final class WireSimulatedLink implements BackboneLink {

    /** What the provider holds after decoding: the h_in it received and its own h_out; then the g_out it received. */
    interface ServerView {
        ServerView NONE = new ServerView() {
        };

        default void forward(long step, HostTensor receivedHIn, long[] lengths, HostTensor hOut) {
        }

        default void backward(long step, HostTensor receivedGOut) {
        }
    }

    private final BackboneServer server;
    private final String session;
    private final TensorCodec activationsUp;
    private final TensorCodec activationsDown;
    private final TensorCodec gradientsUp;
    private final TensorCodec gradientsDown;
    private final ServerView view;
    private long bytesUp;
    private long bytesDown;

    WireSimulatedLink(BackboneServer server, String session, int bitsUp, int bitsDown, int gradientBitsUp,
                      int gradientBitsDown, ServerView view) {
        this.server = server;
        this.session = session;
        this.activationsUp = Precision.activations(bitsUp).newCodec();
        this.activationsDown = Precision.activations(bitsDown).newCodec();
        this.gradientsUp = Precision.gradients(gradientBitsUp).newCodec();
        this.gradientsDown = Precision.gradients(gradientBitsDown).newCodec();
        this.view = view;
    }

    @Override
    public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
        HostTensor received = up(activationsUp, hIn);
        HostTensor hOut = server.forward(session, step, received, lengths, forBackward);
        view.forward(step, received, lengths, hOut);
        return down(activationsDown, hOut);
    }

    @Override
    public HostTensor backward(long step, HostTensor gradOut) {
        HostTensor received = up(gradientsUp, gradOut);
        view.backward(step, received);
        return down(gradientsDown, server.backward(session, step, received));
    }

    long bytesUp() {
        return bytesUp;
    }

    long bytesDown() {
        return bytesDown;
    }

    private HostTensor up(TensorCodec codec, HostTensor t) {
        byte[] payload = codec.encode(t);
        bytesUp += payload.length;
        return codec.decode(t.shape(), payload);
    }

    private HostTensor down(TensorCodec codec, HostTensor t) {
        byte[] payload = codec.encode(t);
        bytesDown += payload.length;
        return codec.decode(t.shape(), payload);
    }
}
