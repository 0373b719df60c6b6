package io.guardedtuning.deploy.k8s;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.StatusDetails;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.guardedtuning.offline.ProviderKeys;
import io.guardedtuning.session.OwnerToken;
import io.guardedtuning.session.SessionKeys;
import io.guardedtuning.wire.SessionKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The operations behind `gt k8s`, against one namespace. Every write creates the resource or, when it exists,
 * replaces it with the declared one (create-or-replace), so running an operation twice leaves the same state; the
 * session's HMAC key and Jobs are created once and then left alone.
 */
public final class ClusterOperator {

    public static final String PART_OF_LABEL = "app.kubernetes.io/part-of";
    public static final String PART_OF_VALUE = "guardedtuning";
    /** KEDA holds a ScaledObject's target at this many replicas while the annotation is present. */
    public static final String PAUSED_REPLICAS_ANNOTATION = "autoscaling.keda.sh/paused-replicas";
    /** The namespace the manifests are written for; KEDA's fully qualified bootstrap address names it. */
    static final String MANIFEST_NAMESPACE = "guardedtuning";
    static final String MODELS_CLAIM = "gt-models";
    /** The provider's hex master secret (GT_MASTER_KEY of server-compute, attack-audit, emulator-distillation). */
    public static final String MASTER_KEY_SECRET = "gt-master-key";
    public static final String MASTER_KEY_ENTRY = "GT_MASTER_KEY";
    /** The services' operator token (GT_OPERATOR_TOKEN): HTTP changes and reading every session need it. */
    public static final String OPERATOR_TOKEN_SECRET = "gt-operator-token";
    public static final String OPERATOR_TOKEN_ENTRY = "GT_OPERATOR_TOKEN";
    /** The provider's Ed25519 package-signing key pair, base64 DER text, as emulator-distillation reads it. */
    public static final String SIGNING_KEY_SECRET = "gt-provider-signing-key";
    public static final String SIGNING_KEY_ENTRY = "ed25519.key";
    public static final String PUBLIC_KEY_CONFIG_MAP = "gt-provider-public-key";
    public static final String PUBLIC_KEY_ENTRY = "ed25519.pub";

    /** server-compute's (and attack-audit's) split point, which every Online and Gradfree session must match. */
    static final String SPLIT_POINT_ENV = "GT_K";
    private static final int MASTER_KEY_BYTES = 32;

    private final KubernetesClient client;
    private final String namespace;
    private final SecureRandom random = new SecureRandom();

    public ClusterOperator(KubernetesClient client, String namespace) {
        this.client = client;
        this.namespace = namespace;
    }

    /** Applies every resource of the rendered overlay into the namespace; returns "Kind/name" of each. */
    public List<String> deploy(Overlay overlay) {
        return reachingCluster(() -> {
            List<HasMetadata> manifests = client.load(overlay.openRendered()).items().stream()
                    .filter(resource -> !(resource instanceof Namespace))
                    .toList();
            CustomResourceKinds crds = CustomResourceKinds.of(client);
            crds.requireAll(manifests.stream()
                    .filter(GenericKubernetesResource.class::isInstance)
                    .map(ResourceKind::of)
                    .toList());
            ensureNamespace();
            List<String> applied = new ArrayList<>(ensureProviderKeys());
            for (HasMetadata resource : manifests) {
                if (ResourceKind.of(resource).equals(ResourceKind.SCALED_OBJECT)) {
                    pointKafkaTriggersAtNamespace((GenericKubernetesResource) resource);
                }
                apply(resource, crds);
                applied.add(describe(resource));
            }
            return applied;
        });
    }

