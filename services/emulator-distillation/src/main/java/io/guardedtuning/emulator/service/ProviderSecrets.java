package io.guardedtuning.emulator.service;

import io.guardedtuning.emulator.config.EmulatorConfig;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.session.SessionKeys;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.Optional;

/** The provider's keys: Ed25519 package signing, per-session HMAC keys and the watermark key. */
record ProviderSecrets(PrivateKey signingKey, PublicKey publicKey, SessionKeys sessionKeys, byte[] watermarkKey) {

    static ProviderSecrets from(EmulatorConfig config) {
        EmulatorConfig.Signing s = config.signing();
        PrivateKey signing = ProviderKeys.privateKey(text(s.privateKey(), s.privateKeyFile(), "private"));
        PublicKey pub = ProviderKeys.publicKey(text(s.publicKey(), s.publicKeyFile(), "public"));
        return new ProviderSecrets(signing, pub, SessionKeys.fromHex(config.masterKey()),
                watermarkKey(config.masterKey()));
    }

    /** Derived, not the master itself: a leak of the watermark key must not reveal session keys. */
    private static byte[] watermarkKey(String masterHex) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(HexFormat.of().parseHex(masterHex.trim()), "HmacSHA256"));
            return mac.doFinal("gt-watermark-key".getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is mandatory on every Java platform", e);
        }
    }

    private static String text(Optional<String> inline, Optional<Path> file, String which) {
        if (inline.isPresent() && !inline.get().isBlank()) {
            return inline.get();
        }
        Path path = file.orElseThrow(() -> new IllegalStateException("no provider " + which
                + " key: set gt.emulator.signing." + which + "-key or " + which + "-key-file"));
        try {
            return ProviderKeys.readBase64(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the provider " + which + " key " + path, e);
        }
    }
}
