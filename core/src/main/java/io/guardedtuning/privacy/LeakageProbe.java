package io.guardedtuning.privacy;

import io.guardedtuning.attack.WireDefence;
import io.guardedtuning.tensor.HostTensor;

import java.util.List;

/** How much of a batch's text an attacker rebuilds from the h_in the wire would carry, scored on the client. */
@FunctionalInterface
public interface LeakageProbe {

    /**
     * ROUGE-L F1 of the strongest reconstruction of {@code tokens} from {@code wire} (already defended as
     * {@code defence} describes: noise added, quantised), by an attacker who knows {@code defence}.
     */
    double leakage(HostTensor wire, long[] lengths, List<int[]> tokens, WireDefence defence);
}
