package io.guardedtuning.wire;

/** An event (or one chunk of it) with its payload: codec bytes for tensors, opaque bytes for RAW. */
public record TensorEvent(EventMetadata metadata, ChunkPosition chunk, byte[] payload) {
}
