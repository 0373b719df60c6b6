package io.guardedtuning.testing;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/**
 * Points a service at {@link TinyModels#directory()}: {@code @WithTestResource(value = TinyModelResource.class,
 * initArgs = @ResourceArg(name = TinyModelResource.PROPERTY, value = "gt.server.model"))}.
 */
public final class TinyModelResource implements QuarkusTestResourceLifecycleManager {

    /** Init argument: the configuration key that takes the model directory. */
    public static final String PROPERTY = "property";

    private String property;

    @Override
    public void init(Map<String, String> initArgs) {
        property = initArgs.get(PROPERTY);
        if (property == null) {
            throw new IllegalArgumentException("TinyModelResource needs the init argument '" + PROPERTY + "'");
        }
    }

    @Override
    public Map<String, String> start() {
        return Map.of(property, TinyModels.directory().toString());
    }

    @Override
    public void stop() {
        // The directory is a temporary file of this JVM.
    }
}
