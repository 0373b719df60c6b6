package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.AuditService;
import io.guardedtuning.audit.service.LeakageSeries;
import io.guardedtuning.session.AuditedSteps;
import io.guardedtuning.service.rest.Caller;
import io.quarkus.qute.CheckedTemplate;
import io.quarkus.qute.TemplateInstance;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;

import java.util.List;
import java.util.Locale;

/**
 * The server-rendered overview: per session a table of each attack's latest leakage and a chart over steps. The
 * operator sees every session, an owner only its own; a browser is asked for the credentials (HTTP Basic).
 */
@Path("/")
public class DashboardPage {

    /**
     * A session as the page shows it; {@code headline} is the run's leakage in one line (empty until a training
     * step is scored); {@code chart} is trusted SVG built by {@link LeakageChart}.
     */
    public record SessionView(String session, boolean enabled, String headline, List<AttackRow> attacks,
                              String chart) {
    }

    /** One table row, numbers formatted; a blank score means the client has not scored the step (yet). */
    public record AttackRow(String attack, String pass, long step, String rougeL, String tokenSetF1,
                            String meteorExact, String floorRougeL, String coverage, String bestRougeL,
                            String confidence, long costMillis, boolean alerting, String detail) {

        static AttackRow of(AttackSummary a) {
            return new AttackRow(a.attack(), a.pass(), a.step(), format(a.rougeL()), format(a.tokenSetF1()),
                    format(a.meteorExact()), format(a.floorRougeL()), format(a.coverage()), format(a.bestRougeL()),
                    format(a.confidence()), a.costMillis(), a.alerting(), a.detail());
        }
    }

    private static String format(Double value) {
        return value == null ? "" : String.format(Locale.ROOT, "%.3f", value);
    }

    /** "0.912 (sip, train step 0; chance floor 0.130)", or empty. */
    static String headline(AuditedSteps.Headline h) {
        return h == null ? "" : String.format(Locale.ROOT, "%.3f (%s, %s step %d; chance floor %s; over %d scored "
                + "training steps)", h.rougeL(), h.attack(), h.pass(), h.step(),
                h.floorRougeL() == null ? "n/a" : format(h.floorRougeL()), h.scoredSteps());
    }

    @CheckedTemplate
    static class Templates {
        static native TemplateInstance dashboard(List<SessionView> sessions, double threshold, List<String> attacks);
    }

    @Inject
    AuditService audit;

    @GET
    @Produces(MediaType.TEXT_HTML)
    public TemplateInstance page(@Context SecurityContext security) {
        Caller caller = Caller.of(security);
        caller.requireAuthenticated();
        List<SessionView> sessions = audit.sessions().stream().filter(caller::maySee).map(id -> {
            List<LeakageSeries> series = audit.session(id);
            return new SessionView(id, audit.enabled(id), headline(audit.headline(id)),
                    series.stream().map(AttackSummary::of).map(AttackRow::of).toList(),
                    LeakageChart.svg(series, audit.alertThreshold()));
        }).toList();
        return Templates.dashboard(sessions, audit.alertThreshold(), audit.attackIds());
    }
}
