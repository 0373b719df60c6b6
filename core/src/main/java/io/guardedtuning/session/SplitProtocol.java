package io.guardedtuning.session;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.wire.EventMetadata;
import io.guardedtuning.wire.RejectReason;
import io.guardedtuning.wire.WireRejectionException;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The attributes the split exchange adds to tensor events (signed with them; see docs/wire-format.md):
 * <ul>
 *   <li>{@code lengths}: real tokens per sequence of h_in (the padding mask, which the backbone needs);</li>
 *   <li>{@code backward}: 1 if a gradient will follow (Online), 0 for forward only (Gradfree, evaluation);</li>
 *   <li>{@code bitsdown}: the precision the client wants the answer in;</li>
 *   <li>{@code action}: on CONTROL events from the server, {@code resend} asks for the step's activation again;
 *   on the client's CONTROL {@code start}, a run or pass begins;</li>
 *   <li>{@code pass}: on every activation, gradient and start from the client, the pass the step belongs to
 *   ({@code eval-before}, {@code train}, {@code eval-after}): each pass numbers its steps from 0, so a step is
 *   named by (session, pass, step) and never matched with another pass's;</li>
 *   <li>on the start, the session's {@link KnownDefence} (design, bits up, noise, alpha, lr, warm-up);</li>
 *   <li>{@code noise}: on every activation, the σ of the noise on this h_in (the leakage budget may raise it within a
 *   pass, so the attacker trains through what was applied, not what the start announced).</li>
 * </ul>
 */
public final class SplitProtocol {

    public static final String LENGTHS = "lengths";
    public static final String BACKWARD = "backward";
    public static final String BITS_DOWN = "bitsdown";
    public static final String ACTION = "action";
    public static final String RESEND = "resend";
    /** CONTROL up: a client run (re)starts; its step is a timestamp, so a replayed older start is stale. */
    public static final String START = "start";
    public static final String PASS = "pass";
    public static final String NOISE = "noise";
    /** On an activation of a micro-batch: the row of the step's batch its first row is. */
    public static final String FIRST_ROW = "firstrow";
    /** The evaluation pass before training (test examples, forward only). */
    public static final String EVAL_BEFORE = "eval-before";
    /** The training pass: its steps count on across epochs (and across a resumed run). */
    public static final String TRAIN = "train";
    /** The evaluation pass after training. */
    public static final String EVAL_AFTER = "eval-after";

    private static final Pattern PASS_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");

    private SplitProtocol() {
    }

    public static Map<String, String> activationAttributes(long[] lengths, boolean backward, int bitsDown,
                                                           String pass, float noiseStd) {
        return activationAttributes(lengths, backward, bitsDown, pass, noiseStd, 0);
    }

    /** @param firstRow the batch row a micro-batch's first row is (0 for a whole batch) */
    public static Map<String, String> activationAttributes(long[] lengths, boolean backward, int bitsDown,
                                                           String pass, float noiseStd, int firstRow) {
        if (!KnownDefence.isFiniteNonNegative(noiseStd)) {
            throw new IllegalArgumentException("noise σ must be finite and >= 0, got " + noiseStd);
        }
        if (firstRow < 0) {
            throw new IllegalArgumentException("first row must be >= 0, got " + firstRow);
        }
        return Map.of(LENGTHS, Arrays.stream(lengths).mapToObj(Long::toString).collect(Collectors.joining(",")),
                BACKWARD, backward ? "1" : "0", BITS_DOWN, Integer.toString(bitsDown), PASS, requirePass(pass),
                NOISE, Float.toString(noiseStd), FIRST_ROW, Integer.toString(firstRow));
    }

    /** The batch row a micro-batch's activation starts at; 0 when the sender does not name it (a whole batch). */
    public static int firstRow(EventMetadata m) {
        String value = m.attribute(FIRST_ROW);
        if (value == null) {
            return 0;
        }
        try {
            int row = Integer.parseInt(value);
            if (row < 0) {
                throw protocol("first row " + row + " is negative");
            }
            return row;
        } catch (NumberFormatException e) {
            throw protocol("first row '" + value + "' is not an integer");
        }
    }

