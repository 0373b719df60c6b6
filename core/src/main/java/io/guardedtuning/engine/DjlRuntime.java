package io.guardedtuning.engine;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

/**
 * Owns the DJL engine start. The settings must be in place before any {@code ai.djl} class initialises: DJL must
 * never reach the network (offline mode) nor run its usage tracking, which contacts a cloud metadata address.
 */
public final class DjlRuntime {

    private static volatile boolean started;

    private DjlRuntime() {
    }

    /** Applies the offline settings as system properties unless the environment already set them. */
    public static void configure() {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
        String cache = System.getenv("DJL_CACHE_DIR");
        if (cache == null && System.getProperty("DJL_CACHE_DIR") == null) {
            System.setProperty("DJL_CACHE_DIR",
                    System.getProperty("user.home") + "/.cache/guardedtuning/djl");
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /** Starts the PyTorch engine once; later calls are free. */
    public static synchronized Engine engine() {
        configure();
        Engine engine = Engine.getEngine("PyTorch");
        if (!started) {
            String threads = System.getProperty("ai.djl.pytorch.num_threads");
            if (threads == null) {
                JniUtils.setNumThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
            }
            started = true;
        }
        return engine;
    }

    private static final java.util.concurrent.locks.ReentrantLock RECORDING = new java.util.concurrent.locks.ReentrantLock();

    /**
     * A gradient recorder that waits its turn: PyTorch allows one per process, so when two parties share a JVM (a
     * client and a backbone in a test, an attack beside training) they take turns instead of failing.
     */
    public static GradientCollector gradientCollector() {
        Engine engine = engine();
        RECORDING.lock();
        try {
            GradientCollector inner = engine.newGradientCollector();
            return new GradientCollector() {
                @Override
                public void backward(ai.djl.ndarray.NDArray target) {
                    inner.backward(target);
                }

                @Override
                public void zeroGradients() {
                    inner.zeroGradients();
                }

                @Override
                public void close() {
                    try {
                        inner.close();
                    } finally {
                        RECORDING.unlock();
                    }
                }
            };
        } catch (RuntimeException e) {
            RECORDING.unlock();
            throw e;
        }
    }

    public static NDManager newManager() {
        return engine().newBaseManager();
    }

    /**
     * Grad mode is thread-local in PyTorch and on by default, so inference threads would record graphs. Runs the
     * action with recording off and restores the previous mode.
     */
    public static <T> T withoutGradients(java.util.function.Supplier<T> action) {
        engine();
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            return action.get();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }
}
