package io.guardedtuning.kafka;

import io.guardedtuning.wire.WireLimits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Exit;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node KRaft Kafka (combined broker + controller) running in this JVM from Kafka's own jars, bound to
 * loopback only. For tests and the local runner; the Kafka server jars are optional dependencies of core.
 * Restarting on the same data directory keeps topics and records (and the listener ports, also in a new process:
 * they are read back from the {@code server.properties} written when the directory was formatted).
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    /** Broker-wide message limit: big enough for a 32 MiB fp32 activation sent as one record, plus headroom. */
    private static final WireLimits BROKER_LIMITS = WireLimits.singleRecord(64 << 20);

    private final Path dataDir;
    private int brokerPort;
    private int controllerPort;
    private KafkaRaftServer server;

    public EmbeddedKafkaBroker(Path dataDir) {
        this.dataDir = dataDir;
    }

    public static EmbeddedKafkaBroker inTemporaryDirectory() {
        try {
            return new EmbeddedKafkaBroker(Files.createTempDirectory("gt-kafka-"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public synchronized EmbeddedKafkaBroker start() {
        if (server != null) {
            return this;
        }
        throwInsteadOfExiting();
        if (brokerPort == 0) {
            int[] ports = formattedPorts();
            brokerPort = ports[0];
            controllerPort = ports[1];
        }
        Properties props = serverProperties();
        formatStorageOnce(props);
        server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        server.startup();
        return this;
    }

    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            server = null;
        }
    }

    public synchronized void restart() {
        stop();
        start();
    }

    @Override
    public void close() {
        stop();
    }

    public Path dataDir() {
        return dataDir;
    }

    public String bootstrapServers() {
        if (brokerPort == 0) {
            throw new IllegalStateException("broker not started");
        }
        return "127.0.0.1:" + brokerPort;
    }

    /** Creates the topics (1 partition, replication 1) unless they exist; {@code config} e.g. max.message.bytes. */
    public void createTopics(Map<String, String> config, String... names) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            for (String name : names) {
                try {
                    admin.createTopics(List.of(new NewTopic(name, 1, (short) 1).configs(config))).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create topic " + name, e.getCause());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Properties serverProperties() {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", dataDir.resolve("logs").toString());
        p.put("num.partitions", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.putAll(BROKER_LIMITS.brokerProperties());
        return p;
    }

    /** Formatting again with a new cluster id would make the restart fail with "Invalid cluster.id". */
    private void formatStorageOnce(Properties props) {
        if (Files.exists(dataDir.resolve("logs").resolve("meta.properties"))) {
            return;
        }
        try {
            Path config = dataDir.resolve("server.properties");
            Files.createDirectories(dataDir);
            try (OutputStream out = Files.newOutputStream(config)) {
                props.store(out, "embedded KRaft broker");
            }
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            int status = StorageTool.execute(new String[] {"format", "-t", Uuid.randomUuid().toString(),
                    "-c", config.toString()}, new PrintStream(log, true, StandardCharsets.UTF_8));
            if (status != 0) {
                throw new IllegalStateException("kafka storage format failed: " + log.toString(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Kafka calls Exit.exit/halt on fatal errors; inside a test JVM that must be an exception, not a dead JVM. */
    private static void throwInsteadOfExiting() {
        Exit.setExitProcedure((status, message) -> {
            throw new IllegalStateException("Kafka asked to exit(" + status + "): " + message);
        });
        Exit.setHaltProcedure((status, message) -> {
            throw new IllegalStateException("Kafka asked to halt(" + status + "): " + message);
        });
    }

    /** The ports this data directory was formatted with, or two new ones for a new directory. */
    private int[] formattedPorts() {
        Path config = dataDir.resolve("server.properties");
        if (!Files.exists(dataDir.resolve("logs").resolve("meta.properties")) || !Files.isRegularFile(config)) {
            return freeLoopbackPorts();
        }
        Properties p = new Properties();
        try (var in = Files.newInputStream(config)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new int[] {portOf(p.getProperty("advertised.listeners")),
                portOf(p.getProperty("controller.quorum.voters"))};
    }

    private static int portOf(String address) {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1).trim());
    }

    /** Two distinct free ports: both sockets are held open together, or the OS may hand out the same port twice. */
    private static int[] freeLoopbackPorts() {
        try (ServerSocket broker = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             ServerSocket controller = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new int[] {broker.getLocalPort(), controller.getLocalPort()};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Standalone broker for the local runner: {@code EmbeddedKafkaBroker [data-dir]}. Prints
     * {@code bootstrap.servers=<host:port>} once ready and stops cleanly on SIGTERM / Ctrl-C.
     */
    public static void main(String[] args) throws InterruptedException {
        EmbeddedKafkaBroker broker = args.length > 0 ? new EmbeddedKafkaBroker(Path.of(args[0])) : inTemporaryDirectory();
        broker.start();
        // A standalone process should die on Kafka's fatal errors, as kafka.Kafka does.
        Exit.resetExitProcedure();
        Exit.resetHaltProcedure();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.stop();
            stopped.countDown();
        }, "embedded-kafka-shutdown"));
        System.out.println("bootstrap.servers=" + broker.bootstrapServers());
        System.out.flush();
        stopped.await();
    }
}
