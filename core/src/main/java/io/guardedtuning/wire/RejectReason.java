package io.guardedtuning.wire;

/** Why a receiver refused an event; written to the dead-letter record as {@code gt_dlq_reason}. */
public enum RejectReason {
    MISSING_HEADER,
    MALFORMED_HEADER,
    UNSUPPORTED_SCHEMA,
    UNKNOWN_DTYPE,
    UNKNOWN_CODEC,
    UNEXPECTED_KIND,
    BAD_MAC,
    WRONG_SESSION,
    REPLAYED,
    STALE_STEP,
    CHECKSUM_MISMATCH,
    SIZE_MISMATCH,
    NON_FINITE,
    OVERSIZE,
    REASSEMBLY_FULL,
    INCOMPLETE_CHUNK_SET,
    /** Authentic and well-formed, but not valid for the protocol (e.g. lengths that do not fit the shape). */
    PROTOCOL,
    /** The record could not be read at all: an error no specific check names (reported with its message). */
    UNREADABLE
}