    /**
     * Creates the session's down topic, Kafka user, HMAC key Secret and client Job (and emulator Job, Offline). The
     * key is the one server-compute and attack-audit derive from the master secret for this session id. The last
     * line is the session's owner token, with which its data owner reads its audit results (docs/security.md).
     */
    public List<String> startSession(SessionSpec spec) {
        return reachingCluster(() -> {
            ConfigMap templateMap = client.configMaps().inNamespace(namespace).withName(SessionTemplates.CONFIG_MAP)
                    .get();
            if (templateMap == null) {
                throw new K8sOperationException("namespace " + namespace + " has no ConfigMap "
                        + SessionTemplates.CONFIG_MAP + ": deploy the stack first with `gt k8s deploy --namespace "
                        + namespace + "`");
            }
            if (!spec.design().needsEmulator()) {
                requireServerSplitPoint(spec);
            }
            List<HasMetadata> resources = new SessionTemplates(templateMap, client.getKubernetesSerialization())
                    .render(spec);
            CustomResourceKinds crds = CustomResourceKinds.of(client);
            crds.requireAll(resources.stream()
                    .filter(GenericKubernetesResource.class::isInstance)
                    .map(ResourceKind::of)
                    .toList());
            List<Job> jobs = resources.stream().filter(Job.class::isInstance).map(Job.class::cast).toList();
            jobs.forEach(job -> job.getMetadata().getAnnotations().put(SessionNames.SESSION_SPEC_ANNOTATION,
                    spec.summary()));
            jobs.forEach(job -> requireSameSession(job, spec));

            SessionNames names = new SessionNames(spec.sessionId());
            SessionKey key = masterKeys().forSession(spec.sessionId());
            List<String> done = new ArrayList<>();
            done.add(applySessionKey(names, key));
            for (HasMetadata resource : resources) {
                if (resource instanceof Job job) {
                    done.add(createJobOnce(job));
                } else {
                    apply(resource, crds);
                    done.add(describe(resource));
                }
            }
            done.add("owner token of session " + spec.sessionId() + " (Authorization: Bearer): "
                    + OwnerToken.of(key));
            return done;
        });
    }

    /** Sets the Deployment's replicas and, when KEDA scales it, pauses KEDA at that count. */
    public String scale(Component component, int replicas) {
        if (replicas < 0) {
            throw new K8sOperationException("replicas must be 0 or more, got " + replicas);
        }
        return reachingCluster(() -> {
            requireDeployment(component);
            client.apps().deployments().inNamespace(namespace).withName(component.resourceName()).scale(replicas);
            String message = "Deployment/" + component.resourceName() + " scaled to " + replicas;
            Optional<Resource<GenericKubernetesResource>> scaledObject = scaledObjectOf(component);
            if (scaledObject.isPresent()) {
                scaledObject.get().edit(object -> withAnnotation(object, PAUSED_REPLICAS_ANNOTATION,
                        Integer.toString(replicas)));
                message += "; KEDA autoscaling paused at " + replicas + " (resume with --autoscale)";
            }
            return message;
        });
    }

    /** Hands the Deployment back to KEDA. */
    public String resumeAutoscaling(Component component) {
        return reachingCluster(() -> {
            requireDeployment(component);
            Resource<GenericKubernetesResource> scaledObject = scaledObjectOf(component)
                    .orElseThrow(() -> new K8sOperationException("Deployment/" + component.resourceName()
                            + " has no KEDA ScaledObject in namespace " + namespace + "; nothing to resume"));
            scaledObject.edit(object -> withAnnotation(object, PAUSED_REPLICAS_ANNOTATION, null));
            return "Deployment/" + component.resourceName() + " is scaled by KEDA again";
        });
    }

    /** Pods, deployments, sessions and, when {@code lagSource} is given, the services' consumer lag. */
    public ClusterStatus status(Optional<ConsumerLagSource> lagSource) {
        return reachingCluster(() -> {
            Optional<ResourceDefinitionContext> scaledObjects = CustomResourceKinds.of(client)
                    .find(ResourceKind.SCALED_OBJECT);
            List<ClusterStatus.DeploymentLine> deployments = client.apps().deployments().inNamespace(namespace)
                    .withLabel(PART_OF_LABEL, PART_OF_VALUE).list().getItems().stream()
                    .map(deployment -> deploymentLine(deployment, scaledObjects))
                    .toList();
            List<ClusterStatus.PodLine> pods = client.pods().inNamespace(namespace).list().getItems().stream()
                    .map(ClusterOperator::podLine)
                    .toList();
            Optional<Map<String, Long>> lag = Optional.empty();
            String lagUnavailableReason = "no Kafka admin endpoint given; pass --kafka-bootstrap HOST:PORT";
            if (lagSource.isPresent()) {
                try {
                    lag = Optional.of(lagSource.get().lagByGroup(Stream.of(Component.values())
                            .map(Component::resourceName).toList()));
                } catch (K8sOperationException | org.apache.kafka.common.KafkaException failure) {
                    lagUnavailableReason = failure.getMessage();
                }
            }
            return new ClusterStatus(namespace, pods, deployments, sessions(), lag, lagUnavailableReason);
        });
    }

