package io.guardedtuning.emulator.service;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.guardedtuning.offline.EmulatorRequest;

import java.time.Instant;
import java.util.Map;

/**
 * A job as REST shows it and as it is persisted in {@code <jobs-dir>/<session>/job.json} (so a restarted service
 * resumes unfinished jobs and still accepts adapters for published ones).
 *
 * @param phase             one of {@link Job.Phase}, lower-case
 * @param lastRequestMillis when the newest request the job accepted was sent (its signed step): a request not newer
 *                          is a replay
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobStatus(@JsonProperty("session") String session,
                        @JsonProperty("request") EmulatorRequest request,
                        @JsonProperty("phase") String phase,
                        @JsonProperty("step") long step,
                        @JsonProperty("total") long total,
                        @JsonProperty("loss") Double loss,
                        @JsonProperty("detail") String detail,
                        @JsonProperty("kept_full_layers") int[] keptFullLayers,
                        @JsonProperty("package_sha256") String packageDigest,
                        @JsonProperty("package_bytes") Long packageBytes,
                        @JsonProperty("result") Map<String, Object> result,
                        @JsonProperty("updated") Instant updated,
                        @JsonProperty("last_request_millis") long lastRequestMillis) {
}
