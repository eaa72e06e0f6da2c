package dev.aspo.tensor.io;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file that is truncated, corrupt or not what the caller asked for. */
public final class SafeTensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String problem;

    public SafeTensorsException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
        this.problem = problem;
    }

    /** The file the problem is in. */
    public Path file() {
        return file;
    }

    /** What is wrong, without the file name. */
    public String problem() {
        return problem;
    }
}
