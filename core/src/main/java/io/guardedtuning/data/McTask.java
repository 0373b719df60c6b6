package io.guardedtuning.data;

import java.util.List;

/**
 * A multiple-choice task with fixed splits. {@code provenance} says where the data came from and, for tasks built
 * from registry data, that they are derived stand-ins rather than the paper's benchmarks.
 */
public record McTask(String name, String provenance, List<McExample> train, List<McExample> validation,
                     List<McExample> test) {

    public McTask {
        train = List.copyOf(train);
        validation = List.copyOf(validation);
        test = List.copyOf(test);
    }
}
