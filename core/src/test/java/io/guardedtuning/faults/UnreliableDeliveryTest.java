package io.guardedtuning.faults;

import io.guardedtuning.faults.FaultInjectingSink.Fault;
import io.guardedtuning.faults.SplitSessionFixture.ClientRun;
import io.guardedtuning.faults.SplitSessionFixture.LinkSetup;
import io.guardedtuning.faults.SplitSessionFixture.ServerReplica;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.kafka.EmbeddedKafkaExtension;
import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.wire.RejectReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static io.guardedtuning.faults.SplitSessionFixture.assertSameRun;
import static io.guardedtuning.faults.SplitSessionFixture.online;
import static io.guardedtuning.faults.SplitSessionFixture.runInProcess;
import static io.guardedtuning.faults.SplitSessionFixture.runOverKafka;
import static io.guardedtuning.faults.SplitSessionFixture.sessionId;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Duplicated, delayed and reordered records in both directions, on every topic of the exchange. */
@ExtendWith(EmbeddedKafkaExtension.class)
class UnreliableDeliveryTest {

    private static final Duration LINK_TIMEOUT = Duration.ofSeconds(2);

    @Test
    void duplicatesAreDroppedLateAnswersIgnoredAndTheResultIsUnchanged(EmbeddedKafkaBroker broker)
            throws Exception {
        SessionSettings s = online(sessionId("chaos"), 6);
        ClientRun reference = runInProcess(s);
        long pastTheTimeout = LINK_TIMEOUT.toMillis() + 700;
        AtomicReference<FaultInjectingSink> clientFaults = new AtomicReference<>();
        AtomicReference<FaultInjectingSink> serverFaults = new AtomicReference<>();
        ClientRun run;
        SessionMeter.Counters served;
        Map<RejectReason, Long> serverRejections;
        try (ServerReplica server = new ServerReplica(broker, "chaos-server", r -> { },
                out -> install(serverFaults, new FaultInjectingSink(out, pastTheTimeout)))) {
            run = runOverKafka(broker, s, LinkSetup.patient().retrying(LINK_TIMEOUT, 10)
                    .withSink(out -> install(clientFaults, new FaultInjectingSink(out, pastTheTimeout))));
            served = server.endpoint().meter().snapshot().get(s.sessionId());
            serverRejections = server.endpoint().rejections();
        } finally {
            clientFaults.get().close();
            serverFaults.get().close();
        }

        assertSameRun(reference, run);
        for (FaultInjectingSink sink : new FaultInjectingSink[] {clientFaults.get(), serverFaults.get()}) {
            for (Fault f : Fault.values()) {
                assertTrue(sink.injected(f) > 0, f + " was never injected");
            }
        }
        long refusedUp = serverRejections.getOrDefault(RejectReason.REPLAYED, 0L)
                + serverRejections.getOrDefault(RejectReason.STALE_STEP, 0L);
        assertTrue(refusedUp > 0, "duplicated requests reach the dead letters as replays: " + serverRejections);
        assertTrue(run.link().rejected() > 0, "duplicated answers are refused by the client: " + run.link());
        assertTrue(run.link().answersDropped() > 0, "late answers to retried requests are dropped: " + run.link());
        assertTrue(run.link().retries() > 0, "requests delayed past the timeout are retried: " + run.link());
        assertTrue(served.retriesAnswered() > 0, "retries answered from the cache: " + served);
    }

    private static FaultInjectingSink install(AtomicReference<FaultInjectingSink> slot, FaultInjectingSink sink) {
        slot.set(sink);
        return sink;
    }
}
