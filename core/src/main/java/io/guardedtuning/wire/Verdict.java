package io.guardedtuning.wire;

import io.guardedtuning.tensor.HostTensor;
import java.util.Optional;

/** The outcome of offering one record to a {@link TensorEventVerifier}. */
public sealed interface Verdict {

    /** A whole, authentic event; {@code tensor} is present unless the payload is opaque (codec raw). */
    record Accepted(TensorEvent event, Optional<HostTensor> tensor) implements Verdict {
    }

    /** An authentic chunk, stored until its set is complete. */
    record Pending(String eventId, int chunkIndex, int chunkCount) implements Verdict {
    }

    record Rejected(RejectReason reason, String detail) implements Verdict {
    }
}
