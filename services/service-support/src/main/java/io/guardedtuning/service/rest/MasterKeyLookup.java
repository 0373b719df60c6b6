package io.guardedtuning.service.rest;

import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Optional;

/**
 * The provider's services verify owner tokens of any session with keys derived from the master secret, which each
 * names as {@code gt.api.master-key=${gt.<service>.master-key}}; a client replaces this bean with its own key.
 */
public class MasterKeyLookup {

    @Produces
    @DefaultBean
    @ApplicationScoped
    SessionKeyLookup keys(@ConfigProperty(name = "gt.api.master-key") Optional<String> masterHex) {
        return SessionKeyLookup.fromMaster(masterHex);
    }
}
