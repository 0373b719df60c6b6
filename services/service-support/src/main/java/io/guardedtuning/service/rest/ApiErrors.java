package io.guardedtuning.service.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * Every refused request gets a JSON body that says what was wrong: {@code {"status":401,"error":"Unauthorized",
 * "message":"..."}} (JAX-RS's own 4xx, unreadable or malformed bodies included).
 */
public class ApiErrors {

    /** The JSON body of an error answer. */
    public record ErrorBody(int status, String error, String message) {
    }

    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e) {
        Response original = e.getResponse();
        int status = original.getStatus();
        String message = e.getMessage() == null || e.getMessage().isBlank()
                ? original.getStatusInfo().getReasonPhrase() : e.getMessage();
        Throwable cause = e.getCause();
        if (cause instanceof JsonProcessingException json) {
            message = "the request body is not valid JSON for this endpoint: " + json.getOriginalMessage();
        }
        return answer(status, message);
    }

    @ServerExceptionMapper
    public Response malformedBody(JsonProcessingException e) {
        return answer(400, "the request body is not valid JSON for this endpoint: " + e.getOriginalMessage());
    }

    /** Well-formed JSON of the wrong shape: without this, Quarkus's own mapper answers 400 with an empty body. */
    @ServerExceptionMapper
    public Response mismatchedBody(MismatchedInputException e) {
        return malformedBody(e);
    }

    static Response answer(int status, String message) {
        Response.ResponseBuilder answer = Response.status(status).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new ErrorBody(status, Response.Status.fromStatusCode(status) == null ? "Error"
                        : Response.Status.fromStatusCode(status).getReasonPhrase(), message));
        if (status == 401) {
            answer.header(HttpHeaders.WWW_AUTHENTICATE, CallerFilter.CHALLENGE)
                    .header(HttpHeaders.WWW_AUTHENTICATE, CallerFilter.BASIC_CHALLENGE);
        }
        return answer.build();
    }
}
