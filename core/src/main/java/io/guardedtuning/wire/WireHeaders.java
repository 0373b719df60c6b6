package io.guardedtuning.wire;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Kafka headers of schema version 1: CloudEvents 1.0 binary mode (attributes as {@code ce_*} headers, payload as
 * the record value) plus {@code ce_gt*} extension attributes, all UTF-8 strings. See docs/wire-format.md.
 */
public final class WireHeaders {

    public static final int SCHEMA_VERSION = 1;
    public static final String CONTENT_TYPE = "content-type";
    public static final String SPEC_VERSION = "ce_specversion";
    public static final String ID = "ce_id";
    public static final String SOURCE = "ce_source";
    public static final String TYPE = "ce_type";
    public static final String TIME = "ce_time";
    public static final String SUBJECT = "ce_subject";
    public static final String SCHEMA = "ce_gtschema";
    public static final String KIND = "ce_gtkind";
    public static final String STEP = "ce_gtstep";
    public static final String MICRO_BATCH = "ce_gtmicrobatch";
    public static final String ATTEMPT = "ce_gtattempt";
    /** Prefix of protocol attributes: {@code ce_gtx<name>}. */
    public static final String ATTRIBUTE_PREFIX = "ce_gtx";
    public static final String DTYPE = "ce_gtdtype";
    public static final String SHAPE = "ce_gtshape";
    public static final String CODEC = "ce_gtcodec";
    public static final String CODEC_PARAMS = "ce_gtcodecparams";
    public static final String CHECKSUM = "ce_gtchecksum";
    public static final String CHUNK_SET = "ce_gtchunkset";
    public static final String CHUNK_INDEX = "ce_gtchunkindex";
    public static final String CHUNK_COUNT = "ce_gtchunkcount";
    public static final String TOTAL_SIZE = "ce_gttotalsize";
    public static final String TOTAL_CHECKSUM = "ce_gttotalchecksum";
    public static final String HMAC = "ce_gthmac";

    private static final List<String> REQUIRED = List.of(CONTENT_TYPE, SPEC_VERSION, ID, SOURCE, TYPE, TIME, SUBJECT,
            SCHEMA, KIND, STEP, MICRO_BATCH, ATTEMPT, DTYPE, SHAPE, CODEC, CODEC_PARAMS, CHECKSUM, CHUNK_SET, CHUNK_INDEX,
            CHUNK_COUNT, TOTAL_SIZE, TOTAL_CHECKSUM, HMAC);
    private static final byte[] MAC_DOMAIN = "guardedtuning-wire-v1\n".getBytes(StandardCharsets.US_ASCII);

    private WireHeaders() {
    }

    /** All headers of one record, the HMAC last. */
    public static Headers write(TensorEvent event, PayloadChecksum checksum, SessionKey key) {
        EventMetadata m = event.metadata();
        ChunkPosition c = event.chunk();
        String recordId = c.isWhole() ? m.id() : m.id() + "/" + c.index();
        Headers headers = new RecordHeaders();
        put(headers, CONTENT_TYPE, "application/octet-stream");
        put(headers, SPEC_VERSION, "1.0");
        put(headers, ID, recordId);
        put(headers, SOURCE, m.source());
        put(headers, TYPE, m.kind().cloudEventType());
        put(headers, TIME, m.time().toString());
        put(headers, SUBJECT, m.sessionId());
        put(headers, SCHEMA, Integer.toString(SCHEMA_VERSION));
        put(headers, KIND, m.kind().name());
        put(headers, STEP, Long.toString(m.step()));
        put(headers, MICRO_BATCH, Integer.toString(m.microBatch()));
        put(headers, ATTEMPT, Integer.toString(m.attempt()));
        m.attributes().forEach((name, value) -> put(headers, ATTRIBUTE_PREFIX + name, value));
        put(headers, DTYPE, m.codec().format().decodedDtype());
        put(headers, SHAPE, Arrays.stream(m.shape()).mapToObj(Long::toString).collect(Collectors.joining(",")));
        put(headers, CODEC, m.codec().format().wireName());
        put(headers, CODEC_PARAMS, m.codec().headerParams());
        put(headers, CHECKSUM, checksum.of(event.payload()));
        put(headers, CHUNK_SET, m.id());
        put(headers, CHUNK_INDEX, Integer.toString(c.index()));
        put(headers, CHUNK_COUNT, Integer.toString(c.count()));
        put(headers, TOTAL_SIZE, Long.toString(c.totalBytes()));
        put(headers, TOTAL_CHECKSUM, c.totalChecksum());
        put(headers, HMAC, Base64.getEncoder().encodeToString(mac(key, headers, event.payload())));
        return headers;
    }

