package io.guardedtuning.faults;

import io.guardedtuning.faults.SplitSessionFixture.ClientRun;
import io.guardedtuning.faults.SplitSessionFixture.LinkSetup;
import io.guardedtuning.faults.SplitSessionFixture.ServerReplica;
import io.guardedtuning.kafka.EmbeddedKafkaBroker;
import io.guardedtuning.kafka.EmbeddedKafkaExtension;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.session.SessionSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static io.guardedtuning.faults.SplitSessionFixture.assertSameRun;
import static io.guardedtuning.faults.SplitSessionFixture.ensurePartitions;
import static io.guardedtuning.faults.SplitSessionFixture.online;
import static io.guardedtuning.faults.SplitSessionFixture.partitionOf;
import static io.guardedtuning.faults.SplitSessionFixture.runInProcess;
import static io.guardedtuning.faults.SplitSessionFixture.runOverKafka;
import static io.guardedtuning.faults.SplitSessionFixture.sessionId;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A second backbone replica joins the consumer group mid-session, takes the session's partition, and leaves. */
@ExtendWith(EmbeddedKafkaExtension.class)
class ReplicaRebalanceTest {

    private static final int PARTITIONS = 4;

    @Test
    void theSessionFollowsItsPartitionToTheNewReplicaAndBack(EmbeddedKafkaBroker broker) throws Exception {
        ensurePartitions(broker, PARTITIONS, Topics.ACTIVATIONS_UP, Topics.GRADIENTS_UP);
        // The range assignor orders members by id (client id first) and gives the second member the upper half of
        // the partitions: a session there moves to "rebalance-b" when it joins and back when it leaves.
        String session;
        do {
            session = sessionId("move");
        } while (partitionOf(session, PARTITIONS) < PARTITIONS / 2);
        SessionSettings s = online(session, 10);
        ClientRun reference = runInProcess(s);

        // Joining blocks the client between steps 1 and 2 until the newcomer holds its partitions; leaving
        // happens on another thread while step 5 is under way.
        ExecutorService operator = Executors.newSingleThreadExecutor();
        AtomicReference<ServerReplica> second = new AtomicReference<>();
        AtomicLong firstHandledWhenSecondLeft = new AtomicLong(-1);
        ClientRun run;
        try (ServerReplica first = new ServerReplica(broker, "rebalance-a")) {
            String id = session;
            run = runOverKafka(broker, s, LinkSetup.patient().retrying(Duration.ofSeconds(6), 15).withProgress(step -> {
                if (step.step() == 1) {
                    second.set(new ServerReplica(broker, "rebalance-b"));
                } else if (step.step() == 4) {
                    operator.submit(() -> {
                        second.get().close();
                        firstHandledWhenSecondLeft.set(first.handled(id));
                        return null;
                    });
                }
            }));
            operator.shutdown();
            assertTrue(operator.awaitTermination(60, TimeUnit.SECONDS));
            assertTrue(second.get().handled(session) > 0, "the session's partition moved to the new replica");
            assertTrue(first.handled(session) > firstHandledWhenSecondLeft.get(),
                    "the partition came back to the first replica");
        } finally {
            operator.shutdownNow();
        }
        assertSameRun(reference, run);
    }
}
