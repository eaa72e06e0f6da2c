package dev.aspo.method.train;

import dev.aspo.models.nn.Module;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 keys for the on-disk caches (reference log-probs, CLIP similarities). */
final class Hashes {
    private Hashes() {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every parameter's name and F32 bits, in order. */
    static void update(MessageDigest md, Module module) {
        for (var e : module.namedParameters().entrySet()) {
            md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            float[] v = e.getValue().toFloatArray();
            ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bb.asFloatBuffer().put(v);
            md.update(bb.array());
        }
    }

    static void update(MessageDigest md, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        md.update(ByteBuffer.allocate(4).putInt(b.length).array());
        md.update(b);
    }

    /** The first 16 hex digits of the digest. */
    static String hex(MessageDigest md) {
        return HexFormat.of().formatHex(md.digest()).substring(0, 16);
    }
}