    private static void put(Headers headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * HMAC-SHA256 over the canonical form: the domain string, then every header except {@code ce_gthmac} sorted by
     * name, each as u32 BE name length, name, u32 BE value length, value; then u64 BE payload length and the payload.
     * Length prefixes keep the encoding unambiguous; covering every header means an added one breaks the MAC too.
     */
    public static byte[] mac(SessionKey key, Headers headers, byte[] payload) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.key(), "HmacSHA256"));
            mac.update(MAC_DOMAIN);
            List<Header> signed = new ArrayList<>();
            for (Header h : headers) {
                if (!h.key().equals(HMAC)) {
                    signed.add(h);
                }
            }
            signed.sort(Comparator.comparing(Header::key));
            for (Header h : signed) {
                byte[] name = h.key().getBytes(StandardCharsets.UTF_8);
                byte[] value = h.value() == null ? new byte[0] : h.value();
                mac.update(ByteBuffer.allocate(4).putInt(name.length).array());
                mac.update(name);
                mac.update(ByteBuffer.allocate(4).putInt(value.length).array());
                mac.update(value);
            }
            mac.update(ByteBuffer.allocate(8).putLong(payload.length).array());
            mac.update(payload);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is mandatory on every Java platform", e);
        }
    }

    /** @throws WireRejectionException BAD_MAC unless the record's HMAC matches (constant-time compare) */
    public static void verifyMac(SessionKey key, Headers headers, byte[] payload) {
        byte[] claimed;
        try {
            claimed = Base64.getDecoder().decode(single(headers).get(HMAC));
        } catch (IllegalArgumentException e) {
            throw new WireRejectionException(RejectReason.BAD_MAC, "HMAC header is not base64");
        }
        if (!MessageDigest.isEqual(claimed, mac(key, headers, payload))) {
            throw new WireRejectionException(RejectReason.BAD_MAC,
                    "HMAC does not match under the key of session " + key.sessionId());
        }
    }

    /** The headers as a map, refusing missing required and repeated ones. */
    static Map<String, String> single(Headers headers) {
        Map<String, String> values = new HashMap<>();
        for (Header h : headers) {
            String value = h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
            if (values.put(h.key(), value) != null) {
                throw new WireRejectionException(RejectReason.MALFORMED_HEADER, "header " + h.key() + " repeated");
            }
        }
        for (String name : REQUIRED) {
            if (!values.containsKey(name)) {
                throw new WireRejectionException(RejectReason.MISSING_HEADER, "missing header " + name);
            }
        }
        return values;
    }

    /**
     * Parses a record's headers (already known to be complete and authentic) and payload into an event chunk.
     *
     * @throws WireRejectionException MALFORMED_HEADER, UNSUPPORTED_SCHEMA, UNKNOWN_DTYPE or UNKNOWN_CODEC
     */
    public static TensorEvent read(Headers headers, byte[] payload) {
        Map<String, String> h = single(headers);
        if (!h.get(SPEC_VERSION).equals("1.0")) {
            throw malformed(SPEC_VERSION, h);
        }
        if (!h.get(SCHEMA).equals(Integer.toString(SCHEMA_VERSION))) {
            throw new WireRejectionException(RejectReason.UNSUPPORTED_SCHEMA, "schema version " + h.get(SCHEMA));
        }
        EventKind kind;
        try {
            kind = EventKind.valueOf(h.get(KIND));
        } catch (IllegalArgumentException e) {
            throw malformed(KIND, h);
        }
        if (!kind.cloudEventType().equals(h.get(TYPE))) {
            throw new WireRejectionException(RejectReason.MALFORMED_HEADER, h.get(TYPE) + " contradicts kind " + kind);
        }
        CodecSpec codec = CodecSpec.fromHeaders(h.get(CODEC), h.get(CODEC_PARAMS));
        if (!codec.format().decodedDtype().equals(h.get(DTYPE))) {
            throw new WireRejectionException(RejectReason.UNKNOWN_DTYPE,
                    "dtype '" + h.get(DTYPE) + "' with codec " + h.get(CODEC));
        }
        PayloadChecksum.verify(h.get(CHECKSUM), payload);
        try {
            EventMetadata metadata = new EventMetadata(h.get(CHUNK_SET), h.get(SOURCE), kind,
                    Instant.parse(h.get(TIME)), h.get(SUBJECT), Long.parseLong(h.get(STEP)),
                    Integer.parseInt(h.get(MICRO_BATCH)), Integer.parseInt(h.get(ATTEMPT)), parseShape(h.get(SHAPE)),
                    codec, attributes(h));
            ChunkPosition chunk = new ChunkPosition(Integer.parseInt(h.get(CHUNK_INDEX)),
                    Integer.parseInt(h.get(CHUNK_COUNT)), Long.parseLong(h.get(TOTAL_SIZE)), h.get(TOTAL_CHECKSUM));
            return new TensorEvent(metadata, chunk, payload);
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new WireRejectionException(RejectReason.MALFORMED_HEADER, e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new WireRejectionException(RejectReason.MALFORMED_HEADER, e.getMessage());
        }
    }

    private static Map<String, String> attributes(Map<String, String> headers) {
        Map<String, String> out = new java.util.TreeMap<>();
        headers.forEach((name, value) -> {
            if (name.startsWith(ATTRIBUTE_PREFIX)) {
                out.put(name.substring(ATTRIBUTE_PREFIX.length()), value);
            }
        });
        return out;
    }

    private static long[] parseShape(String shape) {
        long[] dims = shape.isEmpty() ? new long[0] : Arrays.stream(shape.split(",")).mapToLong(Long::parseLong).toArray();
        long elements = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new NumberFormatException("negative dimension in shape " + shape);
            }
            // A decoded tensor is one Java array: more elements than it can index is no tensor this side can hold.
            if (d != 0 && elements > Integer.MAX_VALUE / d) {
                throw new NumberFormatException("shape " + shape + " has more than " + Integer.MAX_VALUE + " elements");
            }
            elements *= d;
        }
        return dims;
    }

    private static WireRejectionException malformed(String name, Map<String, String> h) {
        return new WireRejectionException(RejectReason.MALFORMED_HEADER, name + "='" + h.get(name) + "'");
    }
}
