package io.guardedtuning.deploy.images;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.guardedtuning.checkpoint.ModelCatalog;
import io.guardedtuning.data.Corpus;
import io.guardedtuning.data.NpmPackage;
import io.guardedtuning.data.PackageCache;
import io.guardedtuning.deploy.k8s.Overlay;
import io.guardedtuning.deploy.k8s.RenderedWorkloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract between the images (services' {@code -Pimages} profile, {@code deploy/images/build}) and the
 * manifests that run them, checked without building anything: the image each workload names is the one the build
 * tags, the pod's user is the image's, every directory the image's environment points a service at for writing lies
 * on a volume of the manifest (the root filesystem is read-only), and the npm packages staged into each
 * provider-side image are exactly those its code reads (nothing is fetched at run time; no npm in the image).
 */
class ImageContractTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final String ENV_PREFIX = "quarkus.jib.environment-variables.";

    @ParameterizedTest
    @EnumSource(Overlay.class)
    void everyWorkloadRunsTheImageTheBuildTagsAsItsUser(Overlay overlay) throws Exception {
        Map<String, String> profile = imagesProfile();
        String tag = profile.get("gt.images.tag");
        assertEquals(tag, buildDefault("GT_IMAGES_TAG"), "deploy/images/build's default tag and the profile's");
        String suffix = overlay == Overlay.GPU ? "-gpu" : "";
        long user = Long.parseLong(profile.get("quarkus.jib.user"));

        Map<String, PodSpec> pods = RenderedWorkloads.pods(overlay);
        assertEquals(4, pods.size(), pods.keySet().toString());
        pods.forEach((workload, pod) -> {
            Container container = pod.getContainers().get(0);
            assertEquals(profile.get("quarkus.container-image.group") + "/" + container.getName() + ":" + tag + suffix,
                    container.getImage(), workload + "'s image");
            assertEquals(user, pod.getSecurityContext().getRunAsUser(), workload + ": the image's user");
            assertTrue(pod.getSecurityContext().getRunAsNonRoot(), workload);
        });
    }

    /** The manifests set /var/cache/djl in the ConfigMap too; either way it must be a volume, as /tmp must be. */
    @ParameterizedTest
    @EnumSource(Overlay.class)
    void whatTheImagesWriteLiesOnAVolumeOfEveryWorkload(Overlay overlay) throws Exception {
        Map<String, String> env = imageEnvironment();
        List<String> written = List.of(env.get("DJL_CACHE_DIR"), env.get(ModelCatalog.UNPACK_DIR_ENV), "/tmp");
        List<String> uncovered = new ArrayList<>();
        RenderedWorkloads.pods(overlay).forEach((workload, pod) -> {
            Container container = pod.getContainers().get(0);
            assertTrue(container.getSecurityContext().getReadOnlyRootFilesystem(), workload);
            for (String path : written) {
                if (container.getVolumeMounts().stream().filter(m -> !Boolean.TRUE.equals(m.getReadOnly()))
                        .map(VolumeMount::getMountPath).noneMatch(m -> path.equals(m) || path.startsWith(m + "/"))) {
                    uncovered.add(workload + " writes " + path + " on its read-only root");
                }
            }
        });
        assertTrue(uncovered.isEmpty(), String.join("\n", uncovered));
    }

    @Test
    void eachProviderServiceImageCarriesTheNpmPackagesItsCodeReads() throws Exception {
        Set<String> corpus = EnumSet.allOf(Corpus.Source.class).stream()
                .map(source -> source.npmPackage().spec()).collect(Collectors.toCollection(TreeSet::new));
        Set<String> all = new TreeSet<>();
        for (Field field : NpmPackage.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == NpmPackage.class) {
                all.add(((NpmPackage) field.get(null)).spec());
            }
        }
        Map<String, Set<String>> staged = stagedPackages();

        assertEquals(corpus, staged.get("attack-audit"), "the auditor's public text: the pretraining corpus");
        assertEquals(all, staged.get("emulator-distillation"),
                "distillation's corpus and the derived tasks emulators are evaluated on");
        assertEquals(Set.of("attack-audit", "emulator-distillation"), staged.keySet());
        assertEquals("/opt/guardedtuning/cache", imageEnvironment().get(PackageCache.CACHE_DIR_ENV),
                "the services read the staged packages from where the build puts them (src/main/jib/opt/...)");
        assertTrue(buildScript().contains("stage=\"services/$service/src/main/jib/opt/guardedtuning/cache/npm\""));
    }

    /** Only the data owner's Job reads npm packages from elsewhere: its own claim, never the image. */
    @ParameterizedTest
    @EnumSource(Overlay.class)
    void onlyTheClientPointsTheCacheAtAVolume(Overlay overlay) {
        RenderedWorkloads.pods(overlay).forEach((workload, pod) -> {
            Container container = pod.getContainers().get(0);
            boolean overridden = container.getEnv().stream()
                    .anyMatch(v -> v.getName().equals(PackageCache.CACHE_DIR_ENV));
            assertEquals(container.getName().equals("client-compute"), overridden, workload);
        });
    }

    private static Map<String, String> imageEnvironment() throws Exception {
        Map<String, String> env = new HashMap<>();
        imagesProfile().forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX)) {
                env.put(k.substring(ENV_PREFIX.length()), v);
            }
        });
        assertFalse(env.isEmpty());
        return env;
    }

    /** The properties of services/pom.xml's {@code images} profile. */
    private static Map<String, String> imagesProfile() throws Exception {
        var document = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(ROOT.resolve("services/pom.xml").toFile());
        NodeList profiles = document.getElementsByTagName("profile");
        for (int i = 0; i < profiles.getLength(); i++) {
            Element profile = (Element) profiles.item(i);
            if (profile.getElementsByTagName("id").item(0).getTextContent().equals("images")) {
                Map<String, String> properties = new LinkedHashMap<>();
                NodeList children = ((Element) profile.getElementsByTagName("properties").item(0)).getChildNodes();
                for (int j = 0; j < children.getLength(); j++) {
                    Node property = children.item(j);
                    if (property.getNodeType() == Node.ELEMENT_NODE) {
                        properties.put(property.getNodeName(), property.getTextContent().trim());
                    }
                }
                return properties;
            }
        }
        throw new AssertionError("services/pom.xml has no images profile");
    }

    /** Service → the package specs deploy/images/build stages into its image. */
    private static Map<String, Set<String>> stagedPackages() throws Exception {
        String script = buildScript();
        Map<String, String> lists = new HashMap<>();
        Matcher list = Pattern.compile("(?m)^([A-Z_]+_NPM_PACKAGES)=\\(([^)]*)\\)").matcher(script);
        while (list.find()) {
            lists.put(list.group(1), list.group(2).replace("\"", ""));
        }
        Map<String, Set<String>> staged = new HashMap<>();
        Matcher entry = Pattern.compile("(?m)^\\s+\\[([a-z-]+)]=\"([^\"]*)\"").matcher(script);
        while (entry.find()) {
            Set<String> specs = new TreeSet<>();
            for (String reference : entry.group(2).trim().split("\\s+")) {
                Matcher name = Pattern.compile("\\$\\{([A-Z_]+)\\[\\*]}").matcher(reference);
                assertTrue(name.matches(), reference);
                specs.addAll(Arrays.asList(lists.get(name.group(1)).trim().split("\\s+")));
            }
            staged.put(entry.group(1), specs);
        }
        return staged;
    }

    private static String buildDefault(String variable) throws Exception {
        Matcher m = Pattern.compile("\\$\\{" + variable + ":-([^}]+)}").matcher(buildScript());
        assertTrue(m.find(), "deploy/images/build reads " + variable);
        return m.group(1);
    }

    private static String buildScript() throws Exception {
        return Files.readString(ROOT.resolve("deploy/images/build"));
    }
}
