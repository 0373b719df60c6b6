package io.guardedtuning.deploy.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.guardedtuning.messaging.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Every manifest in k8s/ loads into fabric8's model: built-in kinds typed, Strimzi and KEDA kinds generic. */
class ManifestModelTest {

    private static final Set<String> CUSTOM_GROUPS = Set.of("kafka.strimzi.io", "keda.sh");
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    static Stream<Path> manifests() {
        return RepositoryFiles.manifests().stream();
    }

    @ParameterizedTest
    @MethodSource("manifests")
    void loadsIntoTheModel(Path file) throws IOException {
        String text = Files.readString(file);
        if (file.toString().contains("session-templates")) {
            text = sampleSession(text);
        }
        List<HasMetadata> resources = parse(text);

        assertFalse(resources.isEmpty(), file.toString());
        resources.forEach(resource -> assertTyped(resource, file));
    }

    @ParameterizedTest
    @EnumSource(Overlay.class)
    void theShippedOverlayHoldsTheSharedTopicsAndRenderableSessionTemplates(Overlay overlay) throws IOException {
        List<HasMetadata> resources;
        try (InputStream rendered = overlay.openRendered()) {
            resources = parse(new String(rendered.readAllBytes()));
        }
        Set<String> topics = resources.stream()
                .filter(resource -> ResourceKind.of(resource).equals(ResourceKind.KAFKA_TOPIC))
                .map(resource -> resource.getMetadata().getName())
                .collect(Collectors.toSet());
        assertEquals(Set.copyOf(Topics.shared()), topics);

        ConfigMap templates = resources.stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
                .filter(map -> map.getMetadata().getName().equals(SessionTemplates.CONFIG_MAP))
                .findFirst().orElseThrow();
        List<HasMetadata> session = new SessionTemplates(templates, SERIALIZATION)
                .render(new SessionSpec("Zed-9", Design.OFFLINE, 3, 1.5, 4, 8,
                        new SessionTask("imdb-sentiment", 2000, 500)));
        assertEquals(List.of("KafkaTopic", "KafkaUser", "Job", "Job"),
                session.stream().map(HasMetadata::getKind).toList());
        session.forEach(resource -> assertTyped(resource, Path.of(overlay.resourcePath())));
        Job client = (Job) session.get(2);
        assertEquals(new SessionNames("Zed-9").clientJob(), client.getMetadata().getName());
    }

    @Test
    void auditScoresAreReadableOnlyByAttackAuditAndNoTopicOfClientTextExists() throws IOException {
        List<HasMetadata> users = parse(Files.readString(RepositoryFiles.K8S.resolve("base/kafka/users.yaml")));
        users.addAll(parse(Files.readString(RepositoryFiles.K8S.resolve("base/autoscaling.yaml"))));
        users.addAll(parse(sampleSession(Files.readString(
                RepositoryFiles.K8S.resolve("base/session-templates/client-user.yaml")))));

        Set<String> readers = users.stream()
                .filter(resource -> ResourceKind.of(resource).equals(ResourceKind.KAFKA_USER))
                .map(GenericKubernetesResource.class::cast)
                .filter(user -> {
                    List<Map<String, Object>> acls = user.get("spec", "authorization", "acls");
                    return acls.stream().anyMatch(acl -> Topics.AUDIT_SCORES.equals(
                            ((Map<?, ?>) acl.get("resource")).get("name"))
                            && ((List<?>) acl.get("operations")).contains("Read"));
                })
                .map(user -> user.getMetadata().getName())
                .collect(Collectors.toSet());
        assertEquals(Set.of("attack-audit"), readers);
        assertFalse(Files.readString(RepositoryFiles.K8S.resolve("base/kafka/topics.yaml")).contains("gt.audit.samples"),
                "the clients' token ids have no topic");
    }

    private static void assertTyped(HasMetadata resource, Path file) {
        String where = file + ": " + resource.getKind() + "/" + resource.getMetadata().getName();
        assertNotNull(resource.getMetadata().getName(), where);
        if (CUSTOM_GROUPS.contains(ResourceKind.of(resource).group())) {
            assertInstanceOf(GenericKubernetesResource.class, resource, where);
        } else {
            assertFalse(resource instanceof GenericKubernetesResource, where + " should load as a built-in type");
        }
    }

    private static List<HasMetadata> parse(String yaml) {
        Object parsed = SERIALIZATION.unmarshal(yaml);
        if (parsed instanceof List<?> list) {
            return list.stream().map(HasMetadata.class::cast).collect(Collectors.toList());
        }
        if (parsed instanceof KubernetesList list) {
            return new ArrayList<>(list.getItems());
        }
        return new ArrayList<>(List.of((HasMetadata) parsed));
    }

    private static String sampleSession(String template) {
        return template.replace("${SESSION_ID}", "Sample_1").replace("${SESSION_LABEL}", "sample-1-0a1b2c3d")
                .replace("${DESIGN}", "online").replace("${SPLIT_K}", "2").replace("${ALPHA}", "0.5")
                .replace("${BITS_UP}", "8").replace("${BITS_DOWN}", "8")
                .replace("${TASK}", "arc:/data/tasks/test.jsonl,/data/tasks/train.jsonl")
                .replace("${TRAIN_SIZE}", "2000").replace("${EVAL_SIZE}", "500");
    }

    @Test
    void templatePlaceholdersAreAllKnown() {
        RepositoryFiles.manifests().stream().filter(file -> file.toString().contains("session-templates"))
                .forEach(file -> {
                    try {
                        String filled = sampleSession(Files.readString(file));
                        assertFalse(filled.matches("(?s).*\\$\\{[A-Z_]+}.*"), file + " has an unknown placeholder");
                    } catch (IOException unreadable) {
                        throw new UncheckedIOException(unreadable);
                    }
                });
    }
}
