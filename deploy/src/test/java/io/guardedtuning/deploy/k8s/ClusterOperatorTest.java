package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.session.OwnerToken;
import io.guardedtuning.session.SessionKeys;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@EnableKubernetesMockClient(crud = true)
class ClusterOperatorTest {

    static KubernetesClient client;

    private static final SessionTask SPAM = new SessionTask("spam-assassin", 300, 100);
    private static final SessionSpec ONLINE = new SessionSpec("Alice_01", Design.ONLINE, 2, 0.5, 8, 8, SPAM);

    @BeforeEach
    void installOperators() {
        MockCluster.installOperatorCrds(client);
    }

    @Test
    void deployAppliesTheWholeOverlayAndASecondRunChangesNothing() {
        ClusterOperator operator = new ClusterOperator(client, "gt-deploy");

        List<String> applied = operator.deploy(Overlay.DEV);
        Map<String, Object> first = snapshot("gt-deploy");
        operator.deploy(Overlay.DEV);

        assertEquals(first, snapshot("gt-deploy"));
        assertTrue(applied.contains("Kafka/gt"), applied::toString);
        assertNotNull(client.namespaces().withName("gt-deploy").get());
        Deployment server = client.apps().deployments().inNamespace("gt-deploy").withName("server-compute").get();
        assertEquals(1, server.getSpec().getReplicas());
        assertEquals(10, custom(ResourceKind.KAFKA_TOPIC, "gt-deploy").size());
        assertEquals(4, custom(ResourceKind.KAFKA_USER, "gt-deploy").size());
        GenericKubernetesResource scaledObject = custom(ResourceKind.SCALED_OBJECT, "gt-deploy").get(0);
        List<?> triggers = scaledObject.get("spec", "triggers");
        assertEquals("gt-kafka-bootstrap.gt-deploy.svc:9093",
                ((Map<?, ?>) ((Map<?, ?>) triggers.get(0)).get("metadata")).get("bootstrapServers"));
    }

    @Test
    void deployNamesTheMissingCrdsAndAppliesNothing() {
        MockCluster.removeCrd(client, ResourceKind.SCALED_OBJECT);
        MockCluster.removeCrd(client, ResourceKind.TRIGGER_AUTHENTICATION);
        ClusterOperator operator = new ClusterOperator(client, "gt-no-keda");

        K8sOperationException failure = assertThrows(K8sOperationException.class, () -> operator.deploy(Overlay.GPU));

        assertTrue(failure.getMessage().contains("scaledobjects.keda.sh"), failure.getMessage());
        assertTrue(failure.getMessage().contains("triggerauthentications.keda.sh"), failure.getMessage());
        assertTrue(failure.getMessage().contains("install KEDA"), failure.getMessage());
        assertTrue(client.apps().deployments().inNamespace("gt-no-keda").list().getItems().isEmpty());
    }

