package io.guardedtuning.client.service;

import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.attack.KnownDefence;
import io.guardedtuning.session.AuditedSteps;
import io.guardedtuning.session.ClientAudit;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Clock;

/**
 * The session's links to the backbone, one per pass. Evaluation before, training and evaluation after each number
 * their steps from 0, and a link refuses steps below those it has seen (replay protection), so every pass gets a
 * fresh link and announces itself (its pass, and the defence the provider may know of) with a start event, on
 * which the server forgets the session's steps as well. The down-topic consumer feeds whichever link is current,
 * and the auditor's reconstructions to the session's own audit scoring.
 */
public final class BackboneLinks {

    private final ClientSettings settings;
    private final RemoteBackboneLink.RecordSink sink;
    private final ClientAudit audit;
    private volatile RemoteBackboneLink current;
    private RemoteBackboneLink.Stats finished = new RemoteBackboneLink.Stats(0, 0, 0, 0, 0, 0, 0, 0);
    private long lastStart;

    /** Sampled steps kept for scoring at most (older ones are dropped first). */
    private static final int AUDITED_STEPS_HELD = 256;

    public BackboneLinks(ClientSettings settings, RemoteBackboneLink.RecordSink sink) {
        this.settings = settings;
        this.sink = sink;
        this.audit = new ClientAudit(settings.key(), settings.producerId(), WireLimits.chunkedDefaults(),
                new AuditedSteps(settings.session().auditEvery(), AUDITED_STEPS_HELD), sink, Clock.systemUTC());
    }

    /** A new link for the next pass, already announced to the server with what it may know of the defence. */
    public synchronized RemoteBackboneLink startPass(String pass, KnownDefence defence) {
        if (current != null) {
            finished = plus(finished, current.stats());
        }
        RemoteBackboneLink link = new RemoteBackboneLink(settings.key(), settings.producerId(),
                WireLimits.chunkedDefaults(), settings.link(), sink, Clock.systemUTC());
        current = link;
        // The start event's step is a timestamp the server's replay check needs to grow, even within a millisecond.
        lastStart = Math.max(System.currentTimeMillis(), lastStart + 1);
        link.start(lastStart, pass, defence);
        return link;
    }

    /** A record of the down topic: a reconstruction to the audit, anything else to the current pass's link. */
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        if (ClientAudit.isReconstruction(record)) {
            audit.onRecord(record);
            return;
        }
        RemoteBackboneLink link = current;
        if (link != null) {
            link.onRecord(record);
        }
    }

    /** The session's own audit scoring: its kept rows and the scores of the reconstructions received. */
    public ClientAudit audit() {
        return audit;
    }

    /** All passes together. */
    public synchronized RemoteBackboneLink.Stats stats() {
        return current == null ? finished : plus(finished, current.stats());
    }

    static RemoteBackboneLink.Stats plus(RemoteBackboneLink.Stats a, RemoteBackboneLink.Stats b) {
        return new RemoteBackboneLink.Stats(a.bytesUp() + b.bytesUp(), a.messagesUp() + b.messagesUp(),
                a.bytesDown() + b.bytesDown(), a.messagesDown() + b.messagesDown(), a.retries() + b.retries(),
                a.resendsServed() + b.resendsServed(), a.answersDropped() + b.answersDropped(),
                a.rejected() + b.rejected());
    }
}
