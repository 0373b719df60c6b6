package io.guardedtuning.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.audit.messaging.AuditChannels;
import io.guardedtuning.audit.messaging.ReportHistory;
import io.guardedtuning.audit.service.AuditService;
import io.guardedtuning.audit.service.LeakagePoint;
import io.guardedtuning.audit.service.LeakageSeries;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.checkpoint.ModelFiles;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.model.OptModel;
import io.guardedtuning.model.TinyOpt;
import io.guardedtuning.privacy.DistanceCorrelation;
import io.guardedtuning.privacy.DistanceCorrelationPenalty;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.session.AuditProtocol;
import io.guardedtuning.session.AuditedSteps;
import io.guardedtuning.session.OwnerToken;
import io.guardedtuning.session.Precision;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.session.SessionSettings;
import io.guardedtuning.session.SplitProtocol;
import io.guardedtuning.split.ActivationRegularizer;
import io.guardedtuning.split.Design;
import io.guardedtuning.tensor.HostTensor;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.testing.HeadlessChromium;
import io.guardedtuning.testing.TokenIdSearch;
import io.guardedtuning.wire.DeadLetters;
import io.guardedtuning.wire.EventKind;
import io.guardedtuning.wire.TensorEventWriter;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.smallrye.reactive.messaging.ChannelRegistry;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.anyOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The auditor on a real broker with real split-learning traffic (core's client and server protocol). Client,
 * server and auditor share this JVM, and DJL allows one gradient recorder per JVM: the tap starts paused, all
 * traffic is made first, then the tap resumes and the auditor works through it, sending its reconstructions to
 * the clients, which score them against their own rows and send back only numbers.
 */
@QuarkusTest
@WithTestResource(EmbeddedKafkaResource.class)
class AttackAuditTest {

    static final String RUN = UUID.randomUUID().toString().substring(0, 6);
    static final String CLEAN = "clean-" + RUN;
    static final String DEFENDED = "defended-" + RUN;
    static final String GRADFREE = "gradfree-" + RUN;
    static final String MALFORMED = "malformed-" + RUN;
    static final String FOREIGN = "foreign-" + RUN;
    static final int CLEAN_STEPS = 6;
    static final int DEFENDED_STEPS = 12;
    /** Gradfree caches h_out after the first epoch (3 batches), so later steps send no activation. */
    static final int GRADFREE_STEPS = 3;
    /** The clean session evaluates first: its evaluation steps 0.. precede training steps 0.. of the same numbers. */
    static final int CLEAN_EVAL_STEPS = 2;
    /** Defended run: NoPeek weight and wire bits of h_in. */
    static final float DEFENDED_ALPHA = 32f;
    static final int DEFENDED_BITS = 4;

    private static boolean trafficMade;
    private static SplitTraffic traffic;
    private static final Map<String, SplitTraffic.ClientRun> clients = new HashMap<>();

    @Inject
    AuditService audit;

    @Inject
    ChannelRegistry channels;

    @Inject
    ObjectMapper json;

    @ConfigProperty(name = "gt.audit.master-key")
    String masterKey;

    @ConfigProperty(name = "gt.api.operator-token")
    String operatorToken;

    @ConfigProperty(name = "gt.audit.model")
    String model;

    @ConfigProperty(name = "gt.audit.alert-threshold")
    double threshold;

    @TestHTTPResource("/")
    URL page;

    @AfterAll
    static void stopTraffic() throws InterruptedException {
        if (traffic != null) {
            traffic.close();
        }
    }

    /** Makes all traffic once (tap paused), resumes the tap, and waits until every sampled step is reported. */
    synchronized void audited() throws Exception {
        if (!trafficMade) {
            makeTraffic();
            trafficMade = true;
            channels.getPausable(AuditChannels.TAP).resume();
        }
        await(Duration.ofMinutes(6), () -> scored(CLEAN, "sip") == CLEAN_STEPS && scored(GRADFREE, "sip") == GRADFREE_STEPS
                && scored(DEFENDED, "sip") == DEFENDED_STEPS && points(GRADFREE, "tag") == GRADFREE_STEPS
                && audit.session(CLEAN).size() == audit.attackIds().size());
    }

    private void makeTraffic() throws Exception {
        SessionKeys keys = SessionKeys.fromHex(masterKey);
        sendBadRecords(keys);
        Map<String, HostTensor> weights;
        try (OptModel pretrained = ModelFiles.load(ModelCatalog.resolve(model))) {
            weights = pretrained.toTensors(n -> true);
        }
        long started = System.nanoTime();
        // Open until the class is done: the clients score the reconstructions the auditor sends them later.
        traffic = new SplitTraffic(EmbeddedKafkaResource.broker(), TinyOpt.vocabulary(), TinyOpt.config(), weights,
                keys, 2);
        try (DistanceCorrelationPenalty noPeek = new DistanceCorrelationPenalty(DEFENDED_ALPHA,
                DistanceCorrelation.perToken())) {
            clients.put(CLEAN, traffic.runClient(SessionSettings.defaults(CLEAN, Design.ONLINE)
                    .withTraining(4, 1e-3f, 2, CLEAN_STEPS).withCheckpointsAndAudit(0, 1).withAlpha(0),
                    ActivationRegularizer.NONE, CLEAN_EVAL_STEPS));
            clients.put(DEFENDED, traffic.runClient(SessionSettings.defaults(DEFENDED, Design.ONLINE)
                    .withTraining(4, 5e-3f, 8, DEFENDED_STEPS).withCheckpointsAndAudit(0, 1)
                    .withAlpha(DEFENDED_ALPHA).withBits(DEFENDED_BITS, 32, 32, 32), noPeek, 0));
            clients.put(GRADFREE, traffic.runClient(SessionSettings.defaults(GRADFREE, Design.GRADFREE)
                    .withTraining(4, 1e-3f, 1, GRADFREE_STEPS).withCheckpointsAndAudit(0, 1),
                    ActivationRegularizer.NONE, 0));
        }
        System.out.printf(Locale.ROOT, "traffic made in %.1f s%n", (System.nanoTime() - started) / 1e9);
    }

    /** A record without any wire headers, and an authentic-looking activation signed with another provider's key. */
    private void sendBadRecords(SessionKeys keys) throws Exception {
        SessionKeys otherProvider = new SessionKeys(new byte[32]);
        HostTensor h = new HostTensor(new long[] {1, 2, TinyOpt.config().hiddenSize()},
                new float[2 * TinyOpt.config().hiddenSize()]);
        TensorEventWriter foreignWriter = new TensorEventWriter("intruder", otherProvider.forSession(FOREIGN),
                SplitTraffic.LIMITS);
        try (KafkaProducer<String, byte[]> p = SplitTraffic.producer(EmbeddedKafkaResource.broker())) {
            p.send(new ProducerRecord<>(Topics.ACTIVATIONS_UP, MALFORMED, "not an event".getBytes(
                    StandardCharsets.UTF_8))).get();
            for (ProducerRecord<String, byte[]> r : foreignWriter.records(Topics.ACTIVATIONS_UP,
                    foreignWriter.tensorEvent(EventKind.ACTIVATION_UP, 0, 0, 0,
                            SplitProtocol.activationAttributes(new long[] {2}, false, 32, SplitProtocol.TRAIN, 0f), h,
                            Precision.activations(32)))) {
                p.send(r).get();
            }
        }
    }

    @Test
    void sipRecoversAnUndefendedOnlineRunAndScoresMarkedlyLowerWhenDefended() throws Exception {
        audited();
        double clean = meanRougeL(CLEAN, "sip");
        double defended = meanRougeL(DEFENDED, "sip");
        System.out.printf(Locale.ROOT, "SIP mean ROUGE-L F1: undefended Online %.3f, defended (alpha %.0f, %d-bit) "
                + "%.3f%n", clean, DEFENDED_ALPHA, DEFENDED_BITS, defended);
        for (String attack : audit.attackIds()) {
            System.out.printf(Locale.ROOT, "  %-7s clean %.3f  defended %.3f  gradfree %s%n", attack,
                    meanRougeL(CLEAN, attack), meanRougeL(DEFENDED, attack), audit.session(GRADFREE).stream()
                            .filter(s -> s.attack().equals(attack)).findFirst().map(s -> s.latest().isScored()
                                    ? String.format(Locale.ROOT, "%.3f", meanRougeL(GRADFREE, attack))
                                    : s.latest().detail()).orElse("-"));
        }
        assertTrue(clean > 0.65, "SIP on the undefended run: " + clean);
        assertTrue(defended < clean - 0.3, "SIP on the defended run: " + defended + " vs " + clean);
    }

    @Test
    void gradientAttacksHaveNothingToAttackInGradfree() throws Exception {
        audited();
        for (String attack : List.of("tag", "bisr-b")) {
            LeakageSeries s = series(GRADFREE, attack);
            assertEquals(GRADFREE_STEPS, s.points().size());
            for (LeakagePoint p : s.points()) {
                assertTrue(p.detail().startsWith("nothing to attack"), p.detail());
                assertTrue(!p.isScored(), "nothing reconstructed is not scored");
            }
        }
        assertEquals(GRADFREE_STEPS, scored(GRADFREE, "sip"), "forward attacks still run in Gradfree");
        assertTrue(series(CLEAN, "tag").points().stream().allMatch(LeakagePoint::isScored),
                "Online steps carry the gradient");
    }

    @Test
    void malformedAndForeignRecordsAreDeadLetteredAndTheAuditGoesOn() throws Exception {
        audited();
        Map<String, String> reasons = new HashMap<>();
        try (KafkaConsumer<String, byte[]> c = SplitTraffic.consumer(EmbeddedKafkaResource.broker(),
                "dlq-check-" + UUID.randomUUID())) {
            c.subscribe(List.of(Topics.DEAD_LETTER));
            long deadline = System.currentTimeMillis() + 20_000;
            while (reasons.size() < 2 && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    Header group = r.headers().lastHeader(AuditChannels.DEAD_LETTER_GROUP_HEADER);
                    if (group != null && AuditChannels.GROUP.equals(new String(group.value(), StandardCharsets.UTF_8))) {
                        reasons.put(r.key(), new String(r.headers().lastHeader(DeadLetters.REASON).value(),
                                StandardCharsets.UTF_8));
                    }
                }
            }
        }
        assertEquals("MISSING_HEADER", reasons.get(MALFORMED), reasons.toString());
        assertEquals("BAD_MAC", reasons.get(FOREIGN), reasons.toString());
        assertTrue(audit.session(FOREIGN).isEmpty());
        assertEquals(CLEAN_STEPS, scored(CLEAN, "sip"), "sessions after the bad records were audited");
    }

    @Test
    void restServesTheReportsAndSwitchesSessions() throws Exception {
        audited();
        given().auth().oauth2(operatorToken).get("/audit/sessions").then().statusCode(200)
                .body("session", hasItems(CLEAN, DEFENDED, GRADFREE));
        given().auth().oauth2(operatorToken).get("/audit/sessions/" + CLEAN).then().statusCode(200)
                .body("session", equalTo(CLEAN))
                .body("series.find { it.attack == 'sip' }.points.size()", equalTo(CLEAN_STEPS))
                .body("attacks.attack", hasItems("sip", "eia", "bisr-f", "tag", "bisr-b"));
        given().auth().oauth2(operatorToken).get("/audit/sessions/nobody-" + RUN).then().statusCode(404)
                .body("status", equalTo(404), "message", containsString("no traffic of session"));
        given().auth().oauth2(operatorToken).contentType("application/json").body("false")
                .put("/audit/sessions/" + GRADFREE + "/enabled").then().statusCode(200).body("enabled", equalTo(false));
        given().auth().oauth2(operatorToken).contentType("application/json").body("true")
                .put("/audit/sessions/" + GRADFREE + "/enabled").then().statusCode(200).body("enabled", equalTo(true));
        given().get("/q/openapi?format=json").then().statusCode(200)
                .body("paths.'/audit/sessions/{id}'.get.summary", equalTo("Leakage over steps per attack for one session"));
        given().get("/q/metrics").then().statusCode(200).body(containsString("gt_audit_runs_total"));
    }

    @Test
    void restNeedsTheOwnerToReadAndTheOperatorToChange() throws Exception {
        audited();
        SessionKeys keys = SessionKeys.fromHex(masterKey);
        String cleanOwner = OwnerToken.of(keys.forSession(CLEAN));
        String gradfreeOwner = OwnerToken.of(keys.forSession(GRADFREE));
        // Nobody: 401 with a JSON reason and the challenges (Basic lets a browser ask).
        List<String> challenges = given().get("/audit/sessions").then().statusCode(401)
                .body("status", equalTo(401), "error", equalTo("Unauthorized"), "message", containsString("token"))
                .extract().headers().getValues("WWW-Authenticate");
        assertTrue(challenges.stream().anyMatch(c -> c.startsWith("Bearer "))
                && challenges.stream().anyMatch(c -> c.startsWith("Basic ")), "one header per challenge: " + challenges);
        given().get("/audit/sessions/" + CLEAN).then().statusCode(401);
        given().auth().oauth2(cleanOwner + "00").get("/audit/sessions/" + CLEAN).then().statusCode(401);
        given().auth().oauth2(operatorToken.substring(1)).get("/audit/sessions").then().statusCode(401);
        List<String> pageChallenges = given().get("/").then().statusCode(401).extract().headers()
                .getValues("WWW-Authenticate");
        assertTrue(pageChallenges.stream().anyMatch(c -> c.startsWith("Basic ")),
                "the page's 401 lets a browser ask: " + pageChallenges);
        // An owner reads its own session only, and its list shows no other tenant.
        given().auth().oauth2(cleanOwner).get("/audit/sessions").then().statusCode(200)
                .body("session", equalTo(List.of(CLEAN)));
        given().auth().oauth2(cleanOwner).get("/audit/sessions/" + CLEAN).then().statusCode(200)
                .body("session", equalTo(CLEAN));
        given().auth().oauth2(cleanOwner).get("/audit/sessions/" + DEFENDED).then().statusCode(403)
                .body("status", equalTo(403), "message", containsString("does not give access to session " + DEFENDED));
        String ownerPage = given().auth().preemptive().basic(CLEAN, cleanOwner.substring(cleanOwner.indexOf('.') + 1))
                .get("/").then().statusCode(200).extract().asString();
        assertTrue(ownerPage.contains("Session " + CLEAN) && !ownerPage.contains(DEFENDED), "owner's page");
        given().auth().preemptive().basic("operator", operatorToken).get("/").then().statusCode(200)
                .body(containsString("Session " + DEFENDED));
        // Changes need the operator, even from the session's own owner.
        given().contentType("application/json").body("false").put("/audit/sessions/" + GRADFREE + "/enabled")
                .then().statusCode(401).body("status", equalTo(401));
        given().auth().oauth2(gradfreeOwner).contentType("application/json").body("false")
                .put("/audit/sessions/" + GRADFREE + "/enabled").then().statusCode(403)
                .body("message", containsString("only the operator"));
        assertTrue(audit.enabled(GRADFREE), "a refused change changed nothing");
        // The operator's bad requests: JSON reasons, and unknown ids grow no state.
        given().auth().oauth2(operatorToken).contentType("application/json").body("")
                .put("/audit/sessions/" + GRADFREE + "/enabled").then().statusCode(400)
                .body("status", equalTo(400), "message", anyOf(containsString("true or false"), containsString("JSON")));
        given().auth().oauth2(operatorToken).contentType("application/json").body("{\"no")
                .put("/audit/sessions/" + GRADFREE + "/enabled").then().statusCode(400)
                .body("status", equalTo(400), "message", containsString("JSON"));
        for (int i = 0; i < 50; i++) {
            given().auth().oauth2(operatorToken).contentType("application/json").body("false")
                    .put("/audit/sessions/unknown-" + i + "-" + RUN + "/enabled").then().statusCode(404)
                    .body("message", containsString("no traffic of session"));
        }
        given().auth().oauth2(operatorToken).get("/audit/sessions").then().statusCode(200)
                .body("session", not(hasItem(containsString("unknown-"))));
        assertTrue(audit.sessions().stream().noneMatch(id -> id.startsWith("unknown-")), "no state for unknown ids");
    }

    @Test
    void reportsArePersistedForARestartAndAnAlertIsRaised() throws Exception {
        audited();
        List<LeakageSeries> history = ReportHistory.read(EmbeddedKafkaResource.broker().bootstrapServers(), json,
                Duration.ofSeconds(20));
        LeakageSeries persisted = history.stream().filter(s -> s.key().equals(CLEAN + "|train|sip")).findFirst()
                .orElseThrow();
        assertEquals(CLEAN_STEPS, persisted.points().size());
        assertTrue(persisted.alerting());

        List<String> alerts = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = SplitTraffic.consumer(EmbeddedKafkaResource.broker(),
                "alert-check-" + UUID.randomUUID())) {
            c.subscribe(List.of(Topics.AUDIT_ALERTS));
            long deadline = System.currentTimeMillis() + 20_000;
            while (!alerts.contains(CLEAN + "|train|sip") && System.currentTimeMillis() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> alerts.add(r.key()));
            }
        }
        assertEquals(1, alerts.stream().filter((CLEAN + "|train|sip")::equals).count(),
                "one alert per crossing: " + alerts);
    }

    @Test
    void thePageShowsTheTableAndTheChartInABrowser() throws Exception {
        assumeTrue(HeadlessChromium.installed(), "headless Chromium is not installed");
        audited();
        Path screenshot = Path.of("target", "audit-page.png").toAbsolutePath();
        // The operator's credentials as a browser sends them after its Basic prompt.
        String url = page.toString().replace("://", "://operator:" + operatorToken + "@");
        String dom = HeadlessChromium.dumpDom(url);
        HeadlessChromium.screenshot(url, screenshot, 1100, 1400);

        assertTrue(dom.contains("Session " + CLEAN), "page lists the session");
        String sipRouge = String.format(Locale.ROOT, "%.3f", series(CLEAN, "sip").latest().rougeL());
        assertTrue(dom.contains("<td class=\"rouge\">" + sipRouge + "</td>"), "table shows SIP's ROUGE-L " + sipRouge);
        assertTrue(dom.contains("<svg") && dom.contains("leakage-chart"), "chart is inline SVG");
        assertTrue(dom.contains("<polyline") && dom.contains("<circle") && dom.contains("data-attack=\"sip\""),
                "chart draws the series");
        assertTrue(Files.size(screenshot) > 10_000, "screenshot written to " + screenshot);
    }

    @Test
    void anEvaluationPassBeforeTrainingIsNeverScoredAsTraining() throws Exception {
        audited();
        List<LeakageSeries> all = audit.session(CLEAN);
        assertTrue(all.stream().allMatch(s -> s.pass().equals(SplitProtocol.TRAIN)),
                "only training is sampled by default: " + all.stream().map(LeakageSeries::key).toList());
        LeakageSeries sip = series(CLEAN, "sip");
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), sip.points().stream().map(LeakagePoint::step).toList());
        assertTrue(sip.points().stream().allMatch(p -> p.isScored() && p.floorRougeL() != null
                && p.coverage() != null), "every training step scored by the client, with floor and coverage");
        assertTrue(sip.points().get(0).rougeL() > sip.points().get(0).floorRougeL(),
                "training step 0 is recovered beyond chance: " + sip.points().get(0));

        AuditedSteps.Headline auditor = audit.headline(CLEAN);
        AuditedSteps.Headline client = clients.get(CLEAN).audit().steps().headline();
        assertEquals(client.rougeL(), auditor.rougeL(), 1e-12, "the page shows the numbers the client computed");
        assertEquals(CLEAN_STEPS, auditor.scoredSteps());
        assertTrue(clients.get(CLEAN).audit().steps().awaitTrainingScored(Duration.ZERO));
        assertNull(clients.get(CLEAN).audit().lastRefusal(), clients.get(CLEAN).audit().lastRefusal());
    }

    @Test
    void aScoreNamingAnotherPassIsRefusedWithItsReason() throws Exception {
        audited();
        LeakagePoint trainingStep0 = series(CLEAN, "sip").points().get(0);
        TensorEventWriter writer = new TensorEventWriter("client-test",
                SessionKeys.fromHex(masterKey).forSession(CLEAN), SplitTraffic.LIMITS);
        AuditProtocol.StepScores forged = new AuditProtocol.StepScores(SplitProtocol.EVAL_BEFORE, 0,
                trainingStep0.reconstruction(), null, List.of(new AuditProtocol.AttackScores("sip",
                new TextLeakage.Scores(0, 0, 0, 4), new TextLeakage.Scores(0, 0, 0, 4))));
        try (KafkaProducer<String, byte[]> p = SplitTraffic.producer(EmbeddedKafkaResource.broker())) {
            for (ProducerRecord<String, byte[]> r : AuditProtocol.scoreRecords(writer,
                    System.currentTimeMillis() + Duration.ofDays(1).toMillis(), forged)) {
                p.send(r).get();
            }
        }
        String detail = null;
        try (KafkaConsumer<String, byte[]> c = SplitTraffic.consumer(EmbeddedKafkaResource.broker(),
                "refusal-check-" + UUID.randomUUID())) {
            c.subscribe(List.of(Topics.DEAD_LETTER));
            long deadline = System.currentTimeMillis() + 30_000;
            while (detail == null && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (CLEAN.equals(r.key()) && Topics.AUDIT_SCORES.equals(header(r, DeadLetters.SOURCE_TOPIC))) {
                        detail = header(r, DeadLetters.REASON) + ": " + header(r, DeadLetters.DETAIL);
                    }
                }
            }
        }
        assertTrue(detail != null && detail.startsWith("PROTOCOL") && detail.contains("no reconstruction of that "
                + "pass"), "refused with its reason: " + detail);
        assertEquals(trainingStep0.rougeL(), series(CLEAN, "sip").points().get(0).rougeL(),
                "the training step kept its own score");
    }

    @Test
    void noProviderSideTopicCarriesTheClientsTokenIds() throws Exception {
        audited();
        List<String> needles = new ArrayList<>();
        for (SplitTraffic.ClientRun run : clients.values()) {
            for (int[] row : run.rows()) {
                needles.add(TokenIdSearch.json(row, 1, 7));
            }
        }
        TokenIdSearch.Findings f = TokenIdSearch.onProviderSideTopics(SplitTraffic.consumer(
                EmbeddedKafkaResource.broker(), "leak-check-" + UUID.randomUUID()), needles, Duration.ofSeconds(15));
        assertTrue(f.records() > 100, "the provider-side topics were read: " + f.records() + " records");
        assertTrue(f.found().isEmpty(), "client token ids on provider-side topics: " + f.found());
        assertTrue(clients.get(CLEAN).rows().size() >= CLEAN_STEPS, "the needles are the training rows");
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private LeakageSeries series(String session, String attack) {
        return audit.session(session).stream().filter(s -> s.attack().equals(attack)).findFirst().orElseThrow(
                () -> new AssertionError("no " + attack + " series for " + session));
    }

    private long points(String session, String attack) {
        return audit.session(session).stream().filter(s -> s.attack().equals(attack))
                .mapToLong(s -> s.points().size()).sum();
    }

    private long scored(String session, String attack) {
        return audit.session(session).stream().filter(s -> s.attack().equals(attack))
                .flatMap(s -> s.points().stream()).filter(LeakagePoint::isScored).count();
    }

    private double meanRougeL(String session, String attack) {
        return series(session, attack).points().stream().filter(LeakagePoint::isScored)
                .mapToDouble(LeakagePoint::rougeL).average().orElse(Double.NaN);
    }

    private void await(Duration timeout, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + "; reports: " + audit.sessions().stream()
                        .map(id -> id + "=" + audit.session(id).stream().map(s -> s.attack() + ":"
                                + s.points().size()).toList()).toList());
            }
            Thread.sleep(500);
        }
    }
}
