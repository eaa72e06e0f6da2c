package dev.aspo.opencl;

import java.util.List;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * One enqueued device command with everything needed to enqueue it again: a kernel launch (kernel,
 * argument values, sizes), a zero fill, or a host-to-device write of a kept host copy. The backend
 * builds one per enqueue; a {@link TaskGraph} keeps them to replay a step.
 */
abstract class ClCommand {
    abstract void enqueue(cl_command_queue queue);

    /** The buffers this command touches (a recording retains them so that they outlive their tensors). */
    abstract List<cl_mem> buffers();

    static final class Launch extends ClCommand {
        final String name;
        private final cl_kernel kernel;
        private final Object[] args;   // cl_mem, Integer or Float
        private final long[] global, local;

        Launch(String name, cl_kernel kernel, Object[] args, long[] global, long[] local) {
            this.name = name;
            this.kernel = kernel;
            this.args = args;
            this.global = global;
            this.local = local;
        }

        @Override
        void enqueue(cl_command_queue queue) {
            // a cl_kernel holds its arguments: they are set right before each enqueue, under the backend's lock
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof cl_mem) {
                    CL.clSetKernelArg(kernel, i, Sizeof.cl_mem, Pointer.to((cl_mem) a));
                } else if (a instanceof Integer) {
                    CL.clSetKernelArg(kernel, i, Sizeof.cl_int, Pointer.to(new int[] {(Integer) a}));
                } else {
                    CL.clSetKernelArg(kernel, i, Sizeof.cl_float, Pointer.to(new float[] {(Float) a}));
                }
            }
            CL.clEnqueueNDRangeKernel(queue, kernel, global.length, null, global, local, 0, null, null);
        }

        @Override
        List<cl_mem> buffers() {
            List<cl_mem> out = new java.util.ArrayList<>();
            for (Object a : args) if (a instanceof cl_mem) out.add((cl_mem) a);
            return out;
        }

        @Override
        public String toString() {
            return name + java.util.Arrays.toString(global);
        }
    }

    /** Zeroes {@code bytes} of a buffer (a new tensor's, typically a gradient about to be accumulated into). */
    static final class Zero extends ClCommand {
        private final cl_mem mem;
        private final long bytes;

        Zero(cl_mem mem, long bytes) {
            this.mem = mem;
            this.bytes = bytes;
        }

        @Override
        void enqueue(cl_command_queue queue) {
            CL.clEnqueueFillBuffer(queue, mem, Pointer.to(new float[] {0f}), Sizeof.cl_float, 0, bytes, 0, null, null);
        }

        @Override
        List<cl_mem> buffers() {
            return List.of(mem);
        }

        @Override
        public String toString() {
            return "zero[" + bytes / Sizeof.cl_float + "]";
        }
    }

    /** Writes a kept copy of host data (a constant uploaded during the step) into its buffer. */
    static final class Write extends ClCommand {
        private final cl_mem mem;
        /** Direct memory: a non-blocking write may read it after enqueue returns (a heap array could move). */
        private final java.nio.FloatBuffer host;

        Write(cl_mem mem, float[] values) {
            this.mem = mem;
            this.host = java.nio.ByteBuffer.allocateDirect(values.length * Sizeof.cl_float)
                    .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(values);
        }

        @Override
        void enqueue(cl_command_queue queue) {
            if (host.capacity() == 0) return;
            CL.clEnqueueWriteBuffer(queue, mem, CL.CL_FALSE, 0, (long) host.capacity() * Sizeof.cl_float,
                    Pointer.to(host), 0, null, null);
        }

        @Override
        List<cl_mem> buffers() {
            return List.of(mem);
        }

        @Override
        public String toString() {
            return "write[" + host.capacity() + "]";
        }
    }
}
