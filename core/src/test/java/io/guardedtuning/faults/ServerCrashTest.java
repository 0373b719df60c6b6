package io.guardedtuning.faults;

import io.guardedtuning.faults.SplitSessionFixture.ClientRun;
import io.guardedtuning.faults.SplitSessionFixture.LinkSetup;
import io.guardedtuning.faults.SplitSessionFixture.ServerReplica;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.kafka.EmbeddedKafkaExtension;
import io.guardedtuning.session.SessionMeter;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.WireHeaders;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static io.guardedtuning.faults.SplitSessionFixture.assertSameRun;
import static io.guardedtuning.faults.SplitSessionFixture.header;
import static io.guardedtuning.faults.SplitSessionFixture.isEvent;
import static io.guardedtuning.faults.SplitSessionFixture.online;
import static io.guardedtuning.faults.SplitSessionFixture.runInProcess;
import static io.guardedtuning.faults.SplitSessionFixture.runOverKafka;
import static io.guardedtuning.faults.SplitSessionFixture.sessionId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backbone replicas that die in the middle of a step, each replaced by a fresh one with nothing held. */
@ExtendWith(EmbeddedKafkaExtension.class)
class ServerCrashTest {

    /** Thrown from inside the poll loop: the record is consumed, never answered, and its offset never committed. */
    static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String what) {
            super("simulated server crash on " + what);
        }
    }

    static Consumer<ConsumerRecord<String, byte[]>> crashOn(String session, EventKind kind, long step,
                                                             CountDownLatch crashed) {
        return r -> {
            if (isEvent(r, session, kind, step)) {
                crashed.countDown();
                throw new SimulatedCrash(kind + " step " + step);
            }
        };
    }

    @Test
    void killedServersAreReplacedAndTheSessionEndsAsIfNothingHappened(EmbeddedKafkaBroker broker) throws Exception {
        SessionSettings s = online(sessionId("crash"), 6);
        String session = s.sessionId();
        ClientRun reference = runInProcess(s);

        // First death: the activation of step 2 consumed, not answered nor committed, so the replacement gets it
        // again (or the client's retry after its timeout, whichever comes first).
        // Second death: the gradient of step 4, after its activation was answered, so the third replica lacks the
        // step and asks for a resend.
        CountDownLatch firstDied = new CountDownLatch(1);
        CountDownLatch secondDied = new CountDownLatch(1);
        Set<Long> stepsSeenBySecond = new ConcurrentSkipListSet<>();
        ExecutorService clientThread = Executors.newSingleThreadExecutor();
        ClientRun run;
        try {
            ServerReplica first = new ServerReplica(broker, "crash-a", crashOn(session, EventKind.ACTIVATION_UP, 2,
                    firstDied), UnaryOperator.identity());
            Future<ClientRun> client = clientThread.submit(() -> runOverKafka(broker, s,
                    LinkSetup.patient().retrying(Duration.ofSeconds(3), 8)));
            assertTrue(firstDied.await(60, TimeUnit.SECONDS), "the first replica never reached step 2");
            SessionMeter.Counters firstCounters = first.endpoint().meter().snapshot().get(session);
            first.close();
            assertEquals(1, firstCounters.restarts(), "the client's start event reached the first replica");

            Consumer<ConsumerRecord<String, byte[]>> dieAtStep4 = crashOn(session, EventKind.GRADIENT_UP, 4,
                    secondDied);
            ServerReplica second = new ServerReplica(broker, "crash-b", r -> {
                if (session.equals(r.key())) {
                    stepsSeenBySecond.add(Long.parseLong(header(r, WireHeaders.STEP)));
                }
                dieAtStep4.accept(r);
            }, UnaryOperator.identity());
            assertTrue(secondDied.await(60, TimeUnit.SECONDS), "the second replica never reached step 4");
            second.close();

            try (ServerReplica third = new ServerReplica(broker, "crash-c")) {
                run = client.get(120, TimeUnit.SECONDS);
                SessionMeter.Counters thirdCounters = third.endpoint().meter().snapshot().get(session);
                assertTrue(thirdCounters.resendsRequested() >= 1, "the third replica lacked step 4: " + thirdCounters);
            }
        } finally {
            clientThread.shutdownNow();
        }

        assertSameRun(reference, run);
        assertTrue(run.link().resendsServed() >= 1, "step 4's activation sent again: " + run.link());
        // The replacement resumed at the committed offsets: the crashed step again (redelivered, so the client
        // needs no retry when the replacement is quick), nothing older.
        assertEquals(2L, stepsSeenBySecond.stream().min(Long::compare).orElseThrow(), stepsSeenBySecond.toString());
    }
}
