package io.guardedtuning.wire;

import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

/** The logical description of one event, shared by all its chunks. */
public record EventMetadata(String id, String source, EventKind kind, Instant time, String sessionId, long step,
                            int microBatch, int attempt, long[] shape, CodecSpec codec,
                            Map<String, String> attributes) {

    private static final java.util.regex.Pattern ATTRIBUTE_NAME = java.util.regex.Pattern.compile("[a-z0-9]{1,20}");

    /**
     * @param attempt 0 for a first send; a deliberate resend of the same step carries a higher attempt, so the
     *                receiver can tell it from a replay of the original
     * @param attributes protocol attributes (e.g. sequence lengths), lower-case alphanumeric names, signed with
     *                   the event
     */
    public EventMetadata {
        shape = shape.clone();
        if (attempt < 0) {
            throw new IllegalArgumentException("attempt must be >= 0: " + attempt);
        }
        for (String name : attributes.keySet()) {
            if (!ATTRIBUTE_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("attribute name '" + name + "' must be 1-20 of [a-z0-9]");
            }
        }
        attributes = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(attributes));
    }

    public String attribute(String name) {
        return attributes.get(name);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EventMetadata m && id.equals(m.id) && source.equals(m.source) && kind == m.kind
                && time.equals(m.time) && sessionId.equals(m.sessionId) && step == m.step
                && microBatch == m.microBatch && attempt == m.attempt && Arrays.equals(shape, m.shape)
                && codec.equals(m.codec) && attributes.equals(m.attributes);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }
}
