// Put before every program of OpenClBackend (kernels.cl, preference.cl): the accumulator type and
// the rounding rule they share.

// Accumulations run in double where the device has it, in float elsewhere.
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif
// No silent a*b+c -> fma contraction: the CPU backend rounds each step, and so do we.
#pragma OPENCL FP_CONTRACT OFF