    /** Deletes one session's Jobs, Kafka user, down topic and key Secret. */
    public List<String> teardownSession(String sessionId) {
        SessionNames names = new SessionNames(sessionId);
        return reachingCluster(() -> deleteLabelled(SessionNames.SESSION_LABEL, names.label(),
                List.of(ResourceKind.KAFKA_USER, ResourceKind.KAFKA_TOPIC)));
    }

    /**
     * Deletes everything labelled part-of=guardedtuning in the namespace: autoscaling first, then workloads, then
     * Kafka. The models claim and the namespace stay.
     */
    public List<String> teardownAll() {
        return reachingCluster(() -> {
            List<String> deleted = new ArrayList<>(deleteCustom(PART_OF_LABEL, PART_OF_VALUE,
                    List.of(ResourceKind.SCALED_OBJECT, ResourceKind.TRIGGER_AUTHENTICATION)));
            deleted.addAll(names("Deployment", client.apps().deployments().inNamespace(namespace)
                    .withLabel(PART_OF_LABEL, PART_OF_VALUE).delete()));
            deleted.addAll(deleteLabelled(PART_OF_LABEL, PART_OF_VALUE, List.of(ResourceKind.KAFKA_USER,
                    ResourceKind.KAFKA_TOPIC, ResourceKind.KAFKA_NODE_POOL, ResourceKind.KAFKA)));
            deleted.addAll(names("Service", client.services().inNamespace(namespace)
                    .withLabel(PART_OF_LABEL, PART_OF_VALUE).delete()));
            deleted.addAll(names("PodDisruptionBudget", client.policy().v1().podDisruptionBudget()
                    .inNamespace(namespace).withLabel(PART_OF_LABEL, PART_OF_VALUE).delete()));
            deleted.addAll(names("NetworkPolicy", client.network().v1().networkPolicies().inNamespace(namespace)
                    .withLabel(PART_OF_LABEL, PART_OF_VALUE).delete()));
            deleted.addAll(names("ConfigMap", client.configMaps().inNamespace(namespace)
                    .withLabel(PART_OF_LABEL, PART_OF_VALUE).delete()));
            return deleted;
        });
    }

    private List<String> deleteLabelled(String label, String value, List<ResourceKind> customKinds) {
        List<String> deleted = new ArrayList<>(names("Job", client.batch().v1().jobs().inNamespace(namespace)
                .withLabel(label, value).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete()));
        deleted.addAll(names("Secret", client.secrets().inNamespace(namespace).withLabel(label, value).delete()));
        deleted.addAll(deleteCustom(label, value, customKinds));
        return deleted;
    }

    private List<String> deleteCustom(String label, String value, List<ResourceKind> kinds) {
        CustomResourceKinds crds = CustomResourceKinds.of(client);
        List<String> deleted = new ArrayList<>();
        for (ResourceKind kind : kinds) {
            crds.find(kind).ifPresent(context -> deleted.addAll(names(kind.kind(),
                    custom(context).withLabel(label, value).delete())));
        }
        return deleted;
    }

    private List<ClusterStatus.SessionLine> sessions() {
        Map<String, String> idByLabel = new TreeMap<>();
        Map<String, String> jobStateByLabel = new HashMap<>();
        for (Job job : client.batch().v1().jobs().inNamespace(namespace).withLabel(SessionNames.SESSION_LABEL).list()
                .getItems()) {
            String label = job.getMetadata().getLabels().get(SessionNames.SESSION_LABEL);
            idByLabel.put(label, sessionIdOf(job));
            if ("client-compute".equals(job.getMetadata().getLabels().get("app.kubernetes.io/name"))) {
                jobStateByLabel.put(label, jobState(job));
            }
        }
        Map<String, Boolean> downTopicByLabel = new HashMap<>();
        CustomResourceKinds.of(client).find(ResourceKind.KAFKA_TOPIC).ifPresent(context -> {
            for (GenericKubernetesResource topic : custom(context).withLabel(SessionNames.SESSION_LABEL).list()
                    .getItems()) {
                String label = topic.getMetadata().getLabels().get(SessionNames.SESSION_LABEL);
                idByLabel.putIfAbsent(label, sessionIdOf(topic));
                downTopicByLabel.put(label, true);
            }
        });
        return idByLabel.entrySet().stream()
                .map(entry -> new ClusterStatus.SessionLine(entry.getValue(), entry.getKey(),
                        jobStateByLabel.getOrDefault(entry.getKey(), "none"),
                        downTopicByLabel.getOrDefault(entry.getKey(), false)))
                .toList();
    }

