package io.guardedtuning.faults;

import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.session.PlainKafkaTransport;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

import static io.guardedtuning.faults.SplitSessionFixture.CONFIG;
import static io.guardedtuning.faults.SplitSessionFixture.KEYS;
import static io.guardedtuning.faults.SplitSessionFixture.LIMITS;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Misconfiguration stops at once, with a message that names the problem. */
class ConfigurationErrorsTest {

    private static void assertMentions(Throwable e, String... words) {
        for (String w : words) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(w), "'" + w + "' missing from: " + e.getMessage());
        }
    }

    @Test
    void sessionSettingsNameEveryProblem() {
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Design.parse("federated")),
                "unknown design 'federated'", "online, gradfree, offline");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> new SessionSettings("s1", Design.ONLINE, 2,
                0f, 7, 32, 3, 32, 8, 1e-3f, 1, 1, 0, 0, 0)), "bits up", "gradient bits up", "7", "3");
        SessionSettings deep = new SessionSettings("s1", Design.ONLINE, CONFIG.numHiddenLayers(), 0f, 32, 32, 32, 32, 8,
                1e-3f, 1, 1, 0, 0, 0);
        assertMentions(assertThrows(IllegalArgumentException.class, () -> deep.split(CONFIG)),
                "invalid session settings", Integer.toString(CONFIG.numHiddenLayers()));
    }

    @Test
    void aMasterKeyThatIsNotHexOrTooShortIsRefused() {
        assertMentions(assertThrows(IllegalArgumentException.class, () -> SessionKeys.fromHex("not-hex-at-all")),
                "hex");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> SessionKeys.fromHex("00ff")),
                "32 bytes", "got 2");
    }

    @Test
    void aMissingCheckpointDirectoryIsNamed() throws IOException {
        Path missing = Files.createTempDirectory("gt-missing").resolve("no-such-model");
        assertMentions(assertThrows(IOException.class, () -> ModelCatalog.resolve(missing.toString())),
                missing.toString());
        assertMentions(assertThrows(IOException.class, () -> ModelFiles.load(missing)), missing.toString());
    }

    @Test
    void aLinkToAnUnreachableBrokerFailsWithinItsBudgetNamingSessionAndStep() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        Duration timeout = Duration.ofSeconds(2);
        try (KafkaProducer<String, byte[]> producer = PlainKafkaTransport.producer("127.0.0.1:" + closedPort,
                LIMITS)) {
            RemoteBackboneLink link = new RemoteBackboneLink(KEYS.forSession("nowhere-1"), "client", LIMITS,
                    new RemoteBackboneLink.Settings(32, 32, 32, 32, timeout, 2),
                    records -> records.forEach(producer::send), Clock.systemUTC());
            long started = System.nanoTime();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> link.forward(3,
                    new HostTensor(new long[] {1, 2, CONFIG.hiddenSize()}, new float[2 * CONFIG.hiddenSize()]),
                    new long[] {2}, true));
            long seconds = (System.nanoTime() - started) / 1_000_000_000;
            assertMentions(e, "session nowhere-1", "step 3", "2 attempts");
            // Each attempt waits at most the link timeout or the producer's bounded blocking, whichever is longer.
            assertTrue(seconds <= 2 * 6 + 2, "took " + seconds + " s");
        }
    }
}
