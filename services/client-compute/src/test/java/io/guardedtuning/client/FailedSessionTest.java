package io.guardedtuning.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.testing.TinyModelResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A session whose backbone never answers fails, and its summary still says what it announced and what the auditor
 * had scored: the report a data owner reads to learn why it stopped.
 */
@QuarkusTest
@TestProfile(FailedSessionTest.NoBackbone.class)
@WithTestResource(EmbeddedKafkaResource.class)
@WithTestResource(value = TinyModelResource.class,
        initArgs = @ResourceArg(name = TinyModelResource.PROPERTY, value = "gt.client.model"))
class FailedSessionTest {

    @ConfigProperty(name = "gt.client.summary-path")
    Path summaryPath;
    @ConfigProperty(name = "gt.api.operator-token")
    String operatorToken;

    public static class NoBackbone extends SplitSessionTest.Profile {
        @Override
        Map<String, String> design() {
            return Map.of("gt.client.session-id", "no-backbone-test", "gt.client.design", "online",
                    "gt.client.answer-timeout", "1s");
        }
    }

    @Test
    void aFailedSessionStillReportsItsDefenceAndWhatWasAudited() throws Exception {
        given().auth().oauth2(operatorToken).post("/session/start").then().statusCode(202);
        long deadline = System.currentTimeMillis() + 120_000;
        String phase = "";
        while (System.currentTimeMillis() < deadline && !phase.equals("FAILED") && !phase.equals("DONE")) {
            Thread.sleep(200);
            phase = given().auth().oauth2(operatorToken).get("/session").then().statusCode(200).extract()
                    .path("progress.phase");
        }
        assertEquals("FAILED", phase, "nothing answers, so the session cannot finish");
        JsonNode summary = new ObjectMapper().readTree(summaryPath.toFile());
        assertEquals("failed", summary.path("status").asText(), summary.toPrettyString());
        assertTrue(summary.path("defence").path("announced").has("design"), summary.toPrettyString());
        assertFalse(summary.path("audit").path("complete").asBoolean(true), summary.toPrettyString());
        assertTrue(summary.path("audit").has("headline"), summary.toPrettyString());
    }
}
