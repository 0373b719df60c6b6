package io.guardedtuning.client.service;

import io.guardedtuning.client.config.ClientSettings;
import io.guardedtuning.session.RemoteBackboneLink;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.time.Clock;

/**
 * The session's links to the backbone, one per pass. Evaluation before, training and evaluation after each number
 * their steps from 0, and a link refuses steps below those it has seen (replay protection), so every pass gets a
 * fresh link and announces itself with a start event, on which the server forgets the session's steps as well.
 * The down-topic consumer feeds whichever link is current.
 */
public final class BackboneLinks {

    private final ClientSettings settings;
    private final RemoteBackboneLink.RecordSink sink;
    private volatile RemoteBackboneLink current;
    private RemoteBackboneLink.Stats finished = new RemoteBackboneLink.Stats(0, 0, 0, 0, 0, 0, 0, 0);
    private long lastStart;

    public BackboneLinks(ClientSettings settings, RemoteBackboneLink.RecordSink sink) {
        this.settings = settings;
        this.sink = sink;
    }

    /** A new link for the next pass, already announced to the server. */
    public synchronized RemoteBackboneLink startPass() {
        if (current != null) {
            finished = plus(finished, current.stats());
        }
        RemoteBackboneLink link = new RemoteBackboneLink(settings.key(), settings.producerId(),
                WireLimits.chunkedDefaults(), settings.link(), sink, Clock.systemUTC());
        current = link;
        // The start event's step is a timestamp the server's replay check needs to grow, even within a millisecond.
        lastStart = Math.max(System.currentTimeMillis(), lastStart + 1);
        link.start(lastStart);
        return link;
    }

    /** A record of the down topic, for the current pass (none before the first). */
    public void onRecord(ConsumerRecord<String, byte[]> record) {
        RemoteBackboneLink link = current;
        if (link != null) {
            link.onRecord(record);
        }
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
