package io.guardedtuning.wire;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import com.github.luben.zstd.Zstd;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.utils.BufferSupplier;
import org.apache.kafka.common.utils.ByteBufferOutputStream;

/**
 * Lossless compression of a codec payload with kafka-clients' own zstd / lz4 bindings (zstd-jni and lz4-java are
 * its runtime dependencies, so nothing is added). Compressed layout: u32 little-endian uncompressed length, then
 * the stream (zstd: standard frames; lz4: Kafka's lz4 frame). The length comes first so a receiver can refuse a
 * decompression bomb before inflating it. zstd is written and read by one call into libzstd on the whole payload
 * (2-3x faster than Kafka's stream, and the frames are the same kind, so either reads the other's).
 */
public enum PayloadCompression {
    NONE,
    ZSTD,
    LZ4;

    private Compression kafkaCompression() {
        return switch (this) {
            case NONE -> Compression.NONE;
            case ZSTD -> Compression.zstd().build();
            case LZ4 -> Compression.lz4().build();
        };
    }

    /**
     * zstd's fast end: quantised activation codes are close to random bytes (level 3 saved 2.4 % on an int8 OPT-1.3B
     * activation, level 1 the same within 0.001 %), so a slower level buys nothing.
     */
    static final int ZSTD_LEVEL = 1;

    public byte[] compress(byte[] raw) {
        if (this == NONE) {
            return raw;
        }
        if (this == ZSTD) {
            byte[] out = new byte[Math.toIntExact(4 + Zstd.compressBound(raw.length))];
            ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(0, raw.length);
            long written = Zstd.compressByteArray(out, 4, out.length - 4, raw, 0, raw.length, ZSTD_LEVEL);
            if (Zstd.isError(written)) {
                throw new IllegalStateException("zstd failed: " + Zstd.getErrorName(written));
            }
            return Arrays.copyOf(out, 4 + (int) written);
        }
        ByteBufferOutputStream buffer = new ByteBufferOutputStream(raw.length / 2 + 64);
        buffer.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, raw.length).array(), 0, 4);
        try (OutputStream out = kafkaCompression().wrapForOutput(buffer, RecordBatch.CURRENT_MAGIC_VALUE)) {
            out.write(raw);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteBuffer written = buffer.buffer();
        byte[] result = new byte[written.position()];
        written.flip().get(result);
        return result;
    }

    /** @param expectedRawLength what the codec needs for the declared shape; anything else is refused unread */
    public byte[] decompress(byte[] payload, long expectedRawLength) {
        if (this == NONE) {
            return payload;
        }
        if (payload.length < 4) {
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "compressed payload shorter than its header");
        }
        ByteBuffer in = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
        long declared = Integer.toUnsignedLong(in.getInt());
        TensorCodec.requireSize(expectedRawLength, declared);
        if (this == ZSTD) {
            // Into a buffer of the declared size: a stream that inflates past it fails instead of growing.
            byte[] raw = new byte[(int) declared];
            long read = Zstd.decompressByteArray(raw, 0, raw.length, payload, 4, payload.length - 4);
            if (Zstd.isError(read)) {
                throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "corrupt ZSTD stream: "
                        + Zstd.getErrorName(read));
            }
            TensorCodec.requireSize(declared, read);
            return raw;
        }
        try (InputStream stream = kafkaCompression().wrapForInput(in.slice(), RecordBatch.CURRENT_MAGIC_VALUE,
                BufferSupplier.NO_CACHING)) {
            byte[] raw = stream.readNBytes((int) declared);
            TensorCodec.requireSize(declared, raw.length);
            return raw;
        } catch (IOException | RuntimeException e) {
            if (e instanceof WireRejectionException w) {
                throw w;
            }
            throw new WireRejectionException(RejectReason.SIZE_MISMATCH, "corrupt " + this + " stream: " + e);
        }
    }
}
