package dev.aspo.opencl;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.aspo.tensor.Backends;
import dev.aspo.tensor.Precision;
import dev.aspo.tensor.Tensor;
import dev.aspo.tensor.ops.MatMul;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The OpenCL backend keeps float32 weights: weights held in bfloat16 or float16 are a cpu-backend
 * feature, and each way one could reach a device is one clear error (no silent widening on upload).
 */
class HalfWeightRefusalTest {
    private final Random rng = new Random(1);

    @AfterEach
    void restore() {
        Backends.use(Backends.cpu());
    }

    @Test
    void aDeviceTensorIsNotStoredInSixteenBits() {
        OpenClBackend cl = OpenClTestSupport.backend();
        Tensor w = Tensor.of(cl.upload(OpenClTestSupport.randn(rng, 12)), 3, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> w.storeAs(Precision.BFLOAT16, "lm_head.weight"));
        assertTrue(e.getMessage().contains("lm_head.weight [3, 4] is on " + cl.name())
                && e.getMessage().contains("cpu backend only"), e.getMessage());
    }

    @Test
    void aSixteenBitWeightDoesNotMoveToTheDeviceOrMeetADeviceOperand() {
        OpenClBackend cl = OpenClTestSupport.backend();
        Tensor w = Tensor.randn(rng, 1f, 3, 4).storeAs(Precision.BFLOAT16, "w");
        var moved = assertThrows(IllegalArgumentException.class, () -> w.to(cl));
        assertTrue(moved.getMessage().contains("w [3, 4] is held in bfloat16") && moved.getMessage().contains(cl.name()),
                moved.getMessage());
        Tensor x = Tensor.of(cl.upload(OpenClTestSupport.randn(rng, 8)), 2, 4);
        var mixed = assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(x, w, false, true));
        assertTrue(mixed.getMessage().contains("different backends") && mixed.getMessage().contains("16 bits"), mixed.getMessage());
    }
}
