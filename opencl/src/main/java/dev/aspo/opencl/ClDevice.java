package dev.aspo.opencl;

import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_CPU;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_PLATFORM_NAME;

import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/** One OpenCL device as the ICD loader lists it: {@code opencl:P:D} is platform P, device D. */
public final class ClDevice {
    final cl_platform_id platform;
    final cl_device_id device;
    public final int platformIndex, deviceIndex;
    public final String platformName, deviceName;
    /** {@code CL_DEVICE_TYPE} bits. */
    public final long type;

    private ClDevice(cl_platform_id platform, cl_device_id device, int p, int d) {
        this.platform = platform;
        this.device = device;
        this.platformIndex = p;
        this.deviceIndex = d;
        this.platformName = platformString(platform, CL_PLATFORM_NAME);
        this.deviceName = deviceString(device, CL_DEVICE_NAME);
        long[] t = new long[1];
        CL.clGetDeviceInfo(device, CL_DEVICE_TYPE, Sizeof.cl_long, Pointer.to(t), null);
        this.type = t[0];
    }

    public boolean isCpu() {
        return (type & CL_DEVICE_TYPE_CPU) != 0;
    }

    public boolean isGpu() {
        return (type & CL_DEVICE_TYPE_GPU) != 0;
    }

    public String spec() {
        return "opencl:" + platformIndex + ":" + deviceIndex;
    }

    @Override
    public String toString() {
        return spec() + " " + (isGpu() ? "GPU" : isCpu() ? "CPU" : "other") + " " + deviceName.trim()
                + " (" + platformName.trim() + ")";
    }

    /**
     * Every device of every platform; empty when there is no OpenCL platform (no ICD loader, no
     * installed ICD, or none that answers).
     */
    public static List<ClDevice> all() {
        List<ClDevice> out = new ArrayList<>();
        cl_platform_id[] platforms;
        try {
            CL.setExceptionsEnabled(true);
            int[] n = new int[1];
            CL.clGetPlatformIDs(0, null, n);
            platforms = new cl_platform_id[n[0]];
            if (n[0] > 0) CL.clGetPlatformIDs(n[0], platforms, null);
        } catch (CLException | LinkageError e) {
            return out;                         // no libOpenCL, or CL_PLATFORM_NOT_FOUND_KHR
        }
        for (int p = 0; p < platforms.length; p++) {
            try {
                int[] n = new int[1];
                CL.clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, null, n);
                cl_device_id[] devices = new cl_device_id[n[0]];
                CL.clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, n[0], devices, null);
                for (int d = 0; d < devices.length; d++) out.add(new ClDevice(platforms[p], devices[d], p, d));
            } catch (CLException e) {
                // a platform without devices (CL_DEVICE_NOT_FOUND) lists nothing
            }
        }
        return out;
    }

    static String deviceString(cl_device_id device, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(device, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetDeviceInfo(device, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    static String platformString(cl_platform_id platform, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(platform, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetPlatformInfo(platform, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String cString(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        return new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }
}
