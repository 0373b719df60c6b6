package io.guardedtuning.client;

import com.fasterxml.jackson.databind.JsonNode;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.testing.TinyModelResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

@QuarkusTest
@TestProfile(GradfreeSessionTest.Gradfree.class)
@WithTestResource(EmbeddedKafkaResource.class)
@WithTestResource(value = TinyModelResource.class,
        initArgs = @ResourceArg(name = TinyModelResource.PROPERTY, value = "gt.client.model"))
class GradfreeSessionTest extends SplitSessionTest {

    public static class Gradfree extends Profile {
        @Override
        Map<String, String> design() {
            return Map.of("gt.client.session-id", "gradfree-test", "gt.client.design", "gradfree",
                    "gt.client.learning-rate", "1e-2", "gt.client.bits-up", "8", "gt.client.bits-down", "8");
        }
    }

    @Test
    @Override
    void sessionRunsToTheEnd() throws Exception {
        JsonNode summary = runSession();
        assertCommonFields(summary);
        assertEquals(12, summary.path("backboneCachedSteps").asInt(), "epochs 2-4 reuse the cached h_out");
        assertNoGradients(kindsOnTheWire());
    }
}
