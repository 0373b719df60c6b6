package io.guardedtuning.session;

import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.wire.CodecFormat;
import io.guardedtuning.wire.CodecSpec;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.SessionKey;
import io.guardedtuning.wire.TensorEventVerifier;
import io.guardedtuning.wire.TensorEventWriter;
import io.guardedtuning.wire.Verdict;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A Gradfree step's h_in sent ahead of its step: answered once, kept when its answer comes early, retried safely. */
class RemoteBackboneLinkAheadTest {

    private static final WireLimits LIMITS = WireLimits.chunkedDefaults();
    private static final SessionKey KEY = new SessionKeys(new byte[32]).forSession("ahead");
    private static final long[] LENGTHS = {3, 2};

    /** The provider's side in miniature: verifies what comes up as server-compute does, answers with 2 × h_in. */
    private static final class Backbone {
        final TensorEventVerifier verifier = new TensorEventVerifier(KEY,
                EnumSet.of(EventKind.ACTIVATION_UP, EventKind.CONTROL), LIMITS, Clock.systemUTC());
        final TensorEventWriter writer = new TensorEventWriter("server", KEY, LIMITS);
        final List<Verdict.Accepted> activations = new ArrayList<>();
        Predicate<Verdict.Accepted> answerAtOnce = a -> false;
        RemoteBackboneLink link;

        void receive(List<ProducerRecord<String, byte[]>> records) {
            for (ProducerRecord<String, byte[]> r : records) {
                if (!r.topic().equals(Topics.ACTIVATIONS_UP)) {
                    continue;
                }
                Verdict v = verifier.verify(r.key(), r.headers(), r.value());
                if (v instanceof Verdict.Accepted a && a.event().metadata().kind() == EventKind.ACTIVATION_UP) {
                    activations.add(a);
                    if (answerAtOnce.test(a)) {
                        answer(a);
                    }
                } else if (!(v instanceof Verdict.Accepted)) {
                    throw new AssertionError("the backbone refused " + v);
                }
            }
        }

        void answer(Verdict.Accepted request) {
            var m = request.event().metadata();
            ProducerRecord<String, byte[]> r = writer.records(Topics.sessionDown("ahead"), writer.tensorEvent(
                    EventKind.ACTIVATION_DOWN, m.step(), m.microBatch(), m.attempt(), Map.of(),
                    doubled(request.tensor().orElseThrow()), CodecSpec.of(CodecFormat.FP32))).get(0);
            link.onRecord(new ConsumerRecord<>(r.topic(), 0, 0, 0, TimestampType.CREATE_TIME, -1, -1, r.key(),
                    r.value(), r.headers(), Optional.empty()));
        }
    }

    private static HostTensor activation(int seed) {
        float[] data = new float[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) {
            data[i] = seed * 100 + i;
        }
        return new HostTensor(new long[] {2, 3, 4}, data);
    }

    private static HostTensor doubled(HostTensor t) {
        float[] data = t.data().clone();
        for (int i = 0; i < data.length; i++) {
            data[i] *= 2;
        }
        return new HostTensor(t.shape(), data);
    }

    private static final HostTensor H0 = activation(0);
    private static final HostTensor H1 = activation(1);

    /** A started link whose steps 0 and 1 went ahead (both before either ran). */
    private static RemoteBackboneLink twoStepsAhead(Backbone backbone, Duration timeout) {
        return twoStepsAhead(backbone, timeout, true);
    }

    private static RemoteBackboneLink twoStepsAhead(Backbone backbone, Duration timeout, boolean sendAhead) {
        RemoteBackboneLink link = new RemoteBackboneLink(KEY, "client", LIMITS,
                new RemoteBackboneLink.Settings(32, 32, 32, 32, timeout, 3, 1, sendAhead), backbone::receive,
                Clock.systemUTC());
        backbone.link = link;
        link.start(1000, SplitProtocol.TRAIN, KnownDefence.NONE);
        link.sendAhead(0, H0, LENGTHS);
        link.sendAhead(1, H1, LENGTHS);
        return link;
    }

    /** Runs steps 0 and 1; returns the h_out each step's top half received. */
    private static List<HostTensor> runBothSteps(RemoteBackboneLink link) {
        List<HostTensor> seen = new ArrayList<>();
        for (long step = 0; step < 2; step++) {
            link.exchange(step, step == 0 ? H0 : H1, LENGTHS, false, (part, hOut) -> {
                seen.add(hOut);
                return null;
            });
        }
        return seen;
    }

    private static List<Long> steps(Backbone backbone) {
        return backbone.activations.stream().map(a -> a.event().metadata().step()).toList();
    }

    @Test
    void stepsSentAheadAreEachSentOnceAndAnAnswerThatComesBeforeItsTurnIsKept() {
        Backbone backbone = new Backbone();
        RemoteBackboneLink link = twoStepsAhead(backbone, Duration.ofSeconds(10));
        assertEquals(List.of(0L, 1L), steps(backbone), "both steps went out before either ran");
        backbone.answer(backbone.activations.get(1));
        backbone.answer(backbone.activations.get(0));

        assertEquals(List.of(doubled(H0), doubled(H1)), runBothSteps(link));
        assertEquals(2, backbone.activations.size(), "no step was sent again");
        assertEquals(0, link.stats().retries());
        assertEquals(0, link.stats().answersDropped());
        assertEquals(0, link.stats().rejected());
    }

    @Test
    void withSendingAheadOffEachStepGoesOutInItsTurn() {
        Backbone backbone = new Backbone();
        backbone.answerAtOnce = a -> true;
        RemoteBackboneLink link = twoStepsAhead(backbone, Duration.ofSeconds(10), false);
        assertEquals(List.of(), steps(backbone), "nothing went ahead");
        assertEquals(List.of(doubled(H0), doubled(H1)), runBothSteps(link));
        assertEquals(List.of(0L, 1L), steps(backbone), "each step went once, in its turn");
    }

    @Test
    void aStepRetriedAfterTheNextWentAheadIsAcceptedAndAnsweredOnBothSides() {
        Backbone backbone = new Backbone();
        RemoteBackboneLink link = twoStepsAhead(backbone, Duration.ofMillis(300));
        // Step 0's first answer is lost; step 1's comes; the retry of step 0 (attempt 1) is answered at once.
        backbone.answer(backbone.activations.get(1));
        backbone.answerAtOnce = a -> a.event().metadata().attempt() > 0;

        assertEquals(List.of(doubled(H0), doubled(H1)), runBothSteps(link));
        assertEquals(List.of(0L, 1L, 0L), steps(backbone));
        assertEquals(1, backbone.activations.get(2).event().metadata().attempt());
        assertEquals(1, link.stats().retries());
        assertEquals(0, link.stats().rejected(), "the client took step 0's answer after step 1's");
    }
}
