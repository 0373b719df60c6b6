package io.guardedtuning.service.messaging;

import io.guardedtuning.wire.WireLimits;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Map;

/**
 * The Kafka settings every service derives from the wire's limits: a publisher for outgoing records and the
 * consumer properties incoming channels start from ({@code mp.messaging.incoming.<ch>.kafka-configuration=}
 * {@value #WIRE_CONSUMER}; a channel's own keys still override them).
 */
@ApplicationScoped
public class KafkaWiring {

    /** Identifier of the consumer-properties bean the incoming channels name. */
    public static final String WIRE_CONSUMER = "gt-wire-consumer";

    @Produces
    @Singleton
    KafkaPublisher publisher(@ConfigProperty(name = "kafka.bootstrap.servers") String bootstrapServers,
                             @ConfigProperty(name = "quarkus.application.name") String applicationName) {
        return new KafkaPublisher(bootstrapServers, applicationName, WireLimits.chunkedDefaults());
    }

    void closePublisher(@Disposes KafkaPublisher publisher) {
        publisher.close();
    }

    @Produces
    @Identifier(WIRE_CONSUMER)
    Map<String, Object> wireConsumerProperties() {
        return WireLimits.chunkedDefaults().consumerProperties();
    }
}