    @Test
    void sessionStartCreatesTopicUserKeyAndJobOnceAndKeepsTheKey() {
        ClusterOperator operator = new ClusterOperator(client, "gt-session");
        operator.deploy(Overlay.DEV);
        SessionNames names = new SessionNames(ONLINE.sessionId());

        operator.startSession(ONLINE);
        Secret key = client.secrets().inNamespace("gt-session").withName(names.keySecret()).get();
        Map<String, Object> first = snapshot("gt-session");
        List<String> second = operator.startSession(ONLINE);

        assertEquals(first, snapshot("gt-session"));
        assertTrue(second.contains("Job/" + names.clientJob() + " (already present)"), second::toString);
        assertEquals(key.getData(), client.secrets().inNamespace("gt-session").withName(names.keySecret()).get()
                .getData());
        GenericKubernetesResource topic = customByName(ResourceKind.KAFKA_TOPIC, "gt-session",
                names.downTopicResource());
        assertEquals("gt.session.Alice_01.down", topic.get("spec", "topicName"));
        assertEquals(1, ((Number) topic.get("spec", "replicas")).intValue());
        GenericKubernetesResource user = customByName(ResourceKind.KAFKA_USER, "gt-session", names.kafkaUser());
        List<Map<String, Object>> acls = user.get("spec", "authorization", "acls");
        List<String> prefixes = acls.stream()
                .map(acl -> (Map<?, ?>) acl.get("resource"))
                .filter(resource -> "prefix".equals(resource.get("patternType")))
                .map(resource -> resource.get("type") + ":" + resource.get("name"))
                .toList();
        assertEquals(List.of("topic:gt.session.Alice_01.", "group:gt.session.Alice_01."), prefixes);
        Job job = client.batch().v1().jobs().inNamespace("gt-session").withName(names.clientJob()).get();
        Map<String, String> env = job.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
                .filter(variable -> variable.getValue() != null)
                .collect(Collectors.toMap(variable -> variable.getName(), variable -> variable.getValue()));
        assertEquals("Alice_01", env.get("GT_SESSION_ID"));
        assertEquals("online", env.get("GT_DESIGN"));
        assertEquals("2", env.get("GT_SPLIT_K"));
        assertEquals("0.5", env.get("GT_ALPHA"));
        assertEquals("spam-assassin", env.get("GT_TASK"));
        assertEquals("300", env.get("GT_TRAIN_SIZE"));
        assertEquals("100", env.get("GT_EVAL_SIZE"));
        assertEquals("/data/cache", env.get("GT_CACHE_DIR"));
        assertTrue(job.getSpec().getTemplate().getSpec().getVolumes().stream().anyMatch(volume ->
                volume.getPersistentVolumeClaim() != null && "gt-data".equals(volume.getPersistentVolumeClaim()
                        .getClaimName()) && volume.getPersistentVolumeClaim().getReadOnly()), "read-only gt-data");
        assertNull(client.batch().v1().jobs().inNamespace("gt-session").withName(names.emulatorJob()).get());
    }

    @Test
    void theSessionKeyIsTheOneTheServerDerivesFromTheMasterSecret() {
        ClusterOperator operator = new ClusterOperator(client, "gt-keys");
        operator.deploy(Overlay.DEV);

        List<String> started = operator.startSession(ONLINE);

        String master = secretEntry("gt-keys", ClusterOperator.MASTER_KEY_SECRET, ClusterOperator.MASTER_KEY_ENTRY);
        assertEquals(64, master.length());
        byte[] derived = SessionKeys.fromHex(master).forSession(ONLINE.sessionId()).key();
        assertEquals(HexFormat.of().formatHex(derived), secretEntry("gt-keys",
                new SessionNames(ONLINE.sessionId()).keySecret(), SessionNames.SESSION_KEY_ENTRY));
        // The data owner's token for reading its audit results verifies under the services' master secret.
        String ownerLine = started.get(started.size() - 1);
        String token = ownerLine.substring(ownerLine.lastIndexOf(' ') + 1);
        assertEquals(java.util.Optional.of(ONLINE.sessionId()), OwnerToken.verify(token,
                s -> java.util.Optional.of(SessionKeys.fromHex(master).forSession(s))));
        assertEquals(64, secretEntry("gt-keys", ClusterOperator.OPERATOR_TOKEN_SECRET,
                ClusterOperator.OPERATOR_TOKEN_ENTRY).length());
    }

    @Test
    void sessionStartWithoutTheMasterSecretSaysSoAndCreatesNothing() {
        ClusterOperator operator = new ClusterOperator(client, "gt-no-master");
        operator.deploy(Overlay.DEV);
        client.secrets().inNamespace("gt-no-master").withName(ClusterOperator.MASTER_KEY_SECRET).delete();

        K8sOperationException failure = assertThrows(K8sOperationException.class,
                () -> operator.startSession(ONLINE));

        assertTrue(failure.getMessage().contains("no Secret gt-master-key with the entry GT_MASTER_KEY"),
                failure.getMessage());
        assertTrue(failure.getMessage().contains("`gt k8s deploy --namespace gt-no-master` creates one"),
                failure.getMessage());
        assertTrue(client.batch().v1().jobs().inNamespace("gt-no-master").list().getItems().isEmpty());
        assertNull(client.secrets().inNamespace("gt-no-master")
                .withName(new SessionNames(ONLINE.sessionId()).keySecret()).get());
    }

