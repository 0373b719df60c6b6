package io.guardedtuning.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.TensorEventWriter;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The audit-sample payload: the token ids of each sequence of one step, as JSON. */
public final class AuditSamples {

    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditSamples() {
    }

    public static byte[] encode(long step, List<int[]> sequences) {
        ObjectNode n = JSON.createObjectNode();
        n.put("step", step);
        ArrayNode seqs = n.putArray("sequences");
        for (int[] s : sequences) {
            ArrayNode a = seqs.addArray();
            for (int id : s) {
                a.add(id);
            }
        }
        try {
            return JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static List<int[]> decode(byte[] payload) {
        try {
            JsonNode seqs = JSON.readTree(payload).path("sequences");
            if (!seqs.isArray()) {
                throw new IllegalArgumentException("audit sample has no 'sequences' array");
            }
            List<int[]> out = new ArrayList<>();
            for (JsonNode s : seqs) {
                int[] ids = new int[s.size()];
                for (int i = 0; i < ids.length; i++) {
                    if (!s.get(i).canConvertToInt()) {
                        throw new IllegalArgumentException("audit sample token " + i + " is not an integer");
                    }
                    ids[i] = s.get(i).asInt();
                }
                out.add(ids);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalArgumentException("audit sample is not JSON: " + e.getMessage());
        }
    }

    /** A sink that signs samples with the session's writer and hands the records to {@code sink}. */
    public static AuditSink publisher(TensorEventWriter writer, RemoteBackboneLink.RecordSink sink) {
        return (step, sequences) -> {
            List<ProducerRecord<String, byte[]>> records = writer.records(Topics.AUDIT_SAMPLES,
                    writer.opaqueEvent(EventKind.AUDIT_SAMPLE, step, 0, encode(step, sequences)));
            sink.send(records);
        };
    }
}
