package io.guardedtuning.offline;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A request on {@code gt.emulator.requests} (Topics#EMULATOR_REQUESTS), keyed by session, e.g.
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

    public static final String BUILD = "build";
    public static final String CANCEL = "cancel";

    /** A build request as client-compute sends it when its Offline session starts. */
    public static EmulatorRequest build(String session, int k, int keptLayers, int distilSteps, String task) {
        return new EmulatorRequest(session, BUILD, k, keptLayers, distilSteps, task);
    }

    public boolean isCancel() {
        return CANCEL.equals(action);
    }
}