    private ClusterStatus.DeploymentLine deploymentLine(Deployment deployment,
            Optional<ResourceDefinitionContext> scaledObjects) {
        String name = deployment.getMetadata().getName();
        int desired = Optional.ofNullable(deployment.getSpec().getReplicas()).orElse(1);
        int ready = deployment.getStatus() == null ? 0
                : Optional.ofNullable(deployment.getStatus().getReadyReplicas()).orElse(0);
        String autoscaling = scaledObjects
                .map(context -> custom(context).withName(name).get())
                .map(scaledObject -> {
                    String paused = annotations(scaledObject).get(PAUSED_REPLICAS_ANNOTATION);
                    return paused == null ? "autoscaled by KEDA" : "KEDA paused at " + paused;
                })
                .orElse("fixed replicas");
        return new ClusterStatus.DeploymentLine(name, ready, desired, autoscaling);
    }

    private static ClusterStatus.PodLine podLine(Pod pod) {
        int containers = pod.getSpec() == null ? 0 : pod.getSpec().getContainers().size();
        String phase = "Unknown";
        int ready = 0;
        if (pod.getStatus() != null) {
            phase = Optional.ofNullable(pod.getStatus().getPhase()).orElse("Unknown");
            ready = (int) pod.getStatus().getContainerStatuses().stream()
                    .filter(status -> Boolean.TRUE.equals(status.getReady()))
                    .count();
        }
        return new ClusterStatus.PodLine(pod.getMetadata().getName(), phase, ready, containers);
    }

    private static String jobState(Job job) {
        if (job.getStatus() == null) {
            return "pending";
        }
        if (positive(job.getStatus().getSucceeded())) {
            return "succeeded";
        }
        if (positive(job.getStatus().getActive())) {
            return "running";
        }
        if (positive(job.getStatus().getFailed())) {
            return "failed";
        }
        return "pending";
    }

    private static boolean positive(Integer count) {
        return count != null && count > 0;
    }

    private static String sessionIdOf(HasMetadata resource) {
        return annotations(resource).getOrDefault(SessionNames.SESSION_ID_ANNOTATION,
                resource.getMetadata().getLabels().get(SessionNames.SESSION_LABEL));
    }

    private static Map<String, String> annotations(HasMetadata resource) {
        Map<String, String> annotations = resource.getMetadata().getAnnotations();
        return annotations == null ? Map.of() : annotations;
    }

    private void apply(HasMetadata resource, CustomResourceKinds crds) {
        resource.getMetadata().setNamespace(namespace);
        if (resource instanceof GenericKubernetesResource generic) {
            custom(crds.require(ResourceKind.of(generic))).resource(generic).createOr(NonDeletingOperation::update);
        } else {
            client.resource(resource).inNamespace(namespace).createOr(NonDeletingOperation::update);
        }
    }

    /** A Job's pod template is immutable: create it once, and refuse a second start with other settings. */
    private String createJobOnce(Job job) {
        job.getMetadata().setNamespace(namespace);
        Job existing = client.batch().v1().jobs().inNamespace(namespace).withName(job.getMetadata().getName()).get();
        if (existing == null) {
            client.batch().v1().jobs().inNamespace(namespace).resource(job).create();
            return describe(job);
        }
        return describe(job) + " (already present)";
    }

    private void requireSameSession(Job job, SessionSpec spec) {
        Job existing = client.batch().v1().jobs().inNamespace(namespace).withName(job.getMetadata().getName()).get();
        if (existing == null) {
            return;
        }
        String runningSpec = annotations(existing).get(SessionNames.SESSION_SPEC_ANNOTATION);
        if (!spec.summary().equals(runningSpec)) {
            throw new K8sOperationException("session " + spec.sessionId() + " already runs with " + runningSpec
                    + " (Job/" + existing.getMetadata().getName() + "); tear it down first with "
                    + "`gt k8s teardown --session " + spec.sessionId() + "` to start it with " + spec.summary());
        }
    }