    @Test
    void deployGeneratesTheProviderSigningKeyPairOnce() throws Exception {
        ClusterOperator operator = new ClusterOperator(client, "gt-signing");
        List<String> first = operator.deploy(Overlay.GPU);
        String privateKey = secretEntry("gt-signing", ClusterOperator.SIGNING_KEY_SECRET,
                ClusterOperator.SIGNING_KEY_ENTRY);
        List<String> second = operator.deploy(Overlay.GPU);

        assertTrue(first.contains("Secret/gt-provider-signing-key (generated)"), first::toString);
        assertFalse(second.stream().anyMatch(line -> line.contains("generated")), second::toString);
        assertEquals(privateKey, secretEntry("gt-signing", ClusterOperator.SIGNING_KEY_SECRET,
                ClusterOperator.SIGNING_KEY_ENTRY));
        String publicKey = client.configMaps().inNamespace("gt-signing").withName(ClusterOperator.PUBLIC_KEY_CONFIG_MAP)
                .get().getData().get(ClusterOperator.PUBLIC_KEY_ENTRY);
        Signature signer = Signature.getInstance(ProviderKeys.ALGORITHM);
        signer.initSign(ProviderKeys.privateKey(privateKey));
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance(ProviderKeys.ALGORITHM);
        verifier.initVerify(ProviderKeys.publicKey(publicKey));
        verifier.update(new byte[] {1, 2, 3});
        assertTrue(verifier.verify(signature), "the ConfigMap's public key belongs to the Secret's private key");
    }

    @Test
    void aSecondStartWithOtherSettingsIsRefused() {
        ClusterOperator operator = new ClusterOperator(client, "gt-conflict");
        operator.deploy(Overlay.DEV);
        operator.startSession(ONLINE);

        K8sOperationException failure = assertThrows(K8sOperationException.class,
                () -> operator.startSession(new SessionSpec("Alice_01", Design.ONLINE, 2, 0.25, 8, 8, SPAM)));

        assertTrue(failure.getMessage().contains("gt k8s teardown --session Alice_01"), failure.getMessage());
    }

    @Test
    void aSessionWhoseKDiffersFromTheServersIsRefusedAndNothingIsCreated() {
        ClusterOperator operator = new ClusterOperator(client, "gt-k-mismatch");
        operator.deploy(Overlay.DEV);
        Map<String, Object> deployed = snapshot("gt-k-mismatch");

        K8sOperationException failure = assertThrows(K8sOperationException.class, () -> operator.startSession(
                new SessionSpec("dave", Design.GRADFREE, 3, 0.0, 8, 8, SPAM)));

        assertTrue(failure.getMessage().contains("asks for --k 3 but Deployment/server-compute in namespace "
                + "gt-k-mismatch runs with GT_K=2"), failure.getMessage());
        assertTrue(failure.getMessage().contains("start the session with --k 2, or redeploy server-compute and "
                + "attack-audit with GT_K=3"), failure.getMessage());
        assertEquals(deployed, snapshot("gt-k-mismatch"));
    }

    @Test
    void aSessionMatchingTheServersKIsAccepted() {
        ClusterOperator operator = new ClusterOperator(client, "gt-k-match");
        operator.deploy(Overlay.DEV);
        client.apps().deployments().inNamespace("gt-k-match").withName("server-compute").edit(deployment -> {
            deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
                    .filter(variable -> variable.getName().equals("GT_K"))
                    .forEach(variable -> variable.setValue("3"));
            return deployment;
        });

        operator.startSession(new SessionSpec("erin", Design.ONLINE, 3, 0.0, 8, 8, SPAM));

        assertNotNull(client.batch().v1().jobs().inNamespace("gt-k-match")
                .withName(new SessionNames("erin").clientJob()).get());
        assertThrows(K8sOperationException.class, () -> operator.startSession(
                new SessionSpec("frank", Design.ONLINE, 2, 0.0, 8, 8, SPAM)));
    }

    @Test
    void aServerWithoutItsSplitPointIsNamed() {
        ClusterOperator operator = new ClusterOperator(client, "gt-k-unset");
        operator.deploy(Overlay.DEV);
        client.apps().deployments().inNamespace("gt-k-unset").withName("server-compute").edit(deployment -> {
            deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()
                    .removeIf(variable -> variable.getName().equals("GT_K"));
            return deployment;
        });

        K8sOperationException failure = assertThrows(K8sOperationException.class, () -> operator.startSession(ONLINE));

        assertTrue(failure.getMessage().contains("Deployment/server-compute in namespace gt-k-unset sets no GT_K"),
                failure.getMessage());
    }

