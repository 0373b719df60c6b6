package io.guardedtuning.deploy.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.deploy.k8s.Overlay;
import io.guardedtuning.deploy.k8s.RenderedWorkloads;
import io.guardedtuning.deploy.local.LocalBroker;
import io.guardedtuning.deploy.local.LocalStack;
import io.guardedtuning.deploy.local.ProcessSupervisor;
import io.guardedtuning.deploy.local.RunSpec;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.split.Design;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The container images end to end, through a Docker-compatible API (Podman's in CI; Testcontainers): the broker
 * image, server-compute and attack-audit from their images, one client-compute "Job" container per session and, for
 * the Offline session, an emulator-distillation "Job" container, each under the security context its manifest sets
 * (user, read-only root, dropped capabilities, no privilege escalation, memory limit, its emptyDir volumes as fresh
 * writable directories). A short Online, Gradfree and Offline session on the bundled model must end as the same
 * sessions end through the services as local processes (same jars): done, with bit-identical adapters (for Offline,
 * also those the provider plugged in); the auditor, on the public text baked into its image, attacks the Online
 * session's training steps and its client scores them.
 * Skipped where no container runtime answers or the images are not built ({@code deploy/images/build}).
 */
class ImagesEndToEndTest {

    private static final String TAG = "0.1.0";
    private static final String MODEL = "gt-tiny-opt";
    private static final int AUDIT_EVERY = 2;
    private static final Duration START_LIMIT = Duration.ofMinutes(4);
    private static final Duration SESSION_LIMIT = Duration.ofMinutes(6);
    private static final Duration PLUG_IN_LIMIT = Duration.ofMinutes(2);
    private static final int DISTIL_STEPS = 2;
    private static final int AUDIT_SIP_STEPS = 400;
    /** The fidelity guard refuses the bundled tiny model's emulators by default (docs/results.md); the flow is tested. */
    private static final Map<String, String> EMULATOR_SETTINGS = Map.of("gt.emulator.guard.min-perplexity-ratio", "1.0");
    /** The adapters the provider plugged in, in its job directory; their digest sits in the summaries under this key. */
    private static final String PLUGGED_IN_FILE = "adapters.safetensors";
    private static final String PLUGGED_IN = "pluggedInSha256";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    /** Thread count both runs use: results are bit-identical only for the same intra-op parallelism. */
    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());

    /** Container logs, kept after the run for whoever reads a failure (outside the @TempDir, which closes first). */
    private static final Path LOGS = Path.of("target", "images-e2e");

    @TempDir
    static Path dir;
    private static final List<GenericContainer<?>> STARTED = new ArrayList<>();
    private static String bootstrap;
    private static String masterKey;
    /** The provider's operator token (GT_OPERATOR_TOKEN): reading any session's audit report needs it. */
    private static String operatorToken;
    private static int auditPort;
    /** The provider's package-signing pair for the images' Offline session. */
    private static final KeyPair providerKeys = ProviderKeys.generate();

    @BeforeAll
    static void requireRuntimeAndImages() throws java.io.IOException {
        assumeTrue(DockerClientFactory.instance().isDockerAvailable(), "no container runtime answers (set "
                + "DOCKER_HOST to Podman's socket, e.g. from deploy/images/podman-socket; docs/deploy.md)");
        for (String image : List.of("kafka", "server-compute", "attack-audit", "client-compute")) {
            String name = image(image);
            assumeTrue(imagePresent(name), name + " is not built: run deploy/images/build");
        }
        for (String service : List.of("server-compute", "client-compute", "attack-audit")) {
            assumeTrue(Files.isRegularFile(home().resolve("services/" + service + "/target/quarkus-app/quarkus-run.jar")),
                    service + " is not built; run the tests through the reactor (./mvnw verify)");
        }
        Files.createDirectories(LOGS);
        try (var old = Files.list(LOGS)) {
            for (Path log : old.toList()) {
                Files.delete(log);
            }
        }
        String cannotRun = cannotRunContainers();
        assumeTrue(cannotRun == null, "the container runtime answers but cannot run a container here: " + cannotRun);
    }

    /** Why a trivial container of the broker image does not run under the test's security settings; null if it does. */
    private static String cannotRunContainers() {
        try (GenericContainer<?> probe = container(image("kafka"), "probe")
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.withEntrypoint("/bin/true").withUser("185");
                    secure(cmd.getHostConfig(), Quantity.parse("64Mi"));
                })
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(1)))) {
            probe.start();
            return null;
        } catch (RuntimeException e) {
            return e.getMessage() + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")");
        }
    }

    @AfterAll
    static void stopContainers() {
        STARTED.forEach(GenericContainer::stop);
    }

    @Test
    void onlineGradfreeAndOfflineSessionsThroughTheImagesMatchTheLocalProcessesBitForBit() throws Exception {
        List<RunSpec> sessions = List.of(spec("images-online", Design.ONLINE, AUDIT_EVERY),
                spec("images-gradfree", Design.GRADFREE, 0), spec("images-offline", Design.OFFLINE, 0));
        Map<String, JsonNode> reference = runAsLocalProcesses(sessions);

        long started = System.nanoTime();
        startBroker();
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        operatorToken = HexFormat.of().formatHex(key);
        GenericContainer<?> server = service("server-compute", Map.of(), "");
        auditPort = ProcessSupervisor.freePort();
        GenericContainer<?> auditor = service("attack-audit", Map.of("QUARKUS_HTTP_PORT", Integer.toString(auditPort)),
                // The costliest attacks are left out, as the local runner does: on 2 cores each takes minutes.
                " -Dgt.audit.sampling.every=" + AUDIT_EVERY + " -Dgt.audit.attacks=sip,bisr-f,bisr-b"
                        // Its inverter trains on the whole baked-in corpus, for fewer steps than by default.
                        + " -Dgt.audit.caps.sip-steps=" + AUDIT_SIP_STEPS);
        startAll(List.of(server, auditor));
        System.out.printf("images: broker, server-compute and attack-audit up in %.0f s%n", seconds(started));

        for (RunSpec spec : sessions) {
            long t = System.nanoTime();
            GenericContainer<?> emulator = spec.design() == Design.OFFLINE ? startEmulatorJob(spec) : null;
            JsonNode summary = runClientJob(spec);
            JsonNode expected = reference.get(spec.id());
            assertEquals("done", summary.path("status").asText(), summary.path("error").asText());
            assertEquals(expected.path("steps").asLong(), summary.path("steps").asLong(), "training steps");
            assertEquals(64, expected.path("adaptersSha256").asText().length());
            assertEquals(expected.path("adaptersSha256").asText(), summary.path("adaptersSha256").asText(),
                    spec.id() + ": the adapters trained through the images, bit for bit as through local processes");
            assertEquals(expected.path("losses"), summary.path("losses"), "per-step losses");
            if (emulator != null) {
                assertEquals(expected.path(PLUGGED_IN).asText(), pluggedInAdapters(emulator, spec),
                        "the provider's emulator-distillation image plugged in the adapters the client sent");
            }
            System.out.printf("images: %s done in %.0f s, adapters %s%n", spec.id(), seconds(t),
                    summary.path("adaptersSha256").asText());
        }
        long scored = awaitScoredAuditPoints("images-online");
        assertTrue(scored > 0, "the auditor's attacks on sampled training steps of the Online session were scored by its client");
        System.out.printf("images: end to end in %.0f s (after the reference run), %d audit points scored%n",
                seconds(started), scored);
    }

    private static RunSpec spec(String id, Design design, int auditEvery) throws Exception {
        Path task = Path.of(ImagesEndToEndTest.class.getResource("/tasks/weather.jsonl").toURI());
        return new RunSpec(id, design, 2, 0f, 8, 8, 8, 8, 4, 3e-3f, 1, 1, MODEL, "arc:" + task + "," + task,
                24, 8, 6, auditEvery, false, 0, DISTIL_STEPS, RunSpec.Defence.NONE);
    }

    /** The same sessions through the services as local processes (the local runner's stack, same jars). */
    private static Map<String, JsonNode> runAsLocalProcesses(List<RunSpec> sessions) throws Exception {
        Map<String, JsonNode> summaries = new LinkedHashMap<>();
        try (LocalStack stack = new LocalStack(home(), dir.resolve("reference"), AUDIT_EVERY)) {
            // The images' provider takes the same master secret: the emulator's watermark derives from it.
            masterKey = stack.masterKey();
            stack.auditOnPublicCorpus(false);
            stack.emulatorSettings(EMULATOR_SETTINGS);
            stack.ensureProvider(MODEL, 2);
            for (RunSpec spec : sessions) {
                Path run = dir.resolve("reference").resolve(spec.id());
                ProcessSupervisor.Managed emulator = spec.design() == Design.OFFLINE
                        ? stack.startEmulator(spec, run) : null;
                ProcessSupervisor.Managed client = stack.startClient(spec, run);
                if (!client.process().waitFor(SESSION_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                    fail("the reference client did not finish; see " + client.log());
                }
                ObjectNode summary = (ObjectNode) JSON.readTree(run.resolve("client-summary.json").toFile());
                assertEquals("done", summary.path("status").asText(), "reference " + spec.id());
                if (emulator != null) {
                    assertTrue(emulator.process().waitFor(PLUG_IN_LIMIT.toSeconds(), TimeUnit.SECONDS)
                            && emulator.process().exitValue() == 0, "the reference emulator job plugged in; see "
                            + emulator.log());
                    summary.put(PLUGGED_IN, sha256(LocalStack.emulatorJobDir(run, spec.id())
                            .resolve(PLUGGED_IN_FILE)));
                }
                summaries.put(spec.id(), summary);
            }
        }
        return summaries;
    }

    /** The broker image as a test broker: user 185, read-only root, its data and /tmp on fresh directories. */
    private static void startBroker() throws InterruptedException {
        GenericContainer<?> broker = container(image("kafka"), "kafka-broker")
                .withCreateContainerCmdModifier(cmd -> {
                    cmd.withUser("185");
                    secure(cmd.getHostConfig(), Quantity.parse("1Gi"));
                })
                .waitingFor(Wait.forLogMessage("bootstrap\\.servers=.*\\n", 1).withStartupTimeout(START_LIMIT));
        emptyDirOf(broker, "/var/lib/kafka");
        emptyDirOf(broker, "/tmp");
        STARTED.add(broker);
        broker.start();
        String line = broker.getLogs().lines().filter(l -> l.startsWith("bootstrap.servers=")).findFirst()
                .orElseThrow();
        bootstrap = line.substring("bootstrap.servers=".length()).trim();
        LocalBroker.createTopics(bootstrap, List.of());
    }

    /** A provider service as its Deployment runs it, minus what needs a cluster (SASL/TLS, the models claim). */
    private static GenericContainer<?> service(String name, Map<String, String> env, String javaOptions) {
        Container manifest = RenderedWorkloads.podOf(Overlay.DEV, name).getContainers().get(0);
        Map<String, String> all = new LinkedHashMap<>(providerEnv(manifest));
        all.put("GT_MASTER_KEY", masterKey);
        all.put("GT_OPERATOR_TOKEN", operatorToken);
        all.put("QUARKUS_HTTP_PORT", Integer.toString(freePort()));
        all.put("JAVA_OPTS_APPEND", "-Dai.djl.pytorch.num_threads=" + THREADS + javaOptions);
        all.putAll(env);
        return withManifest(container(image(name), name), name).withEnv(all)
                .waitingFor(Wait.forLogMessage(".*Listening on: http.*\\n", 1).withStartupTimeout(START_LIMIT));
    }

    /** The manifest's plain values and the gt-runtime ConfigMap, except what only a cluster has. */
    private static Map<String, String> providerEnv(Container manifest) {
        Map<String, String> env = new LinkedHashMap<>();
        RenderedWorkloads.configMaps(Overlay.DEV).get("gt-runtime").getData().forEach(env::put);
        manifest.getEnv().stream().filter(v -> v.getValue() != null && !v.getValue().contains("$("))
                .forEach(v -> env.put(v.getName(), v.getValue()));
        env.keySet().removeIf(k -> k.startsWith("KAFKA_S") || k.equals("GT_MODEL_DIR"));
        env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
        return env;
    }

    /**
     * The session's emulator-distillation as its Job runs it: the provider's signing pair from the Secret's mount,
     * its jobs directory on the claim's mount, the public text for distillation from the npm packages baked into the
     * image (nothing is fetched: no npm, no network but the broker). Returns once it serves.
     */
    private static GenericContainer<?> startEmulatorJob(RunSpec spec) throws Exception {
        LocalBroker.createTopics(bootstrap, List.of(Topics.sessionDown(spec.id())));
        Container manifest = RenderedWorkloads.podOf(Overlay.DEV, "emulator-distillation").getContainers().get(0);
        Map<String, String> env = new LinkedHashMap<>(providerEnv(manifest));
        env.put("GT_SESSION_ID", spec.id());
        env.put("KAFKA_GROUP_ID", "emulator-distillation." + spec.id());
        // Unlike the other services it has no bundled fallback: the provider's checkpoint comes from the models claim.
        String models = mountPath("emulator-distillation", "models");
        env.put("GT_MODEL_DIR", models);
        env.put("GT_MASTER_KEY", masterKey);
        env.put("GT_OPERATOR_TOKEN", operatorToken);
        env.put("QUARKUS_HTTP_PORT", Integer.toString(freePort()));
        StringBuilder options = new StringBuilder("-Dai.djl.pytorch.num_threads=" + THREADS);
        EMULATOR_SETTINGS.forEach((k, v) -> options.append(" -D").append(k).append('=').append(v));
        env.put("JAVA_OPTS_APPEND", options.toString());
        GenericContainer<?> emulator = withManifest(container(image("emulator-distillation"),
                "emulator-distillation-" + spec.id()), "emulator-distillation").withEnv(env)
                .waitingFor(Wait.forLogMessage(".*Listening on: http.*\\n", 1).withStartupTimeout(START_LIMIT));
        // The Secret's role: the files as the kubelet projects them, readable by the pod's user.
        Path signing = Files.createTempDirectory(dir, "signing-");
        Files.writeString(signing.resolve("ed25519.key"), ProviderKeys.toBase64(providerKeys.getPrivate()));
        Files.writeString(signing.resolve("ed25519.pub"), ProviderKeys.toBase64(providerKeys.getPublic()));
        for (Path file : List.of(signing, signing.resolve("ed25519.key"), signing.resolve("ed25519.pub"))) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(Files.isDirectory(file)
                    ? "r-xr-xr-x" : "r--r--r--"));
        }
        emulator.withFileSystemBind(signing.toString(), mountPath("emulator-distillation", "signing"),
                org.testcontainers.containers.BindMode.READ_ONLY);
        // The gt-models claim's role: the bundled checkpoint's files, read-only, readable by the pod's user.
        Path checkpoint = Files.createTempDirectory(dir, "models-");
        Files.setPosixFilePermissions(checkpoint, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (var files = Files.list(ModelCatalog.resolve(MODEL))) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                Path copy = Files.copy(file, checkpoint.resolve(file.getFileName()));
                Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
            }
        }
        emulator.withFileSystemBind(checkpoint.toString(), models, org.testcontainers.containers.BindMode.READ_ONLY);
        STARTED.add(emulator);
        emulator.start();
        return emulator;
    }

    /** Waits for the emulator Job to exit after plugging the adapters in; the digest of what it plugged in. */
    private static String pluggedInAdapters(GenericContainer<?> emulator, RunSpec spec) throws Exception {
        long deadline = System.nanoTime() + PLUG_IN_LIMIT.toNanos();
        while (emulator.isRunning() && System.nanoTime() < deadline) {
            Thread.sleep(1000);
        }
        Long exit = emulator.getCurrentContainerInfo() == null ? null
                : DockerClientFactory.instance().client().inspectContainerCmd(emulator.getContainerId()).exec()
                        .getState().getExitCodeLong();
        assertEquals(0L, exit, "emulator-distillation exits 0 once it plugged in; its log: "
                + LOGS.resolve("emulator-distillation-" + spec.id() + ".log").toAbsolutePath());
        Path jobs = hostDirOf(emulator, mountPath("emulator-distillation", "jobs"));
        return sha256(jobs.resolve(spec.id()).resolve(PLUGGED_IN_FILE));
    }

    /** One session's client-compute as its Job runs it: it trains, writes its summary under /tmp and exits. */
    private static JsonNode runClientJob(RunSpec spec) throws Exception {
        LocalBroker.createTopics(bootstrap, List.of(Topics.sessionDown(spec.id())));
        Map<String, String> props = new LinkedHashMap<>(spec.clientProperties());
        Map<String, String> env = new LinkedHashMap<>(providerEnv(
                RenderedWorkloads.podOf(Overlay.DEV, "client-compute").getContainers().get(0)));
        env.remove("GT_CACHE_DIR");
        // The Job's own variables carry the session settings; the rest goes in as -D like the manifest's threads.
        Map<String, String> jobVariables = Map.of("GT_SESSION_ID", "gt.client.session-id", "GT_DESIGN",
                "gt.client.design", "GT_SPLIT_K", "gt.client.k", "GT_ALPHA", "gt.client.alpha", "GT_BITS_UP",
                "gt.client.bits-up", "GT_BITS_DOWN", "gt.client.bits-down", "GT_TASK", "gt.client.task.name",
                "GT_TRAIN_SIZE", "gt.client.task.train-size", "GT_EVAL_SIZE", "gt.client.task.eval-size");
        jobVariables.forEach((variable, property) -> env.put(variable, props.remove(property)));
        env.put("GT_SESSION_KEY", HexFormat.of().formatHex(SessionKeys.fromHex(masterKey).forSession(spec.id()).key()));
        env.put("GT_CLIENT_EXIT_ON_FINISH", "true");
        env.put("GT_PROVIDER_PUBLIC_KEY", ProviderKeys.toBase64(providerKeys.getPublic()));
        env.put("GT_CLIENT_SUMMARY_PATH", "/tmp/client-summary.json");
        env.put("QUARKUS_HTTP_PORT", Integer.toString(freePort()));
        StringBuilder options = new StringBuilder("-Dai.djl.pytorch.num_threads=" + THREADS);
        props.forEach((k, v) -> options.append(" -D").append(k).append('=').append(v));
        env.put("JAVA_OPTS_APPEND", options.toString());
        GenericContainer<?> client = withManifest(container(image("client-compute"), "client-compute-" + spec.id()),
                "client-compute").withEnv(env)
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(SESSION_LIMIT));
        // The task file at the path the reference run names (the gt-data claim's role).
        String task = spec.task().substring("arc:".length()).split(",")[0];
        client.withFileSystemBind(task, task, org.testcontainers.containers.BindMode.READ_ONLY);
        Path tmp = hostDirOf(client, "/tmp");
        try {
            client.start();
        } catch (RuntimeException e) {
            fail("client-compute " + spec.id() + " failed: " + e.getMessage() + "; its log: " + LOGS.resolve(
                    "client-compute-" + spec.id() + ".log").toAbsolutePath());
        } finally {
            client.stop();
        }
        return JSON.readTree(tmp.resolve("client-summary.json").toFile());
    }

    /**
     * Applies the workload's manifest to the container: its user, read-only root filesystem, dropped capabilities,
     * no privilege escalation, memory limit, and each emptyDir volume as a fresh directory writable by that user.
     */
    private static GenericContainer<?> withManifest(GenericContainer<?> c, String service) {
        PodSpec pod = RenderedWorkloads.podOf(Overlay.DEV, service);
        Container manifest = pod.getContainers().get(0);
        SecurityContext security = manifest.getSecurityContext();
        Long user = pod.getSecurityContext().getRunAsUser();
        assertTrue(security.getReadOnlyRootFilesystem() && !security.getAllowPrivilegeEscalation()
                && security.getCapabilities().getDrop().equals(List.of("ALL")) && user != null && user > 0,
                service + "'s manifest: non-root user, read-only root, no escalation, all capabilities dropped");
        c.withCreateContainerCmdModifier(cmd -> cmd.withUser(Long.toString(user)));
        Quantity memory = manifest.getResources().getLimits().get("memory");
        c.withCreateContainerCmdModifier(cmd -> secure(cmd.getHostConfig(), memory));
        for (VolumeMount mount : manifest.getVolumeMounts()) {
            Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst()
                    .orElseThrow();
            if (volume.getEmptyDir() != null) {
                emptyDirOf(c, mount.getMountPath());
            }
        }
        return c;
    }

    private static void secure(HostConfig host, Quantity memory) {
        host.withReadonlyRootfs(true).withCapDrop(Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges"))
                .withNetworkMode("host");
        if (memory != null) {
            host.withMemory(Quantity.getAmountInBytes(memory).longValueExact());
        }
    }

    private static GenericContainer<?> container(String image, String name) {
        return new GenericContainer<>(DockerImageName.parse(image))
                .withLabel("io.guardedtuning.test", "images-e2e")
                .withLogConsumer(frame -> appendLog(name, frame.getUtf8String()));
    }

    /** A fresh host directory, writable by the container's user, mounted at {@code path} (an emptyDir's role). */
    private static Path emptyDirOf(GenericContainer<?> c, String path) {
        try {
            Path host = Files.createTempDirectory(dir, "volume-");
            Files.setPosixFilePermissions(host, PosixFilePermissions.fromString("rwxrwxrwx"));
            c.withFileSystemBind(host.toString(), path, org.testcontainers.containers.BindMode.READ_WRITE);
            return host;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Where the workload's manifest mounts the named volume. */
    private static String mountPath(String service, String volume) {
        return RenderedWorkloads.podOf(Overlay.DEV, service).getContainers().get(0).getVolumeMounts().stream()
                .filter(m -> m.getName().equals(volume)).map(VolumeMount::getMountPath).findFirst()
                .orElseThrow(() -> new AssertionError(service + "'s manifest mounts no volume " + volume));
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    /** The host directory bound at {@code path}: the manifest's emptyDir there, which the Job writes into. */
    private static Path hostDirOf(GenericContainer<?> c, String path) {
        return c.getBinds().stream().filter(b -> b.getVolume().getPath().equals(path))
                .map(b -> Path.of(b.getPath())).findFirst()
                .orElseThrow(() -> new AssertionError("the manifest mounts no volume at " + path));
    }

    private static void startAll(List<GenericContainer<?>> containers) {
        for (GenericContainer<?> c : containers) {
            STARTED.add(c);
            c.start();
        }
    }

    /** Polls the auditor's report of the session until training steps are scored, for at most three minutes. */
    private static long awaitScoredAuditPoints(String session) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        long scored = 0;
        JsonNode report = null;
        while (System.nanoTime() < deadline && scored == 0) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + auditPort
                    + "/audit/sessions/" + session)).header("Authorization", "Bearer " + operatorToken)
                    .timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            report = r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
            scored = report == null ? 0 : StreamSupport.stream(report.path("series").spliterator(), false)
                    .filter(series -> series.path("pass").asText().equals("train"))
                    .flatMap(series -> StreamSupport.stream(series.path("points").spliterator(), false))
                    .filter(p -> p.hasNonNull("rougeL")).count();
            if (scored == 0) {
                Thread.sleep(5000);
            }
        }
        System.out.println("images: audit report of " + session + ": " + report);
        return scored;
    }

    private static void appendLog(String name, String text) {
        try {
            Files.writeString(LOGS.resolve(name + ".log"), text, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException ignored) {
            // A lost log line must not fail the test; the container's state decides.
        }
    }

    private static boolean imagePresent(String image) {
        try {
            DockerClientFactory.instance().client().inspectImageCmd(image).exec();
            return true;
        } catch (RuntimeException missing) {
            return false;
        }
    }

    private static String image(String name) {
        return "localhost/guardedtuning/" + name + ":" + TAG;
    }

    private static int freePort() {
        try {
            return ProcessSupervisor.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    /** The repository root: the parent of this module, where the services are built. */
    private static Path home() {
        return Path.of("").toAbsolutePath().getParent();
    }
}
