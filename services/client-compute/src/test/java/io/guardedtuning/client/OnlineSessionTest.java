package io.guardedtuning.client;

import com.fasterxml.jackson.databind.JsonNode;
import io.guardedtuning.testing.EmbeddedKafkaResource;
import io.guardedtuning.testing.TestKafka;
import io.guardedtuning.testing.TinyModelResource;
import io.guardedtuning.wire.EventKind;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@TestProfile(OnlineSessionTest.Online.class)
@WithTestResource(EmbeddedKafkaResource.class)
@WithTestResource(value = TinyModelResource.class,
        initArgs = @ResourceArg(name = TinyModelResource.PROPERTY, value = "gt.client.model"))
class OnlineSessionTest extends SplitSessionTest {

    public static class Online extends Profile {
        @Override
        Map<String, String> design() {
            return Map.of("gt.client.session-id", "online-test", "gt.client.design", "online",
                    "gt.client.learning-rate", "5e-3", "gt.client.alpha", "0.1");
        }
    }

    @Test
    @Override
    void sessionRunsToTheEnd() throws Exception {
        JsonNode summary = runSession();
        assertCommonFields(summary);
        List<String> kinds = kindsOnTheWire();
        assertTrue(TestKafka.containsKind(kinds, EventKind.GRADIENT_UP), kinds.toString());
        assertTrue(TestKafka.containsKind(kinds, EventKind.GRADIENT_DOWN), kinds.toString());
    }
}
