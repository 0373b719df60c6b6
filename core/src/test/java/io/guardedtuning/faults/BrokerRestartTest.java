package io.guardedtuning.faults;

import io.guardedtuning.faults.SplitSessionFixture.ClientRun;
import io.guardedtuning.faults.SplitSessionFixture.LinkSetup;
import io.guardedtuning.faults.SplitSessionFixture.ServerReplica;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.wire.EventKind;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

import static io.guardedtuning.faults.SplitSessionFixture.assertSameRun;
import static io.guardedtuning.faults.SplitSessionFixture.isEvent;
import static io.guardedtuning.faults.SplitSessionFixture.online;
import static io.guardedtuning.faults.SplitSessionFixture.runInProcess;
import static io.guardedtuning.faults.SplitSessionFixture.runOverKafka;
import static io.guardedtuning.faults.SplitSessionFixture.sessionId;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The broker goes down and comes back on the same data directory while a step is in flight. */
class BrokerRestartTest {

    @Test
    void producersAndConsumersRecoverByThemselvesAndTheSessionEndsUnchanged() throws Exception {
        // A broker of its own: the shared one must not vanish under other test classes.
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.inTemporaryDirectory().start()) {
            SessionSettings s = online(sessionId("bounce"), 6);
            ClientRun reference = runInProcess(s);
            AtomicBoolean triggered = new AtomicBoolean();
            CountDownLatch restarted = new CountDownLatch(1);
            ClientRun run;
            // Restart from another thread as the server consumes step 2's activation: its answer, and the
            // client's next request, meet a broker that is gone.
            try (ServerReplica server = new ServerReplica(broker, "bounce-server", r -> {
                if (isEvent(r, s.sessionId(), EventKind.ACTIVATION_UP, 2) && triggered.compareAndSet(false, true)) {
                    Thread restart = new Thread(() -> {
                        broker.restart();
                        restarted.countDown();
                    }, "broker-restart");
                    restart.start();
                }
            }, UnaryOperator.identity())) {
                run = runOverKafka(broker, s, LinkSetup.patient().retrying(Duration.ofSeconds(10), 6));
            }
            assertEquals(0, restarted.getCount(), "the broker was restarted during the session");
            assertSameRun(reference, run);
        }
    }
}
