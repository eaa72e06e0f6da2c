package dev.aspo.tensor.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * The one place that turns the JDK's file errors into words. {@code java.nio.file} exceptions
 * carry the path as their whole message ({@code AccessDeniedException: /x/y}); users need the
 * why as well: "permission denied", "no such file", "is a folder, not a file".
 */
public final class IoErrors {
    private IoErrors() {}

    /** Why {@code e} happened, in a few words (no path). */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file or folder";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NotDirectoryException) return "not a folder";
        if (e instanceof CharacterCodingException) return "not valid UTF-8 text";
        String r = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        if (r == null || r.isBlank()) return e.getClass().getSimpleName();
        // reading a folder fails in read(2) with a plain IOException("Is a directory")
        if (r.equalsIgnoreCase("Is a directory")) return "is a folder, not a file";
        if (r.equalsIgnoreCase("No space left on device")) return "no space left on the disk";
        return r;
    }

    /**
     * A one-line message for any failure: a file error becomes {@code path: reason} (or
     * {@code context: path: reason} when the caller wrapped it with a message of its own), anything
     * else its message, or its type when it has none.
     */
    public static String describe(Throwable t) {
        if (t instanceof UncheckedIOException u && u.getCause() != null) {
            String inner = describe(u.getCause());
            String m = u.getMessage();
            if (m == null || m.equals(u.getCause().toString()) || inner.contains(m)) return inner;
            return m.contains(reason(u.getCause())) ? m : m + ": " + inner;   // the caller's message may say it already
        }
        if (t instanceof FileSystemException f) {
            String where = f.getFile() == null ? "" : f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": ";
            return where + reason(f);
        }
        if (t instanceof CharacterCodingException c) return reason(c);
        if (t instanceof IOException e && e.getCause() instanceof FileSystemException f && (e.getMessage() == null
                || e.getMessage().equals(f.getFile()) || e.getMessage().equals(f.toString()))) {
            return describe(f);
        }
        String m = t.getMessage();
        if (m == null || m.isBlank()) return t.getClass().getSimpleName();
        return m;
    }
}