    /**
     * Online and Gradfree sessions exchange tensors with server-compute, which holds the layers between k and N - k:
     * a client with another k would send activations the backbone cannot take. Offline sessions never reach it.
     */
    private void requireServerSplitPoint(SessionSpec spec) {
        String server = Component.SERVER_COMPUTE.resourceName();
        Deployment deployment = requireDeployment(Component.SERVER_COMPUTE);
        Optional<String> serverK = deployment.getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(container -> container.getName().equals(server))
                .flatMap(container -> container.getEnv().stream())
                .filter(variable -> variable.getName().equals(SPLIT_POINT_ENV) && variable.getValue() != null)
                .map(variable -> variable.getValue().strip())
                .findFirst();
        if (serverK.isEmpty()) {
            throw new K8sOperationException("Deployment/" + server + " in namespace " + namespace + " sets no "
                    + SPLIT_POINT_ENV + " value on its container " + server + ", so its split point is unknown; "
                    + "redeploy with `gt k8s deploy --namespace " + namespace + "`");
        }
        if (!serverK.get().equals(Integer.toString(spec.splitK()))) {
            throw new K8sOperationException("session " + spec.sessionId() + " asks for --k " + spec.splitK()
                    + " but Deployment/" + server + " in namespace " + namespace + " runs with " + SPLIT_POINT_ENV
                    + "=" + serverK.get() + "; start the session with --k " + serverK.get() + ", or redeploy "
                    + server + " and attack-audit with " + SPLIT_POINT_ENV + "=" + spec.splitK()
                    + " (docs/deploy.md, step 5)");
        }
    }

    /** The session's HMAC key as hex text, which client-compute reads from GT_SESSION_KEY. */
    private String applySessionKey(SessionNames names, SessionKey key) {
        client.secrets().inNamespace(namespace).resource(new SecretBuilder()
                .withNewMetadata()
                .withName(names.keySecret())
                .withNamespace(namespace)
                .addToLabels(PART_OF_LABEL, PART_OF_VALUE)
                .addToLabels(SessionNames.SESSION_LABEL, names.label())
                .addToAnnotations(SessionNames.SESSION_ID_ANNOTATION, names.sessionId())
                .endMetadata()
                .withType("Opaque")
                .addToData(SessionNames.SESSION_KEY_ENTRY, base64(HexFormat.of().formatHex(key.key())))
                .build()).createOr(NonDeletingOperation::update);
        return "Secret/" + names.keySecret();
    }