    @Test
    void offlineSessionsAlsoGetAnEmulatorJob() {
        ClusterOperator operator = new ClusterOperator(client, "gt-offline");
        operator.deploy(Overlay.GPU);

        // k = 4 while server-compute runs with 2: Offline sessions never reach it, so they skip the check.
        operator.startSession(new SessionSpec("bob", Design.OFFLINE, 4, 0.0, 16, 16, SPAM));

        Job emulator = client.batch().v1().jobs().inNamespace("gt-offline")
                .withName(new SessionNames("bob").emulatorJob()).get();
        assertNotNull(emulator);
        assertEquals("1", emulator.getSpec().getTemplate().getSpec().getContainers().get(0).getResources()
                .getLimits().get("nvidia.com/gpu").toString());
    }

    @Test
    void sessionStartBeforeDeployTellsToDeployFirst() {
        K8sOperationException failure = assertThrows(K8sOperationException.class,
                () -> new ClusterOperator(client, "gt-empty").startSession(ONLINE));

        assertTrue(failure.getMessage().contains("gt k8s deploy --namespace gt-empty"), failure.getMessage());
    }

    @Test
    void scalePinsReplicasAndPausesKedaThenAutoscaleResumes() {
        ClusterOperator operator = new ClusterOperator(client, "gt-scale");
        operator.deploy(Overlay.DEV);

        operator.scale(Component.SERVER_COMPUTE, 3);
        Map<String, Object> first = snapshot("gt-scale");
        operator.scale(Component.SERVER_COMPUTE, 3);

        assertEquals(first, snapshot("gt-scale"));
        assertEquals(3, client.apps().deployments().inNamespace("gt-scale").withName("server-compute").get()
                .getSpec().getReplicas());
        assertEquals("3", customByName(ResourceKind.SCALED_OBJECT, "gt-scale", "server-compute").getMetadata()
                .getAnnotations().get(ClusterOperator.PAUSED_REPLICAS_ANNOTATION));

        operator.resumeAutoscaling(Component.SERVER_COMPUTE);

        Map<String, String> annotations = customByName(ResourceKind.SCALED_OBJECT, "gt-scale", "server-compute")
                .getMetadata().getAnnotations();
        assertFalse(annotations != null && annotations.containsKey(ClusterOperator.PAUSED_REPLICAS_ANNOTATION));
    }

    @Test
    void scalingBeforeDeployTellsToDeployFirst() {
        K8sOperationException failure = assertThrows(K8sOperationException.class,
                () -> new ClusterOperator(client, "gt-nothing").scale(Component.ATTACK_AUDIT, 2));

        assertTrue(failure.getMessage().contains("no Deployment attack-audit"), failure.getMessage());
    }

    @Test
    void statusListsDeploymentsAndSessionsAndSaysWhenLagIsUnavailable() {
        ClusterOperator operator = new ClusterOperator(client, "gt-status");
        operator.deploy(Overlay.DEV);
        operator.startSession(ONLINE);
        operator.scale(Component.ATTACK_AUDIT, 2);

        ClusterStatus status = operator.status(Optional.empty());

        assertEquals(List.of("attack-audit", "server-compute"), status.deployments().stream()
                .map(ClusterStatus.DeploymentLine::name).sorted().toList());
        assertEquals(List.of("Alice_01"), status.sessions().stream().map(ClusterStatus.SessionLine::sessionId)
                .toList());
        assertTrue(status.sessions().get(0).downTopic());
        String text = status.render();
        assertTrue(text.contains("consumer lag: unavailable (no Kafka admin endpoint given"), text);
        assertTrue(text.contains("KEDA paused at 2"), text);

        ClusterStatus withLag = operator.status(Optional.of(groups -> Map.of("server-compute", 7L)));
        assertTrue(withLag.render().contains("server-compute"), withLag.render());
        assertEquals(Optional.of(Map.of("server-compute", 7L)), withLag.consumerLag());
    }