    /** The σ of the noise on an activation's h_in; empty when the sender does not name it (the start's holds). */
    public static Optional<Float> noise(EventMetadata m) {
        String v = m.attribute(NOISE);
        if (v == null) {
            return Optional.empty();
        }
        try {
            float f = Float.parseFloat(v);
            if (!KnownDefence.isFiniteNonNegative(f)) {
                throw new NumberFormatException();
            }
            return Optional.of(f);
        } catch (NumberFormatException e) {
            throw protocol("noise '" + v + "' is not a finite σ >= 0");
        }
    }

    public static Map<String, String> gradientAttributes(int bitsDown, String pass) {
        return Map.of(BITS_DOWN, Integer.toString(bitsDown), PASS, requirePass(pass));
    }

    /** The client's CONTROL start of a pass: the action, the pass and the defence the provider may know of. */
    public static Map<String, String> startAttributes(String pass, KnownDefence defence) {
        Map<String, String> out = new LinkedHashMap<>(defence.toAttributes());
        out.put(ACTION, START);
        out.put(PASS, requirePass(pass));
        return out;
    }

    /** A pass name: 1-32 lower-case letters, digits or '-', starting with a letter or digit. */
    public static String requirePass(String pass) {
        if (pass == null || !PASS_NAME.matcher(pass).matches()) {
            throw new IllegalArgumentException("pass '" + pass + "' is invalid: use 1-32 characters a-z, 0-9 or '-'");
        }
        return pass;
    }

    /** Whether a pass trains (its steps are the ones the headline leakage is taken over). */
    public static boolean isTraining(String pass) {
        return pass.equals(TRAIN) || pass.startsWith(TRAIN + "-");
    }

    /** The pass of an activation, gradient or start event (required: steps of different passes share numbers). */
    public static String pass(EventMetadata m) {
        try {
            return requirePass(required(m, PASS));
        } catch (IllegalArgumentException e) {
            throw protocol(e.getMessage());
        }
    }

    /** Lengths of an activation event, checked against its [batch, tokens, hidden] shape. */
    public static long[] lengths(EventMetadata m) {
        String value = required(m, LENGTHS);
        long[] shape = m.shape();
        try {
            long[] lengths = Arrays.stream(value.split(",")).mapToLong(Long::parseLong).toArray();
            if (shape.length != 3 || lengths.length != shape[0]) {
                throw protocol("lengths '" + value + "' do not fit activation shape " + Arrays.toString(shape));
            }
            long max = 0;
            for (long l : lengths) {
                if (l < 1 || l > shape[1]) {
                    throw protocol("length " + l + " outside 1.." + shape[1]);
                }
                max = Math.max(max, l);
            }
            if (max != shape[1]) {
                throw protocol("no sequence fills the " + shape[1] + " token positions");
            }
            return lengths;
        } catch (NumberFormatException e) {
            throw protocol("lengths '" + value + "' are not integers");
        }
    }

    public static boolean backward(EventMetadata m) {
        return switch (required(m, BACKWARD)) {
            case "1" -> true;
            case "0" -> false;
            default -> throw protocol("backward must be 0 or 1");
        };
    }

    public static int bitsDown(EventMetadata m) {
        try {
            return Precision.requireSupported("requested", Integer.parseInt(required(m, BITS_DOWN)));
        } catch (IllegalArgumentException e) {
            throw protocol(e.getMessage());
        }
    }

    private static String required(EventMetadata m, String name) {
        String v = m.attribute(name);
        if (v == null) {
            throw new WireRejectionException(RejectReason.MISSING_HEADER, "attribute '" + name + "' missing on "
                    + m.kind() + " step " + m.step());
        }
        return v;
    }

    static WireRejectionException protocol(String detail) {
        return new WireRejectionException(RejectReason.PROTOCOL, detail);
    }
}
