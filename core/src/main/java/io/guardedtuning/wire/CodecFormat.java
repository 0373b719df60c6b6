package io.guardedtuning.wire;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** Element encoding on the wire; its lower-case name is the {@code ce_gtcodec} header value. */
public enum CodecFormat {
    FP32(4, 0),
    FP16(2, 0),
    BF16(2, 0),
    INT8(1, 8),
    INT4(0.5, 4),
    /** Opaque bytes (packages, control messages): no tensor, shape is [byte count]. */
    RAW(1, 0);

    private final double bytesPerElement;
    private final int quantisationBits;

    CodecFormat(double bytesPerElement, int quantisationBits) {
        this.bytesPerElement = bytesPerElement;
        this.quantisationBits = quantisationBits;
    }

    public double bytesPerElement() {
        return bytesPerElement;
    }

    /** 8 or 4 for the uniform quantisers, 0 for the others. */
    public int quantisationBits() {
        return quantisationBits;
    }

    public boolean quantised() {
        return quantisationBits > 0;
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The {@code ce_gtdtype} of the decoded value: every tensor codec decodes to float32. */
    public String decodedDtype() {
        return this == RAW ? "bytes" : "float32";
    }

    public static Optional<CodecFormat> fromWireName(String name) {
        return Arrays.stream(values()).filter(f -> f.wireName().equals(name)).findFirst();
    }
}
