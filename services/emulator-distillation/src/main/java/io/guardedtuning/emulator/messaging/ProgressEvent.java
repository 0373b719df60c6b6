package io.guardedtuning.emulator.messaging;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Map;

/**
 * A JSON event on {@code gt.emulator.progress}, keyed by session: a job phase change, a distillation step, or the
 * plug-in result ({@code phase = "plugged-in"}, with the accuracies and the gap in {@code result}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ProgressEvent(@JsonProperty("session") String session,
                            @JsonProperty("phase") String phase,
                            @JsonProperty("step") long step,
                            @JsonProperty("total") long total,
                            @JsonProperty("loss") Double loss,
                            @JsonProperty("detail") String detail,
                            @JsonProperty("result") Map<String, Object> result) {
}
