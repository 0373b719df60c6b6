package io.guardedtuning.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.session.OwnerToken;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.testing.TestKafka;
import io.guardedtuning.wire.EventKind;
import io.quarkus.test.junit.QuarkusTestProfile;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One client-compute session end to end on the embedded broker, against a test-side backbone: started over REST,
 * followed to the end, checked through its summary. Subclasses pick the design with a profile.
 */
abstract class SplitSessionTest {

    static final String MASTER_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    static final ObjectMapper JSON = new ObjectMapper();
    static BackboneLoop backbone;

    @ConfigProperty(name = "gt.client.session-id")
    String session;
    @ConfigProperty(name = "gt.client.summary-path")
    Path summaryPath;
    @ConfigProperty(name = "gt.api.operator-token")
    String operatorToken;

    /** A short session on the hand-written ARC-style task: 24 examples, 4 epochs of batches of 6. */
    abstract static class Profile implements QuarkusTestProfile {
        abstract Map<String, String> design();

        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                String task = Path.of(SplitSessionTest.class.getResource("/tasks/weather.jsonl").toURI()).toString();
                Map<String, String> c = new HashMap<>(design());
                c.put("gt.client.task.name", "arc:" + task + "," + task);
                c.put("gt.client.task.train-size", "24");
                c.put("gt.client.task.eval-size", "8");
                c.put("gt.client.batch-size", "6");
                c.put("gt.client.epochs", "4");
                c.put("gt.client.audit-every", "4");
                c.put("gt.client.max-tokens", "32");
                c.put("gt.client.summary-path", Files.createTempDirectory("gt-client-").resolve("summary.json")
                        .toString());
                return c;
            } catch (URISyntaxException | java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @BeforeAll
    static void startBackbone() {
        backbone = new BackboneLoop(MASTER_KEY, 2);
    }

    @AfterAll
    static void stopBackbone() throws InterruptedException {
        backbone.close();
    }

    /** Runs the session to its end; returns the summary it wrote. */
    JsonNode runSession() throws Exception {
        given().get("/q/health/ready").then().statusCode(200);
        SessionKeys keys = SessionKeys.fromHex(MASTER_KEY);
        String owner = OwnerToken.of(keys.forSession(session));
        // Starting needs the operator: nobody gets 401, the session's owner 403, each with a JSON reason.
        List<String> challenges = given().post("/session/start").then().statusCode(401)
                .body("status", equalTo(401), "message", containsString("Authorization: Bearer"))
                .extract().headers().getValues("WWW-Authenticate");
        assertTrue(challenges.stream().anyMatch(c -> c.startsWith("Bearer ")), "challenges " + challenges);
        given().auth().oauth2(owner).post("/session/start").then().statusCode(403)
                .body("message", containsString("only the operator"));
        given().auth().oauth2(operatorToken + "x").post("/session/start").then().statusCode(401);
        given().auth().oauth2(operatorToken).post("/session/start").then().statusCode(202);
        given().auth().oauth2(operatorToken).post("/session/start").then().statusCode(409);
        // Reading needs the owner (or the operator); another session's owner token does not verify here.
        given().get("/session").then().statusCode(401);
        given().auth().oauth2(OwnerToken.of(keys.forSession("someone-else"))).get("/session").then().statusCode(401);
        given().auth().preemptive().basic(session, owner.substring(owner.indexOf('.') + 1)).get("/session").then()
                .statusCode(200);
        long deadline = System.currentTimeMillis() + 180_000;
        String phase = "";
        while (System.currentTimeMillis() < deadline && !phase.equals("DONE") && !phase.equals("FAILED")) {
            Thread.sleep(200);
            phase = given().auth().oauth2(owner).get("/session").then().statusCode(200).extract()
                    .path("progress.phase");
        }
        given().auth().oauth2(operatorToken).get("/session").then().body("summary.status", equalTo("done"));
        JsonNode summary = JSON.readTree(summaryPath.toFile());
        assertEquals("done", summary.path("status").asText(), summary.toPrettyString());
        return summary;
    }

    void assertCommonFields(JsonNode summary) {
        assertEquals(session, summary.path("settings").path("sessionId").asText());
        assertEquals(16, summary.path("steps").asInt());
        assertEquals(0, summary.path("resumedFromStep").asInt());
        List<Double> losses = JSON.convertValue(summary.path("losses"), JSON.getTypeFactory()
                .constructCollectionType(List.class, Double.class));
        assertEquals(16, losses.size());
        double first = (losses.get(0) + losses.get(1) + losses.get(2) + losses.get(3)) / 4;
        double last = (losses.get(12) + losses.get(13) + losses.get(14) + losses.get(15)) / 4;
        assertTrue(last < first, "loss did not go down: " + losses);
        for (String acc : List.of("accuracyBefore", "accuracyAfter")) {
            assertTrue(summary.path(acc).has("acc") && summary.path(acc).has("accNorm"), acc);
            assertEquals(8, summary.path(acc).path("examples").asInt());
        }
        assertTrue(summary.path("link").path("bytesUp").asLong() > 0);
        assertTrue(summary.path("link").path("bytesDown").asLong() > 0);
        assertTrue(summary.path("bytesPerStep").path("up").asLong() >= 0);
        assertTrue(summary.path("clientFlops").path("estimate").asDouble() > 0);
        assertTrue(summary.path("clientComputeMillis").asLong() > 0);
        assertTrue(summary.path("wallMillis").asLong() > 0);
        given().get("/q/metrics").then().statusCode(200)
                .body(containsString("gt_client_steps_total 16.0"))
                .body(containsString("gt_client_bytes_up_total{session=\"" + session + "\"}"));
    }

    /** The wire kinds of this session's records on every gt.* topic. */
    List<String> kindsOnTheWire() {
        List<String> kinds = TestKafka.kindsOf(session, 4000);
        assertTrue(TestKafka.containsKind(kinds, EventKind.ACTIVATION_UP), kinds.toString());
        return kinds;
    }

    static void assertNoGradients(List<String> kinds) {
        assertFalse(TestKafka.containsKind(kinds, EventKind.GRADIENT_UP), "a gradient crossed: " + kinds);
        assertFalse(TestKafka.containsKind(kinds, EventKind.GRADIENT_DOWN), "a gradient crossed: " + kinds);
    }

    @Test
    abstract void sessionRunsToTheEnd() throws Exception;
}