    @Test
    void teardownOfASessionRemovesOnlyThatSessionAndCanRunTwice() {
        ClusterOperator operator = new ClusterOperator(client, "gt-teardown");
        operator.deploy(Overlay.DEV);
        operator.startSession(ONLINE);
        operator.startSession(new SessionSpec("carol", Design.GRADFREE, 2, 0.0, 8, 8, SPAM));
        Map<String, Object> beforeAlice = snapshotWithout("gt-teardown", new SessionNames("Alice_01").label());

        List<String> deleted = operator.teardownSession("Alice_01");
        List<String> again = operator.teardownSession("Alice_01");

        assertEquals(4, deleted.size(), deleted::toString);
        assertTrue(again.isEmpty(), again::toString);
        assertEquals(beforeAlice, snapshot("gt-teardown"));
        assertEquals(List.of("carol"), operator.status(Optional.empty()).sessions().stream()
                .map(ClusterStatus.SessionLine::sessionId).toList());
    }

    @Test
    void teardownAllRemovesTheStackButKeepsTheModelsAndDataClaims() {
        ClusterOperator operator = new ClusterOperator(client, "gt-all");
        operator.deploy(Overlay.GPU);
        operator.startSession(ONLINE);

        operator.teardownAll();
        List<String> again = operator.teardownAll();

        assertTrue(again.isEmpty(), again::toString);
        assertEquals(Set.of("PersistentVolumeClaim/gt-models", "PersistentVolumeClaim/gt-data", "Secret/" + ClusterOperator.MASTER_KEY_SECRET,
                "Secret/" + ClusterOperator.OPERATOR_TOKEN_SECRET, "Secret/" + ClusterOperator.SIGNING_KEY_SECRET,
                "ConfigMap/" + ClusterOperator.PUBLIC_KEY_CONFIG_MAP),
                snapshot("gt-all").keySet());
    }

    @Test
    void anUnreachableClusterIsNamedInTheError() {
        try (KubernetesClient unreachable = Unreachable.client()) {
            K8sOperationException failure = assertThrows(K8sOperationException.class,
                    () -> new ClusterOperator(unreachable, "gt").deploy(Overlay.DEV));

            assertTrue(failure.getMessage().startsWith("cannot reach the Kubernetes API server at "
                    + Unreachable.URL), failure.getMessage());
        }
    }

    private static String secretEntry(String namespace, String secret, String entry) {
        String encoded = client.secrets().inNamespace(namespace).withName(secret).get().getData().get(entry);
        return new String(Base64.getDecoder().decode(encoded), StandardCharsets.US_ASCII);
    }

    /** Every GuardedTuning resource in the namespace by "Kind/name", with its spec or data (not server fields). */
    static Map<String, Object> snapshot(String namespace) {
        return snapshotWithout(namespace, null);
    }

    private static Map<String, Object> snapshotWithout(String namespace, String sessionLabel) {
        Map<String, Object> state = new TreeMap<>();
        List<HasMetadata> builtIn = new java.util.ArrayList<>();
        builtIn.addAll(client.apps().deployments().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.services().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.configMaps().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.secrets().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.batch().v1().jobs().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.policy().v1().podDisruptionBudget().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.network().v1().networkPolicies().inNamespace(namespace).list().getItems());
        builtIn.addAll(client.persistentVolumeClaims().inNamespace(namespace).list().getItems());
        MockCluster.OPERATOR_KINDS.forEach(kind -> builtIn.addAll(custom(kind, namespace)));
        for (HasMetadata resource : builtIn) {
            Map<String, String> labels = resource.getMetadata().getLabels();
            if (sessionLabel != null && labels != null
                    && sessionLabel.equals(labels.get(SessionNames.SESSION_LABEL))) {
                continue;
            }
            Map<String, Object> content = new TreeMap<>(client.getKubernetesSerialization()
                    .convertValue(resource, Map.class));
            content.remove("status");
            Map<?, ?> metadata = (Map<?, ?>) content.get("metadata");
            content.put("metadata", Map.of("labels", String.valueOf(metadata.get("labels")),
                    "annotations", String.valueOf(metadata.get("annotations"))));
            state.put(resource.getKind() + "/" + resource.getMetadata().getName(), content);
        }
        return state;
    }

    private static List<GenericKubernetesResource> custom(ResourceKind kind, String namespace) {
        return client.genericKubernetesResources(kind.apiVersion(), kind.kind()).inNamespace(namespace).list()
                .getItems();
    }

    private static GenericKubernetesResource customByName(ResourceKind kind, String namespace, String name) {
        return client.genericKubernetesResources(kind.apiVersion(), kind.kind()).inNamespace(namespace)
                .withName(name).get();
    }
}
