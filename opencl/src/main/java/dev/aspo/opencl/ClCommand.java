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
 * argument values, sizes), a zero fill, a host-to-device write of a kept host copy, an index or
 * value array uploaded for a kernel, or a write of per-step host values. The backend builds one
 * per enqueue; a {@link TaskGraph} keeps them to replay a step.
 */
abstract class ClCommand {
    /** Enqueues the command again as recorded (on replay). */
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

        /**
         * How this launch differs from {@code o} in anything but its buffers (kernel, sizes, scalar
         * arguments), or null: the same work on other buffers.
         */
        String differenceFrom(Launch o) {
            if (!name.equals(o.name)) return "kernel " + name + " vs " + o.name;
            if (!java.util.Arrays.equals(global, o.global) || !java.util.Arrays.equals(local, o.local)) {
                return "work size " + java.util.Arrays.toString(global) + " vs " + java.util.Arrays.toString(o.global);
            }
            for (int i = 0; i < args.length; i++) {
                boolean buffer = args[i] instanceof cl_mem, otherBuffer = o.args[i] instanceof cl_mem;
                if (buffer != otherBuffer || !buffer && !args[i].equals(o.args[i])) {
                    return "argument " + i + ": " + (buffer ? "a buffer" : args[i]) + " vs "
                            + (otherBuffer ? "a buffer" : o.args[i]);
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return name + java.util.Arrays.toString(global);
        }
    }

    /** Zeroes {@code bytes} of a buffer (a new tensor's, typically a gradient about to be accumulated into). */
    static final class Zero extends ClCommand {
        private final cl_mem mem;
        final long bytes;

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

    /**
     * A host array that reached the device during the step: through {@code upload} (a tensor made
     * from host values: {@code rewrite}, written again on every replay in case the step changed
     * it) or as a kernel's index or value array (read-only, written once). A {@link TaskGraph} may
     * bind it to one of its inputs ({@link #input}): a replay then writes that input's current
     * values, after {@link #check} has accepted them.
     */
    static final class Upload extends ClCommand {
        final cl_mem mem;
        /** The op it was uploaded for, for messages. */
        final String what;
        /** The recorded values: an {@code int[]} or a {@code float[]}. */
        final Object values;
        /** Validates new index values (as the op validated the recorded ones); null: an index array that is not bindable. */
        final java.util.function.Consumer<int[]> check;
        private final boolean rewrite;
        /** Direct memory for the rewrite: a non-blocking write may read it after enqueue returns. */
        private java.nio.FloatBuffer host;
        /** The plan input this upload takes its values from on replay, or -1 (fixed values). */
        int input = -1;

        Upload(cl_mem mem, String what, Object values, java.util.function.Consumer<int[]> check, boolean rewrite) {
            this.mem = mem;
            this.what = what;
            this.values = values;
            this.check = check;
            this.rewrite = rewrite;
        }

        @Override
        void enqueue(cl_command_queue queue) {
            if (!rewrite) return;   // a read-only kernel argument keeps its values in the plan's buffer
            float[] v = (float[]) values;
            if (v.length == 0) return;
            if (host == null) {
                host = java.nio.ByteBuffer.allocateDirect(v.length * Sizeof.cl_float)
                        .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().put(v);
            }
            CL.clEnqueueWriteBuffer(queue, mem, CL.CL_FALSE, 0, (long) v.length * Sizeof.cl_float, Pointer.to(host),
                    0, null, null);
        }

        /** Writes new values of the bound input (blocking: the caller's array may change right after). */
        void write(cl_command_queue queue, Object newValues) {
            int n = length(newValues);
            if (n == 0) return;
            Pointer from = newValues instanceof int[] ? Pointer.to((int[]) newValues) : Pointer.to((float[]) newValues);
            CL.clEnqueueWriteBuffer(queue, mem, CL.CL_TRUE, 0, (long) n * Sizeof.cl_float, from, 0, null, null);
        }

        static int length(Object values) {
            return values instanceof int[] ? ((int[]) values).length : ((float[]) values).length;
        }

        @Override
        List<cl_mem> buffers() {
            return List.of(mem);
        }

        @Override
        public String toString() {
            return (input >= 0 ? "input" + input : "upload") + "(" + what + ")[" + length(values) + "]";
        }
    }

    /** Host values computed anew for every replay ({@code Backend.writeEachStep}): AdamW's step scalars. */
    static final class EachStep extends ClCommand {
        final cl_mem mem;
        final int capacity;
        private final java.util.function.Supplier<float[]> values;

        EachStep(cl_mem mem, int capacity, java.util.function.Supplier<float[]> values) {
            this.mem = mem;
            this.capacity = capacity;
            this.values = values;
        }

        @Override
        void enqueue(cl_command_queue queue) {
            write(queue, mem, capacity, values.get());
        }

        /** A blocking write (the host array is new each time and goes out of scope at once). */
        static void write(cl_command_queue queue, cl_mem mem, int capacity, float[] v) {
            if (v.length > capacity) {
                throw new IllegalArgumentException("writeEachStep: " + v.length + " values for a buffer of " + capacity);
            }
            if (v.length == 0) return;
            CL.clEnqueueWriteBuffer(queue, mem, CL.CL_TRUE, 0, (long) v.length * Sizeof.cl_float, Pointer.to(v), 0,
                    null, null);
        }

        @Override
        List<cl_mem> buffers() {
            return List.of(mem);
        }

        @Override
        public String toString() {
            return "eachStep[" + capacity + "]";
        }
    }
}
