package io.guardedtuning.deploy.local;

import io.guardedtuning.messaging.Topics;
import io.guardedtuning.wire.WireLimits;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/** The embedded KRaft broker as its own process (from Kafka's jars on this tool's classpath). */
public final class LocalBroker {

    private static final String READY = "bootstrap.servers=";
    /** The broker's name among the supervised processes (and of its log). */
    static final String NAME = "kafka";

    private LocalBroker() {
    }

    /**
     * Starts the broker with its data in {@code dataDir}; returns its bootstrap address once it serves. Started
     * again on the same directory, it serves the same topics, records and offsets on the same address.
     */
    public static String start(ProcessSupervisor supervisor, Path dataDir) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), "io.guardedtuning.kafka.EmbeddedKafkaBroker",
                dataDir.toString()));
        ProcessSupervisor.Managed broker = supervisor.start(NAME, cmd, Map.of());
        String line = supervisor.awaitLogLine(broker, l -> l.startsWith(READY), Duration.ofSeconds(90));
        return line.substring(READY.length()).trim();
    }

    /** Creates the shared topics and the given session topics (existing ones are kept). */
    public static void createTopics(String bootstrap, Collection<String> sessionTopics) throws InterruptedException {
        List<NewTopic> topics = new ArrayList<>();
        Map<String, String> config = WireLimits.chunkedDefaults().topicConfig();
        for (String name : Topics.shared()) {
            topics.add(new NewTopic(name, 1, (short) 1).configs(name.equals(Topics.AUDIT_REPORTS)
                    ? withCompaction(config) : config));
        }
        sessionTopics.forEach(t -> topics.add(new NewTopic(t, 1, (short) 1).configs(config)));
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            for (NewTopic t : topics) {
                try {
                    admin.createTopics(List.of(t)).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + t.name() + ": " + e.getCause(), e);
                    }
                }
            }
        }
    }

    private static Map<String, String> withCompaction(Map<String, String> config) {
        Map<String, String> c = new java.util.HashMap<>(config);
        c.put("cleanup.policy", "compact");
        return c;
    }

    static String javaBinary() {
        return System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    }
}
