package dev.aspo.method.data;

/** A record that cannot be used: the message starts with {@code file:line:} and says why. */
public final class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }
}
