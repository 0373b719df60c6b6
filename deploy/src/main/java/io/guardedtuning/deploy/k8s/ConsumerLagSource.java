package io.guardedtuning.deploy.k8s;

import java.util.Collection;
import java.util.Map;

/** Total consumer lag (records not yet consumed, summed over partitions) of each consumer group. */
@FunctionalInterface
public interface ConsumerLagSource {

    Map<String, Long> lagByGroup(Collection<String> groups);
}
