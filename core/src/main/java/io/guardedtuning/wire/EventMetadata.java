package io.guardedtuning.wire;

import java.time.Instant;
import java.util.Arrays;

/** The logical description of one event, shared by all its chunks. */
public record EventMetadata(String id, String source, EventKind kind, Instant time, String sessionId, long step,
                            int microBatch, long[] shape, CodecSpec codec) {

    public EventMetadata {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EventMetadata m && id.equals(m.id) && source.equals(m.source) && kind == m.kind
                && time.equals(m.time) && sessionId.equals(m.sessionId) && step == m.step
                && microBatch == m.microBatch && Arrays.equals(shape, m.shape) && codec.equals(m.codec);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }
}
