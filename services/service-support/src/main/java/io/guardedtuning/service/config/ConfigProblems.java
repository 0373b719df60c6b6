package io.guardedtuning.service.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Collects what is wrong with a service's configuration, each problem under the setting to fix, so a misconfigured
 * service stops at start with every problem named at once.
 */
public final class ConfigProblems {

    private final String service;
    private final List<String> problems = new ArrayList<>();

    public ConfigProblems(String service) {
        this.service = service;
    }

    public void add(String setting, String problem) {
        problems.add(setting + ": " + problem);
    }

    /** The value {@code check} builds, or null after recording its exception's message under {@code setting}. */
    public <T> T check(String setting, Supplier<T> check) {
        try {
            return check.get();
        } catch (RuntimeException e) {
            add(setting, e.getMessage());
            return null;
        }
    }

    public boolean isEmpty() {
        return problems.isEmpty();
    }

    /** Throws {@link InvalidConfigurationException} listing every problem, if there are any. */
    public void throwIfAny() {
        if (!problems.isEmpty()) {
            throw new InvalidConfigurationException(service + " configuration is invalid:\n  - "
                    + String.join("\n  - ", problems));
        }
    }

    /** A configuration a service cannot start with. */
    public static final class InvalidConfigurationException extends IllegalStateException {
        public InvalidConfigurationException(String message) {
            super(message);
        }
    }
}
