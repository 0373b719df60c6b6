package io.guardedtuning.offline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.guardedtuning.model.OptConfig;
import io.guardedtuning.offline.PackageRejectedException.Reason;
import io.guardedtuning.tensor.HostTensor;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;

/**
 * What the provider sends a client in the Offline design: the emulator (adapters included) as safetensors and a
 * JSON manifest naming the session, the layout and the tensors' SHA-256, the manifest signed with the provider's
 * Ed25519 key. Binding the session id into the signed manifest means a package cannot be replayed to another
 * session; the digest means no tensor can be swapped.
 *
 * <p>Bytes: {@code "GTEMUPK1"}, u32 manifest length, manifest, u32 signature length, signature, safetensors.
 */
public final class EmulatorPackage {

    public static final int FORMAT_VERSION = 1;
    private static final byte[] MAGIC = "GTEMUPK1".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The signed description of a package. */
    public record Manifest(int format, String sessionId, EmulatorLayout layout, OptConfig emulatorConfig,
                           String tensorsSha256, long tensorsBytes, Instant created) {
    }

    /** A verified package: its manifest, its tensors, and the SHA-256 of the whole package (to bind adapters to it). */
    public record Verified(Manifest manifest, Map<String, HostTensor> tensors, String packageDigest) {

        public EmulatorBuilder.Emulator emulator() {
            return new EmulatorBuilder.Emulator(manifest.emulatorConfig(), manifest.layout(), tensors);
        }
    }

    private EmulatorPackage() {
    }

    public static byte[] create(String sessionId, EmulatorBuilder.Emulator emulator, PrivateKey providerKey) {
        io.guardedtuning.messaging.Topics.requireSessionId(sessionId);
        byte[] tensors = TensorBytes.encode(emulator.tensors());
        ObjectNode m = JSON.createObjectNode();
        m.put("format", FORMAT_VERSION);
        m.put("session", sessionId);
        m.put("full_layers", emulator.layout().fullLayers());
        m.put("k", emulator.layout().k());
        ArrayNode kept = m.putArray("kept_middle");
        Arrays.stream(emulator.layout().keptMiddle()).forEach(kept::add);
        ArrayNode keptFull = m.putArray("kept_full_layers");
        Arrays.stream(emulator.layout().keptFullLayers()).forEach(keptFull::add);
        m.set("config", emulator.config().toJson());
        m.put("tensors_sha256", sha256(tensors));
        m.put("tensors_bytes", tensors.length);
        m.put("created", Instant.now().toString());
        byte[] manifest;
        byte[] signature;
        try {
            manifest = JSON.writeValueAsBytes(m);
            Signature signer = Signature.getInstance(ProviderKeys.ALGORITHM);
            signer.initSign(providerKey);
            signer.update(manifest);
            signature = signer.sign();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign the package manifest: " + e.getMessage(), e);
        }
        return ByteBuffer.allocate(MAGIC.length + 8 + manifest.length + signature.length + tensors.length)
                .put(MAGIC).putInt(manifest.length).put(manifest).putInt(signature.length).put(signature).put(tensors)
                .array();
    }

    /**
     * Checks the signature with the provider's public key, the session binding and the tensor digest, then decodes.
     *
     * @throws PackageRejectedException MALFORMED, BAD_SIGNATURE, WRONG_SESSION or DIGEST_MISMATCH
     */
    public static Verified verify(byte[] bytes, PublicKey providerKey, String expectedSession)
            throws PackageRejectedException {
        ByteBuffer in = ByteBuffer.wrap(bytes);
        byte[] manifestBytes;
        byte[] signature;
        byte[] tensors;
        try {
            byte[] magic = new byte[MAGIC.length];
            in.get(magic);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new PackageRejectedException(Reason.MALFORMED, "not an emulator package (bad magic)");
            }
            manifestBytes = slice(in, in.getInt());
            signature = slice(in, in.getInt());
            tensors = slice(in, in.remaining());
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new PackageRejectedException(Reason.MALFORMED, "truncated package (" + bytes.length + " bytes)");
        }
        if (!signatureValid(manifestBytes, signature, providerKey)) {
            throw new PackageRejectedException(Reason.BAD_SIGNATURE,
                    "the manifest's signature does not verify with the provider's public key");
        }
        Manifest manifest = parse(manifestBytes);
        if (!manifest.sessionId().equals(expectedSession)) {
            throw new PackageRejectedException(Reason.WRONG_SESSION, "package was issued to session '"
                    + manifest.sessionId() + "', not '" + expectedSession + "'");
        }
        if (tensors.length != manifest.tensorsBytes() || !sha256(tensors).equals(manifest.tensorsSha256())) {
            throw new PackageRejectedException(Reason.DIGEST_MISMATCH,
                    "the tensors do not match the SHA-256 the signed manifest names");
        }
        try {
            Map<String, HostTensor> decoded = TensorBytes.decode(tensors);
            return new Verified(manifest, decoded, sha256(bytes));
        } catch (IOException | RuntimeException e) {
            throw new PackageRejectedException(Reason.MALFORMED, "signed but undecodable tensors: " + e.getMessage());
        }
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is mandatory on every Java platform", e);
        }
    }

    private static boolean signatureValid(byte[] manifest, byte[] signature, PublicKey key) {
        try {
            Signature verifier = Signature.getInstance(ProviderKeys.ALGORITHM);
            verifier.initVerify(key);
            verifier.update(manifest);
            return verifier.verify(signature);
        } catch (SignatureException e) {
            return false;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is built into Java 15+", e);
        }
    }

    private static Manifest parse(byte[] manifestBytes) throws PackageRejectedException {
        try {
            JsonNode m = JSON.readTree(manifestBytes);
            if (m.path("format").asInt() != FORMAT_VERSION) {
                throw new PackageRejectedException(Reason.MALFORMED, "unsupported package format " + m.path("format"));
            }
            int[] kept = new int[m.path("kept_middle").size()];
            for (int i = 0; i < kept.length; i++) {
                kept[i] = m.path("kept_middle").get(i).asInt();
            }
            EmulatorLayout layout = new EmulatorLayout(m.path("full_layers").asInt(), m.path("k").asInt(), kept);
            OptConfig config = OptConfig.fromJson(m.path("config"), "package manifest");
            if (config.numHiddenLayers() != layout.emulatorLayers()) {
                throw new PackageRejectedException(Reason.MALFORMED, "config has " + config.numHiddenLayers()
                        + " layers, layout " + layout.emulatorLayers());
            }
            return new Manifest(FORMAT_VERSION, m.path("session").asText(), layout, config,
                    m.path("tensors_sha256").asText(), m.path("tensors_bytes").asLong(),
                    Instant.parse(m.path("created").asText()));
        } catch (IOException | RuntimeException e) {
            throw new PackageRejectedException(Reason.MALFORMED, "unreadable manifest: " + e.getMessage());
        }
    }

    private static byte[] slice(ByteBuffer in, int length) {
        if (length < 0 || length > in.remaining()) {
            throw new IllegalArgumentException("bad length " + length);
        }
        byte[] out = new byte[length];
        in.get(out);
        return out;
    }
}
