package io.guardedtuning.emulator.messaging;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A request on {@code gt.emulator.requests}, e.g.
 * {@code {"session":"s1","k":2,"kept_layers":8,"distil_steps":2000,"task":"imdb-sentiment"}}, or
 * {@code {"session":"s1","action":"cancel"}}.
 *
 * @param action "build" (default) or "cancel"
 * @param task   task the plug-in result is evaluated on (any io.guardedtuning.data.TaskRegistry name); optional
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record EmulatorRequest(@JsonProperty("session") String session,
                              @JsonProperty("action") String action,
                              @JsonProperty("k") int k,
                              @JsonProperty("kept_layers") int keptLayers,
                              @JsonProperty("distil_steps") int distilSteps,
                              @JsonProperty("task") String task) {

    public boolean isCancel() {
        return "cancel".equals(action);
    }
}
