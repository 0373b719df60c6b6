package io.guardedtuning.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.TensorEvent;
import io.guardedtuning.wire.TensorEventWriter;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The audit's two signed events (docs/wire-format.md). The auditor sends its reconstructions of a sampled (pass,
 * step) to that session's own down topic ({@link EventKind#AUDIT_RECONSTRUCTION}: token ids it rebuilt from what the
 * provider saw, which the provider could compute anyway); the client scores them against its own rows and sends
 * back only numbers ({@link EventKind#AUDIT_SCORE} on {@link Topics#AUDIT_SCORES}). The client's text never leaves
 * it. Both payloads are JSON, checked field by field and bounded on decoding.
 */
public final class AuditProtocol {

    /** One attack's reconstruction of a step; no sequences when it rebuilt nothing ({@code detail} says why). */
    public record AttackReconstruction(String attack, List<int[]> sequences, double confidence, long costMillis,
                                       String detail) {
        public boolean succeeded() {
            return !sequences.isEmpty();
        }
    }

    /**
     * Every attack's reconstruction of one sampled step; {@code auxiliaryVocabulary} (null when unknown) marks the
     * token ids in the attacker's public text, so the client can report which share of its ids the attacker could
     * have learnt at all. A step sent in micro-batches is reconstructed per part: {@code firstRow} is the batch row
     * the part's first row is (0 for a whole batch).
     */
    public record Reconstructions(String pass, long step, int firstRow, List<AttackReconstruction> attacks,
                                  BitSet auxiliaryVocabulary) {
        public Reconstructions(String pass, long step, List<AttackReconstruction> attacks,
                               BitSet auxiliaryVocabulary) {
            this(pass, step, 0, attacks, auxiliaryVocabulary);
        }
    }

    /** One attack's scores against the step's rows, and the chance floor: the same metrics against unrelated rows. */
    public record AttackScores(String attack, TextLeakage.Scores scores, TextLeakage.Scores floor) {
    }

    /**
     * The client's scores of one reconstruction event ({@code reconstruction}: its event id); {@code coverage} is the
     * share of the step's distinct token ids inside the attacker's public vocabulary (null when not sent).
     */
    public record StepScores(String pass, long step, String reconstruction, Double coverage,
                             List<AttackScores> attacks) {
    }

    static final int MAX_ATTACKS = 32;
    static final int MAX_SEQUENCES = 1024;
    static final int MAX_TOKENS = 8192;
    static final int MAX_IDS = 1 << 20;
    static final int MAX_DETAIL = 500;
    private static final Pattern ATTACK = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private AuditProtocol() {
    }

    /**
     * The event step of the next audit event from one writer: a millisecond timestamp that always grows, so the
     * receiver's replay check holds across passes (whose step numbers restart) and across restarts.
     */
    public static long nextEventStep(AtomicLong last) {
        return last.updateAndGet(prev -> Math.max(System.currentTimeMillis(), prev + 1));
    }

    /** The reconstruction event; its id is what the client's scores name. Send it to the session's down topic. */
    public static TensorEvent reconstructionEvent(TensorEventWriter writer, long eventStep, Reconstructions r) {
        return writer.opaqueEvent(EventKind.AUDIT_RECONSTRUCTION, eventStep, 0, 0,
                Map.of(SplitProtocol.PASS, r.pass()), encode(r));
    }

    public static List<ProducerRecord<String, byte[]>> scoreRecords(TensorEventWriter writer, long eventStep,
                                                                    StepScores s) {
        return writer.records(Topics.AUDIT_SCORES, writer.opaqueEvent(EventKind.AUDIT_SCORE, eventStep, 0, 0,
                Map.of(SplitProtocol.PASS, s.pass()), encode(s)));
    }

    static byte[] encode(Reconstructions r) {
        ObjectNode n = JSON.createObjectNode().put("pass", r.pass()).put("step", r.step())
                .put("firstRow", r.firstRow());
        if (r.auxiliaryVocabulary() != null) {
            n.put("auxiliaryVocabulary", Base64.getEncoder().encodeToString(r.auxiliaryVocabulary().toByteArray()));
        }
        ArrayNode attacks = n.putArray("attacks");
        for (AttackReconstruction a : r.attacks()) {
            ObjectNode o = attacks.addObject().put("attack", a.attack()).put("confidence", a.confidence())
                    .put("costMillis", a.costMillis()).put("detail", truncate(a.detail()));
            ArrayNode seqs = o.putArray("sequences");
            for (int[] s : a.sequences()) {
                ArrayNode ids = seqs.addArray();
                for (int id : s) {
                    ids.add(id);
                }
            }
        }
        return bytes(n);
    }

    /** @throws IllegalArgumentException naming the field that is missing, malformed or over its bound */
    public static Reconstructions decodeReconstructions(byte[] payload) {
        JsonNode n = tree(payload, "reconstructions");
        String pass = pass(n);
        long step = step(n);
        int firstRow = n.path("firstRow").asInt(0);
        if (n.has("firstRow") && (!n.get("firstRow").canConvertToInt() || firstRow < 0 || firstRow >= MAX_SEQUENCES)) {
            throw new IllegalArgumentException("'firstRow' is not a row in 0.." + (MAX_SEQUENCES - 1));
        }
        BitSet vocabulary = null;
        if (n.hasNonNull("auxiliaryVocabulary")) {
            try {
                byte[] bits = Base64.getDecoder().decode(n.path("auxiliaryVocabulary").asText());
                if (bits.length > MAX_IDS / 8) {
                    throw new IllegalArgumentException("'auxiliaryVocabulary' exceeds " + MAX_IDS + " ids");
                }
                vocabulary = BitSet.valueOf(bits);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'auxiliaryVocabulary' is not base64 bits: " + e.getMessage());
            }
        }
        List<AttackReconstruction> attacks = new ArrayList<>();
        int ids = 0;
        for (JsonNode a : array(n, "attacks", MAX_ATTACKS)) {
            List<int[]> sequences = new ArrayList<>();
            for (JsonNode s : array(a, "sequences", MAX_SEQUENCES)) {
                if (!s.isArray() || s.size() > MAX_TOKENS) {
                    throw new IllegalArgumentException("a reconstructed sequence is not an array of at most "
                            + MAX_TOKENS + " ids");
                }
                ids += s.size();
                if (ids > MAX_IDS) {
                    throw new IllegalArgumentException("reconstructions hold more than " + MAX_IDS + " ids");
                }
                int[] seq = new int[s.size()];
                for (int i = 0; i < seq.length; i++) {
                    if (!s.get(i).canConvertToInt() || s.get(i).asInt() < 0) {
                        throw new IllegalArgumentException("reconstructed token " + i + " is not an id >= 0");
                    }
                    seq[i] = s.get(i).asInt();
                }
                sequences.add(seq);
            }
            attacks.add(new AttackReconstruction(attack(a), sequences, finite(a, "confidence"),
                    a.path("costMillis").asLong(), truncate(a.path("detail").asText(""))));
        }
        return new Reconstructions(pass, step, firstRow, attacks, vocabulary);
    }

    static byte[] encode(StepScores s) {
        ObjectNode n = JSON.createObjectNode().put("pass", s.pass()).put("step", s.step())
                .put("reconstruction", s.reconstruction());
        if (s.coverage() != null) {
            n.put("coverage", s.coverage());
        }
        ArrayNode attacks = n.putArray("attacks");
        for (AttackScores a : s.attacks()) {
            ObjectNode o = attacks.addObject().put("attack", a.attack());
            put(o, "", a.scores());
            put(o, "floor", a.floor());
        }
        return bytes(n);
    }

    /** @throws IllegalArgumentException naming the field that is missing, malformed or out of range */
    public static StepScores decodeScores(byte[] payload) {
        JsonNode n = tree(payload, "scores");
        String reconstruction = n.path("reconstruction").asText("");
        if (reconstruction.isEmpty() || reconstruction.length() > 64) {
            throw new IllegalArgumentException("'reconstruction' must name the scored event (1-64 characters)");
        }
        Double coverage = n.hasNonNull("coverage") ? score(n, "coverage") : null;
        List<AttackScores> attacks = new ArrayList<>();
        for (JsonNode a : array(n, "attacks", MAX_ATTACKS)) {
            attacks.add(new AttackScores(attack(a), scores(a, ""), scores(a, "floor")));
        }
        return new StepScores(pass(n), step(n), reconstruction, coverage, attacks);
    }

    private static void put(ObjectNode o, String prefix, TextLeakage.Scores s) {
        o.put(name(prefix, "rougeL"), s.rougeL()).put(name(prefix, "tokenSetF1"), s.tokenSetF1())
                .put(name(prefix, "meteorExact"), s.meteorExact()).put(name(prefix, "samples"), s.samples());
    }

    private static TextLeakage.Scores scores(JsonNode o, String prefix) {
        return new TextLeakage.Scores(score(o, name(prefix, "rougeL")), score(o, name(prefix, "tokenSetF1")),
                score(o, name(prefix, "meteorExact")), o.path(name(prefix, "samples")).asInt());
    }

    /** {@code rougeL} or, with a prefix, {@code floorRougeL}. */
    private static String name(String prefix, String field) {
        return prefix.isEmpty() ? field : prefix + Character.toUpperCase(field.charAt(0)) + field.substring(1);
    }

    private static double score(JsonNode o, String field) {
        double v = finite(o, field);
        if (v < 0 || v > 1) {
            throw new IllegalArgumentException("'" + field + "' must be in [0, 1], got " + v);
        }
        return v;
    }

    private static double finite(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble())) {
            throw new IllegalArgumentException("'" + field + "' is not a finite number");
        }
        return v.asDouble();
    }

    private static String pass(JsonNode n) {
        return SplitProtocol.requirePass(n.path("pass").asText(null));
    }

    private static long step(JsonNode n) {
        JsonNode step = n.get("step");
        if (step == null || !step.canConvertToLong() || step.asLong() < 0) {
            throw new IllegalArgumentException("'step' is not a step number >= 0");
        }
        return step.asLong();
    }

    private static String attack(JsonNode a) {
        String id = a.path("attack").asText("");
        if (!ATTACK.matcher(id).matches()) {
            throw new IllegalArgumentException("attack '" + id + "' is not an attack id");
        }
        return id;
    }

    private static JsonNode array(JsonNode n, String field, int max) {
        JsonNode a = n.path(field);
        if (!a.isArray() || a.size() > max) {
            throw new IllegalArgumentException("'" + field + "' is not an array of at most " + max);
        }
        return a;
    }

    private static JsonNode tree(byte[] payload, String what) {
        try {
            JsonNode n = JSON.readTree(payload);
            if (n == null || !n.isObject()) {
                throw new IllegalArgumentException(what + " payload is not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " payload is not JSON: " + e.getMessage());
        }
    }

    private static String truncate(String detail) {
        return detail == null ? "" : detail.length() > MAX_DETAIL ? detail.substring(0, MAX_DETAIL) : detail;
    }

    private static byte[] bytes(ObjectNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
