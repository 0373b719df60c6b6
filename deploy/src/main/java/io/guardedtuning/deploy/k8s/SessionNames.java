package io.guardedtuning.deploy.k8s;

import io.guardedtuning.messaging.Topics;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Kubernetes names for one session's resources. Session ids may hold upper case and '_' and run to 64 characters,
 * which Kubernetes names and label values do not allow, so resources carry a label form of the id: lower case,
 * '_' as '-', cut to 40 characters, plus 8 hex digits of its SHA-256 so distinct ids never share resources.
 * The exact id is kept in the {@value #SESSION_ID_ANNOTATION} annotation.
 */
public final class SessionNames {

    public static final String SESSION_LABEL = "guardedtuning.io/session";
    public static final String SESSION_ID_ANNOTATION = "guardedtuning.io/session-id";
    public static final String SESSION_SPEC_ANNOTATION = "guardedtuning.io/session-spec";
    public static final String SESSION_KEY_ENTRY = "GT_SESSION_KEY";

    private static final int READABLE_PART_LENGTH = 40;

    private final String sessionId;
    private final String label;

    public SessionNames(String sessionId) {
        this.sessionId = Topics.requireSessionId(sessionId);
        this.label = labelFor(sessionId);
    }

    public String sessionId() {
        return sessionId;
    }

    /** The value of {@link #SESSION_LABEL} on every resource of this session. */
    public String label() {
        return label;
    }

    public String downTopicResource() {
        return "gt-session-" + label + "-down";
    }

    public String kafkaUser() {
        return "gt-client-" + label;
    }

    public String clientJob() {
        return "gt-client-" + label;
    }

    public String emulatorJob() {
        return "gt-emulator-" + label;
    }

    public String keySecret() {
        return "gt-session-" + label + "-key";
    }

    private static String labelFor(String sessionId) {
        String readable = sessionId.toLowerCase(Locale.ROOT).replace('_', '-');
        if (readable.length() > READABLE_PART_LENGTH) {
            readable = readable.substring(0, READABLE_PART_LENGTH);
        }
        readable = readable.replaceAll("-+$", "");
        return readable + "-" + sha256Hex(sessionId).substring(0, 8);
    }

    private static String sha256Hex(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException impossible) {
            throw new IllegalStateException("every Java runtime provides SHA-256", impossible);
        }
    }
}
