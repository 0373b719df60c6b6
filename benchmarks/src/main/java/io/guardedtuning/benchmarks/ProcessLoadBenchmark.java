package io.guardedtuning.benchmarks;

import io.guardedtuning.deploy.local.LocalStack;
import io.guardedtuning.deploy.local.ProcessSupervisor;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.messaging.Topics;
import io.guardedtuning.session.SessionKeys;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Load against server-compute as separate processes, started as the local runner starts them ({@link LocalStack}:
 * a broker process, then one and then two server-compute JVMs in the {@code server-compute} group): 1, 2, 4 and 8
 * concurrent Online sessions each, with {@link LoadBenchmark}'s clients (threads of this JVM). Reports steps/s per
 * session and in total, fairness, and the servers' peak resident memory (summed VmRSS, sampled every 100 ms).
 *
 * <p>The up topics get {@value LoadBenchmark#PARTITIONS} partitions (the local runner makes one; a second replica
 * would get none), so the two replicas split them; a session goes to the replica that owns its key's partition.
 * Each replica count is warmed up by a short untimed round of as many sessions first.
 *
 * <p>Run from the repository root after a reactor build (the services' builds are used). Arguments: [steps per
 * session, default 10] [max sessions, default 8].
 */
public final class ProcessLoadBenchmark {

    private static final String MODEL = "gt-tiny-opt";

    private ProcessLoadBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        DjlRuntime.configure();
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int maxSessions = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        LoadBenchmark.Model model = LoadBenchmark.Model.load();
        List<String> lines = new ArrayList<>();
        Path work = Files.createTempDirectory("gt-process-load");
        try (LocalStack stack = new LocalStack(Path.of("").toAbsolutePath(), work, 1)) {
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrap()))) {
                NewPartitions wanted = NewPartitions.increaseTo(LoadBenchmark.PARTITIONS);
                admin.createPartitions(Map.of(Topics.ACTIVATIONS_UP, wanted, Topics.GRADIENTS_UP, wanted)).all()
                        .get();
            }
            LoadBenchmark.Target target = new LoadBenchmark.Target(stack.bootstrap(),
                    SessionKeys.fromHex(stack.masterKey()));
            List<Long> servers = new ArrayList<>();
            for (int replicas = 1; replicas <= 2; replicas++) {
                ProcessSupervisor.Managed replica = stack.addServer(MODEL, 2);
                servers.add(replica.pid());
                System.err.printf(Locale.ROOT, "server-compute replica %d up (pid %d); warming up%n", replicas,
                        replica.pid());
                // Enough sessions that each replica almost surely gets some (and warms up); not timed.
                LoadBenchmark.measure(target, model, replicas, maxSessions, 2, servers);
                for (int sessions = 1; sessions <= maxSessions; sessions *= 2) {
                    LoadBenchmark.Row row = LoadBenchmark.measure(target, model, replicas, sessions, steps, servers);
                    lines.add(LoadBenchmark.format(row) + " " + spread(row.sessionIds(), replicas) + " |");
                    System.out.println(lines.get(lines.size() - 1));
                }
            }
            for (long pid : servers) {
                lines.add(String.format(Locale.ROOT, "server pid %d: VmHWM %s", pid, vmHwm(pid)));
            }
        }
        System.out.printf(Locale.ROOT, "%nmodel=%s k=2 batch=%d steps/session=%d fp32 wire, cores=%d; servers are "
                + "processes, clients are threads of this JVM%n", MODEL, LoadBenchmark.BATCH, steps,
                Runtime.getRuntime().availableProcessors());
        System.out.println("| replicas | sessions | steps/s per session (mean) | steps/s total | fairness (min/mean) "
                + "| peak server RSS MiB (all replicas) | peak client-JVM heap MiB | sessions per replica |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        lines.forEach(System.out::println);
    }

    /**
     * How the sessions' partitions fall on the replicas under the group's range assignment of the up topics (one
     * replica: all; two: partitions 0-1 and 2-3), e.g. "3/1". The partition is the producer's for the session key.
     */
    private static String spread(List<String> sessions, int replicas) {
        int[] count = new int[replicas];
        int perReplica = LoadBenchmark.PARTITIONS / replicas;
        for (String s : sessions) {
            int partition = Utils.toPositive(Utils.murmur2(s.getBytes(StandardCharsets.UTF_8)))
                    % LoadBenchmark.PARTITIONS;
            count[partition / perReplica]++;
        }
        StringBuilder out = new StringBuilder();
        for (int c : count) {
            out.append(out.length() == 0 ? "" : "/").append(c);
        }
        return out.toString();
    }

    private static String vmHwm(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                    .filter(l -> l.startsWith("VmHWM:")).map(l -> l.substring(6).trim()).findFirst().orElse("?");
        } catch (java.io.IOException e) {
            return "? (" + e.getMessage() + ")";
        }
    }
}
