package io.guardedtuning.cli;

import io.guardedtuning.checkpoint.CheckpointFormatException;
import io.guardedtuning.data.MalformedDataException;
import io.guardedtuning.deploy.k8s.K8sCommand;
import io.guardedtuning.engine.DjlRuntime;
import io.guardedtuning.tokenizer.TokenizerFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.nio.file.NoSuchFileException;

/** The {@code gt} tool: one entry point for model work, local sessions and Kubernetes operations. */
@Command(name = "gt", mixinStandardHelpOptions = true, version = "GuardedTuning 0.1.0",
        description = "GuardedTuning: privacy-preserving fine-tuning of OPT models.",
        subcommands = {DemoCommand.class, RunCommand.class, ExperimentCommand.class, PretrainCommand.class,
                FinetuneCommand.class, EvalCommand.class, K8sCommand.class,
                CommandLine.HelpCommand.class})
public final class GtCommand implements Runnable {

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    /** The repository root, where the services' builds are: set by the launcher, else the working directory. */
    static java.nio.file.Path home() {
        return java.nio.file.Path.of(System.getProperty("gt.home", ".")).toAbsolutePath().normalize();
    }

    public static void main(String[] args) {
        DjlRuntime.configure();
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line, with a problem in the user's files (a model, tokenizer or data file that is missing or
     * malformed) answered by one line naming the file and the field instead of a stack trace.
     */
    static CommandLine commandLine() {
        return new CommandLine(new GtCommand()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof TokenizerFormatException || e instanceof CheckpointFormatException
                    || e instanceof MalformedDataException || e instanceof NoSuchFileException) {
                cmd.getErr().println("gt " + cmd.getCommandName() + ": " + (e instanceof NoSuchFileException
                        ? "no such file: " + e.getMessage() : e.getMessage()));
                return 1;
            }
            throw e;
        });
    }
}
