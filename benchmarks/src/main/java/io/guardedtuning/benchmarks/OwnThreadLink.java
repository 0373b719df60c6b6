package io.guardedtuning.benchmarks;

import io.guardedtuning.split.BackboneLink;
import io.guardedtuning.tensor.HostTensor;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An in-process link whose backbone calls run on one thread of their own, as the server's poll loop runs them when
 * both parties share a JVM over Kafka: the same math and the same thread hand-offs as the Kafka run, without the
 * wire. Comparing the two splits the Kafka run's extra time into what the wire costs and what two threads taking
 * turns at PyTorch cost on the same cores.
 */
final class OwnThreadLink implements BackboneLink, AutoCloseable {

    private final BackboneLink backbone;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "backbone");
        t.setDaemon(true);
        return t;
    });

    OwnThreadLink(BackboneLink backbone) {
        this.backbone = backbone;
    }

    /** The wrapped link, to call on the caller's own thread. */
    BackboneLink backbone() {
        return backbone;
    }

    @Override
    public HostTensor forward(long step, HostTensor hIn, long[] lengths, boolean forBackward) {
        return onBackboneThread(() -> backbone.forward(step, hIn, lengths, forBackward));
    }

    @Override
    public HostTensor backward(long step, HostTensor gradOut) {
        return onBackboneThread(() -> backbone.backward(step, gradOut));
    }

    private HostTensor onBackboneThread(Callable<HostTensor> call) {
        try {
            return thread.submit(call).get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the backbone computed", e);
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