    private SessionKeys masterKeys() {
        Secret secret = client.secrets().inNamespace(namespace).withName(MASTER_KEY_SECRET).get();
        String encoded = secret == null || secret.getData() == null ? null : secret.getData().get(MASTER_KEY_ENTRY);
        if (encoded == null) {
            throw new K8sOperationException("namespace " + namespace + " has no Secret " + MASTER_KEY_SECRET
                    + " with the entry " + MASTER_KEY_ENTRY + " (the provider's hex master secret that every "
                    + "session key derives from): `gt k8s deploy --namespace " + namespace + "` creates one");
        }
        try {
            return SessionKeys.fromHex(new String(Base64.getDecoder().decode(encoded), StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException malformed) {
            throw new K8sOperationException("Secret " + MASTER_KEY_SECRET + " in namespace " + namespace
                    + " holds no usable " + MASTER_KEY_ENTRY + ": " + malformed.getMessage(), malformed);
        }
    }

    /**
     * The provider's secrets, generated once per namespace and then left alone (also by teardown --all): replacing
     * the master secret changes every session's key, replacing the signing pair voids released emulators; the
     * operator token may be replaced by hand (the services read it at start).
     */
    private List<String> ensureProviderKeys() {
        List<String> done = new ArrayList<>();
        if (client.secrets().inNamespace(namespace).withName(MASTER_KEY_SECRET).get() == null) {
            byte[] master = new byte[MASTER_KEY_BYTES];
            random.nextBytes(master);
            createSecret(MASTER_KEY_SECRET, MASTER_KEY_ENTRY, HexFormat.of().formatHex(master));
            done.add("Secret/" + MASTER_KEY_SECRET + " (generated)");
        }
        if (client.secrets().inNamespace(namespace).withName(OPERATOR_TOKEN_SECRET).get() == null) {
            byte[] token = new byte[MASTER_KEY_BYTES];
            random.nextBytes(token);
            createSecret(OPERATOR_TOKEN_SECRET, OPERATOR_TOKEN_ENTRY, HexFormat.of().formatHex(token));
            done.add("Secret/" + OPERATOR_TOKEN_SECRET + " (generated; `kubectl get secret " + OPERATOR_TOKEN_SECRET
                    + "` shows it)");
        }
        if (client.secrets().inNamespace(namespace).withName(SIGNING_KEY_SECRET).get() == null) {
            KeyPair pair = ProviderKeys.generate();
            createSecret(SIGNING_KEY_SECRET, SIGNING_KEY_ENTRY, ProviderKeys.toBase64(pair.getPrivate()));
            client.configMaps().inNamespace(namespace).resource(new ConfigMapBuilder()
                    .withNewMetadata().withName(PUBLIC_KEY_CONFIG_MAP).withNamespace(namespace).endMetadata()
                    .addToData(PUBLIC_KEY_ENTRY, ProviderKeys.toBase64(pair.getPublic()))
                    .build()).createOr(NonDeletingOperation::update);
            done.add("Secret/" + SIGNING_KEY_SECRET + " (generated)");
            done.add("ConfigMap/" + PUBLIC_KEY_CONFIG_MAP);
        }
        return done;
    }

    private void createSecret(String name, String entry, String value) {
        client.secrets().inNamespace(namespace).resource(new SecretBuilder()
                .withNewMetadata().withName(name).withNamespace(namespace).endMetadata()
                .withType("Opaque")
                .addToData(entry, base64(value))
                .build()).create();
    }

    /** Secret data holds base64 of the value's bytes. */
    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.US_ASCII));
    }

    private void ensureNamespace() {
        if (client.namespaces().withName(namespace).get() == null) {
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(namespace)
                    .addToLabels(PART_OF_LABEL, PART_OF_VALUE).endMetadata().build()).create();
        }
    }

    /** KEDA's operator resolves the bootstrap address from its own namespace, so it names ours in full. */
    @SuppressWarnings("unchecked")
    private void pointKafkaTriggersAtNamespace(GenericKubernetesResource scaledObject) {
        Object triggers = scaledObject.get("spec", "triggers");
        if (!(triggers instanceof List<?> list)) {
            return;
        }
        for (Object trigger : list) {
            if (trigger instanceof Map<?, ?> map && "kafka".equals(map.get("type"))
                    && map.get("metadata") instanceof Map<?, ?> metadata
                    && metadata.get("bootstrapServers") instanceof String servers) {
                ((Map<String, Object>) metadata).put("bootstrapServers",
                        servers.replace("." + MANIFEST_NAMESPACE + ".svc", "." + namespace + ".svc"));
            }
        }
    }

    private Deployment requireDeployment(Component component) {
        Deployment deployment = client.apps().deployments().inNamespace(namespace)
                .withName(component.resourceName()).get();
        if (deployment == null) {
            throw new K8sOperationException("namespace " + namespace + " has no Deployment "
                    + component.resourceName() + ": deploy the stack first with `gt k8s deploy --namespace "
                    + namespace + "`");
        }
        return deployment;
    }

    private Optional<Resource<GenericKubernetesResource>> scaledObjectOf(Component component) {
        return CustomResourceKinds.of(client).find(ResourceKind.SCALED_OBJECT)
                .map(context -> custom(context).withName(component.resourceName()))
                .filter(scaledObject -> scaledObject.get() != null);
    }

    private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> custom(ResourceDefinitionContext context) {
        return client.genericKubernetesResources(context).inNamespace(namespace);
    }

    private static GenericKubernetesResource withAnnotation(GenericKubernetesResource object, String key,
            String value) {
        Map<String, String> annotations = new LinkedHashMap<>(annotations(object));
        if (value == null) {
            annotations.remove(key);
        } else {
            annotations.put(key, value);
        }
        object.getMetadata().setAnnotations(annotations);
        return object;
    }

    private static String describe(HasMetadata resource) {
        return resource.getKind() + "/" + resource.getMetadata().getName();
    }

    private static List<String> names(String kind, List<StatusDetails> deleted) {
        return deleted.stream().map(details -> kind + "/" + details.getName()).toList();
    }

    /** Runs a cluster operation, turning "cannot connect" into an error that names the API server URL. */
    private <T> T reachingCluster(Supplier<T> operation) {
        try {
            return operation.get();
        } catch (KubernetesClientException failure) {
            if (hasIoCause(failure)) {
                throw new K8sOperationException("cannot reach the Kubernetes API server at "
                        + client.getConfiguration().getMasterUrl() + " (" + rootMessage(failure)
                        + "); check your kubeconfig context or pass --server", failure);
            }
            throw new K8sOperationException("the Kubernetes API server at " + client.getConfiguration().getMasterUrl()
                    + " refused the operation: " + failure.getMessage(), failure);
        }
    }

    private static boolean hasIoCause(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
