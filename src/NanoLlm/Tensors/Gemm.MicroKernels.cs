using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoLlm.Tensors;

/// <summary>
/// The register-blocked micro-kernels: an MR×NR tile of C held in registers while p runs over a packed A panel
/// (<c>a[p][MR]</c>) and a packed B panel (<c>b[p][NR]</c>); then destination = α·tile + source, row by row. Every
/// width accumulates each element in the same order p = 0, 1, …, so a tile's result never depends on where it sits.
/// </summary>
internal static unsafe partial class Gemm
{
    // C[12x32] = α·Σ_p a[p,0:12]ᵀ·b[p,0:32] + S: 24 accumulators of 16 floats in registers (AVX-512 has 32)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512(int kc, float* a, float* b, float alpha, float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        var left0 = Vector512<float>.Zero; var right0 = Vector512<float>.Zero;
        var left1 = Vector512<float>.Zero; var right1 = Vector512<float>.Zero;
        var left2 = Vector512<float>.Zero; var right2 = Vector512<float>.Zero;
        var left3 = Vector512<float>.Zero; var right3 = Vector512<float>.Zero;
        var left4 = Vector512<float>.Zero; var right4 = Vector512<float>.Zero;
        var left5 = Vector512<float>.Zero; var right5 = Vector512<float>.Zero;
        var left6 = Vector512<float>.Zero; var right6 = Vector512<float>.Zero;
        var left7 = Vector512<float>.Zero; var right7 = Vector512<float>.Zero;
        var left8 = Vector512<float>.Zero; var right8 = Vector512<float>.Zero;
        var left9 = Vector512<float>.Zero; var right9 = Vector512<float>.Zero;
        var left10 = Vector512<float>.Zero; var right10 = Vector512<float>.Zero;
        var left11 = Vector512<float>.Zero; var right11 = Vector512<float>.Zero;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]);
            left0 = Vector512.FusedMultiplyAdd(a0, b0, left0);
            right0 = Vector512.FusedMultiplyAdd(a0, b1, right0);
            var a1 = Vector512.Create(a[1]);
            left1 = Vector512.FusedMultiplyAdd(a1, b0, left1);
            right1 = Vector512.FusedMultiplyAdd(a1, b1, right1);
            var a2 = Vector512.Create(a[2]);
            left2 = Vector512.FusedMultiplyAdd(a2, b0, left2);
            right2 = Vector512.FusedMultiplyAdd(a2, b1, right2);
            var a3 = Vector512.Create(a[3]);
            left3 = Vector512.FusedMultiplyAdd(a3, b0, left3);
            right3 = Vector512.FusedMultiplyAdd(a3, b1, right3);
            var a4 = Vector512.Create(a[4]);
            left4 = Vector512.FusedMultiplyAdd(a4, b0, left4);
            right4 = Vector512.FusedMultiplyAdd(a4, b1, right4);
            var a5 = Vector512.Create(a[5]);
            left5 = Vector512.FusedMultiplyAdd(a5, b0, left5);
            right5 = Vector512.FusedMultiplyAdd(a5, b1, right5);
            var a6 = Vector512.Create(a[6]);
            left6 = Vector512.FusedMultiplyAdd(a6, b0, left6);
            right6 = Vector512.FusedMultiplyAdd(a6, b1, right6);
            var a7 = Vector512.Create(a[7]);
            left7 = Vector512.FusedMultiplyAdd(a7, b0, left7);
            right7 = Vector512.FusedMultiplyAdd(a7, b1, right7);
            var a8 = Vector512.Create(a[8]);
            left8 = Vector512.FusedMultiplyAdd(a8, b0, left8);
            right8 = Vector512.FusedMultiplyAdd(a8, b1, right8);
            var a9 = Vector512.Create(a[9]);
            left9 = Vector512.FusedMultiplyAdd(a9, b0, left9);
            right9 = Vector512.FusedMultiplyAdd(a9, b1, right9);
            var a10 = Vector512.Create(a[10]);
            left10 = Vector512.FusedMultiplyAdd(a10, b0, left10);
            right10 = Vector512.FusedMultiplyAdd(a10, b1, right10);
            var a11 = Vector512.Create(a[11]);
            left11 = Vector512.FusedMultiplyAdd(a11, b0, left11);
            right11 = Vector512.FusedMultiplyAdd(a11, b1, right11);
            a += 12;
            b += 32;
        }
        var scale = Vector512.Create(alpha);
        Vector512.FusedMultiplyAdd(left0, scale, Vector512.Load(source)).Store(destination);
        Vector512.FusedMultiplyAdd(right0, scale, Vector512.Load(source + 16)).Store(destination + 16);
        Vector512.FusedMultiplyAdd(left1, scale, Vector512.Load(source + sourceStride)).Store(destination + destinationStride);
        Vector512.FusedMultiplyAdd(right1, scale, Vector512.Load(source + sourceStride + 16)).Store(destination + destinationStride + 16);
        Vector512.FusedMultiplyAdd(left2, scale, Vector512.Load(source + 2 * sourceStride)).Store(destination + 2 * destinationStride);
        Vector512.FusedMultiplyAdd(right2, scale, Vector512.Load(source + 2 * sourceStride + 16)).Store(destination + 2 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left3, scale, Vector512.Load(source + 3 * sourceStride)).Store(destination + 3 * destinationStride);
        Vector512.FusedMultiplyAdd(right3, scale, Vector512.Load(source + 3 * sourceStride + 16)).Store(destination + 3 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left4, scale, Vector512.Load(source + 4 * sourceStride)).Store(destination + 4 * destinationStride);
        Vector512.FusedMultiplyAdd(right4, scale, Vector512.Load(source + 4 * sourceStride + 16)).Store(destination + 4 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left5, scale, Vector512.Load(source + 5 * sourceStride)).Store(destination + 5 * destinationStride);
        Vector512.FusedMultiplyAdd(right5, scale, Vector512.Load(source + 5 * sourceStride + 16)).Store(destination + 5 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left6, scale, Vector512.Load(source + 6 * sourceStride)).Store(destination + 6 * destinationStride);
        Vector512.FusedMultiplyAdd(right6, scale, Vector512.Load(source + 6 * sourceStride + 16)).Store(destination + 6 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left7, scale, Vector512.Load(source + 7 * sourceStride)).Store(destination + 7 * destinationStride);
        Vector512.FusedMultiplyAdd(right7, scale, Vector512.Load(source + 7 * sourceStride + 16)).Store(destination + 7 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left8, scale, Vector512.Load(source + 8 * sourceStride)).Store(destination + 8 * destinationStride);
        Vector512.FusedMultiplyAdd(right8, scale, Vector512.Load(source + 8 * sourceStride + 16)).Store(destination + 8 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left9, scale, Vector512.Load(source + 9 * sourceStride)).Store(destination + 9 * destinationStride);
        Vector512.FusedMultiplyAdd(right9, scale, Vector512.Load(source + 9 * sourceStride + 16)).Store(destination + 9 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left10, scale, Vector512.Load(source + 10 * sourceStride)).Store(destination + 10 * destinationStride);
        Vector512.FusedMultiplyAdd(right10, scale, Vector512.Load(source + 10 * sourceStride + 16)).Store(destination + 10 * destinationStride + 16);
        Vector512.FusedMultiplyAdd(left11, scale, Vector512.Load(source + 11 * sourceStride)).Store(destination + 11 * destinationStride);
        Vector512.FusedMultiplyAdd(right11, scale, Vector512.Load(source + 11 * sourceStride + 16)).Store(destination + 11 * destinationStride + 16);
    }

    // C[6x16] = α·Σ_p a[p,0:6]ᵀ·b[p,0:16] + S: 12 accumulators of 8 floats (AVX2 has 16 registers)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256(int kc, float* a, float* b, float alpha, float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        var left0 = Vector256<float>.Zero; var right0 = Vector256<float>.Zero;
        var left1 = Vector256<float>.Zero; var right1 = Vector256<float>.Zero;
        var left2 = Vector256<float>.Zero; var right2 = Vector256<float>.Zero;
        var left3 = Vector256<float>.Zero; var right3 = Vector256<float>.Zero;
        var left4 = Vector256<float>.Zero; var right4 = Vector256<float>.Zero;
        var left5 = Vector256<float>.Zero; var right5 = Vector256<float>.Zero;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            left0 = Vector256.FusedMultiplyAdd(a0, b0, left0);
            right0 = Vector256.FusedMultiplyAdd(a0, b1, right0);
            var a1 = Vector256.Create(a[1]);
            left1 = Vector256.FusedMultiplyAdd(a1, b0, left1);
            right1 = Vector256.FusedMultiplyAdd(a1, b1, right1);
            var a2 = Vector256.Create(a[2]);
            left2 = Vector256.FusedMultiplyAdd(a2, b0, left2);
            right2 = Vector256.FusedMultiplyAdd(a2, b1, right2);
            var a3 = Vector256.Create(a[3]);
            left3 = Vector256.FusedMultiplyAdd(a3, b0, left3);
            right3 = Vector256.FusedMultiplyAdd(a3, b1, right3);
            var a4 = Vector256.Create(a[4]);
            left4 = Vector256.FusedMultiplyAdd(a4, b0, left4);
            right4 = Vector256.FusedMultiplyAdd(a4, b1, right4);
            var a5 = Vector256.Create(a[5]);
            left5 = Vector256.FusedMultiplyAdd(a5, b0, left5);
            right5 = Vector256.FusedMultiplyAdd(a5, b1, right5);
            a += 6;
            b += 16;
        }
        var scale = Vector256.Create(alpha);
        Vector256.FusedMultiplyAdd(left0, scale, Vector256.Load(source)).Store(destination);
        Vector256.FusedMultiplyAdd(right0, scale, Vector256.Load(source + 8)).Store(destination + 8);
        Vector256.FusedMultiplyAdd(left1, scale, Vector256.Load(source + sourceStride)).Store(destination + destinationStride);
        Vector256.FusedMultiplyAdd(right1, scale, Vector256.Load(source + sourceStride + 8)).Store(destination + destinationStride + 8);
        Vector256.FusedMultiplyAdd(left2, scale, Vector256.Load(source + 2 * sourceStride)).Store(destination + 2 * destinationStride);
        Vector256.FusedMultiplyAdd(right2, scale, Vector256.Load(source + 2 * sourceStride + 8)).Store(destination + 2 * destinationStride + 8);
        Vector256.FusedMultiplyAdd(left3, scale, Vector256.Load(source + 3 * sourceStride)).Store(destination + 3 * destinationStride);
        Vector256.FusedMultiplyAdd(right3, scale, Vector256.Load(source + 3 * sourceStride + 8)).Store(destination + 3 * destinationStride + 8);
        Vector256.FusedMultiplyAdd(left4, scale, Vector256.Load(source + 4 * sourceStride)).Store(destination + 4 * destinationStride);
        Vector256.FusedMultiplyAdd(right4, scale, Vector256.Load(source + 4 * sourceStride + 8)).Store(destination + 4 * destinationStride + 8);
        Vector256.FusedMultiplyAdd(left5, scale, Vector256.Load(source + 5 * sourceStride)).Store(destination + 5 * destinationStride);
        Vector256.FusedMultiplyAdd(right5, scale, Vector256.Load(source + 5 * sourceStride + 8)).Store(destination + 5 * destinationStride + 8);
    }

    // C[6x8] = α·Σ_p a[p,0:6]ᵀ·b[p,0:8] + S: 12 accumulators of 4 floats
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel128(int kc, float* a, float* b, float alpha, float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        var left0 = Vector128<float>.Zero; var right0 = Vector128<float>.Zero;
        var left1 = Vector128<float>.Zero; var right1 = Vector128<float>.Zero;
        var left2 = Vector128<float>.Zero; var right2 = Vector128<float>.Zero;
        var left3 = Vector128<float>.Zero; var right3 = Vector128<float>.Zero;
        var left4 = Vector128<float>.Zero; var right4 = Vector128<float>.Zero;
        var left5 = Vector128<float>.Zero; var right5 = Vector128<float>.Zero;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            var a0 = Vector128.Create(a[0]);
            left0 = Vector128.FusedMultiplyAdd(a0, b0, left0);
            right0 = Vector128.FusedMultiplyAdd(a0, b1, right0);
            var a1 = Vector128.Create(a[1]);
            left1 = Vector128.FusedMultiplyAdd(a1, b0, left1);
            right1 = Vector128.FusedMultiplyAdd(a1, b1, right1);
            var a2 = Vector128.Create(a[2]);
            left2 = Vector128.FusedMultiplyAdd(a2, b0, left2);
            right2 = Vector128.FusedMultiplyAdd(a2, b1, right2);
            var a3 = Vector128.Create(a[3]);
            left3 = Vector128.FusedMultiplyAdd(a3, b0, left3);
            right3 = Vector128.FusedMultiplyAdd(a3, b1, right3);
            var a4 = Vector128.Create(a[4]);
            left4 = Vector128.FusedMultiplyAdd(a4, b0, left4);
            right4 = Vector128.FusedMultiplyAdd(a4, b1, right4);
            var a5 = Vector128.Create(a[5]);
            left5 = Vector128.FusedMultiplyAdd(a5, b0, left5);
            right5 = Vector128.FusedMultiplyAdd(a5, b1, right5);
            a += 6;
            b += 8;
        }
        var scale = Vector128.Create(alpha);
        Vector128.FusedMultiplyAdd(left0, scale, Vector128.Load(source)).Store(destination);
        Vector128.FusedMultiplyAdd(right0, scale, Vector128.Load(source + 4)).Store(destination + 4);
        Vector128.FusedMultiplyAdd(left1, scale, Vector128.Load(source + sourceStride)).Store(destination + destinationStride);
        Vector128.FusedMultiplyAdd(right1, scale, Vector128.Load(source + sourceStride + 4)).Store(destination + destinationStride + 4);
        Vector128.FusedMultiplyAdd(left2, scale, Vector128.Load(source + 2 * sourceStride)).Store(destination + 2 * destinationStride);
        Vector128.FusedMultiplyAdd(right2, scale, Vector128.Load(source + 2 * sourceStride + 4)).Store(destination + 2 * destinationStride + 4);
        Vector128.FusedMultiplyAdd(left3, scale, Vector128.Load(source + 3 * sourceStride)).Store(destination + 3 * destinationStride);
        Vector128.FusedMultiplyAdd(right3, scale, Vector128.Load(source + 3 * sourceStride + 4)).Store(destination + 3 * destinationStride + 4);
        Vector128.FusedMultiplyAdd(left4, scale, Vector128.Load(source + 4 * sourceStride)).Store(destination + 4 * destinationStride);
        Vector128.FusedMultiplyAdd(right4, scale, Vector128.Load(source + 4 * sourceStride + 4)).Store(destination + 4 * destinationStride + 4);
        Vector128.FusedMultiplyAdd(left5, scale, Vector128.Load(source + 5 * sourceStride)).Store(destination + 5 * destinationStride);
        Vector128.FusedMultiplyAdd(right5, scale, Vector128.Load(source + 5 * sourceStride + 4)).Store(destination + 5 * destinationStride + 4);
    }

    // C[4x4] = α·Σ_p a[p,:]ᵀ·b[p,:] + S, in plain floats
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelScalar(int kc, float* a, float* b, float alpha, float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        var c00 = 0f; var c01 = 0f; var c02 = 0f; var c03 = 0f;
        var c10 = 0f; var c11 = 0f; var c12 = 0f; var c13 = 0f;
        var c20 = 0f; var c21 = 0f; var c22 = 0f; var c23 = 0f;
        var c30 = 0f; var c31 = 0f; var c32 = 0f; var c33 = 0f;
        for (var p = 0; p < kc; p++)
        {
            var b0 = b[0]; var b1 = b[1]; var b2 = b[2]; var b3 = b[3];
            var a0 = a[0];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            var a1 = a[1];
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            var a2 = a[2];
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            var a3 = a[3];
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            a += 4;
            b += 4;
        }
        var source0 = source + (0 * sourceStride);
        var destination0 = destination + (0 * destinationStride);
        destination0[0] = source0[0] + (alpha * c00); destination0[1] = source0[1] + (alpha * c01); destination0[2] = source0[2] + (alpha * c02); destination0[3] = source0[3] + (alpha * c03);
        var source1 = source + (1 * sourceStride);
        var destination1 = destination + (1 * destinationStride);
        destination1[0] = source1[0] + (alpha * c10); destination1[1] = source1[1] + (alpha * c11); destination1[2] = source1[2] + (alpha * c12); destination1[3] = source1[3] + (alpha * c13);
        var source2 = source + (2 * sourceStride);
        var destination2 = destination + (2 * destinationStride);
        destination2[0] = source2[0] + (alpha * c20); destination2[1] = source2[1] + (alpha * c21); destination2[2] = source2[2] + (alpha * c22); destination2[3] = source2[3] + (alpha * c23);
        var source3 = source + (3 * sourceStride);
        var destination3 = destination + (3 * destinationStride);
        destination3[0] = source3[0] + (alpha * c30); destination3[1] = source3[1] + (alpha * c31); destination3[2] = source3[2] + (alpha * c32); destination3[3] = source3[3] + (alpha * c33);
    }

    // C[12x16] = α·Σ_p a[p,0:12]ᵀ·b[p,0:16] + S, reading the first half of 32-wide B panels: the last column panel when 16 or fewer columns remain
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512Narrow(int kc, float* a, float* b, float alpha, float* source, nint sourceStride, float* destination, nint destinationStride)
    {
        var c0 = Vector512<float>.Zero;
        var c1 = Vector512<float>.Zero;
        var c2 = Vector512<float>.Zero;
        var c3 = Vector512<float>.Zero;
        var c4 = Vector512<float>.Zero;
        var c5 = Vector512<float>.Zero;
        var c6 = Vector512<float>.Zero;
        var c7 = Vector512<float>.Zero;
        var c8 = Vector512<float>.Zero;
        var c9 = Vector512<float>.Zero;
        var c10 = Vector512<float>.Zero;
        var c11 = Vector512<float>.Zero;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[8]), b0, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[9]), b0, c9);
            c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a[10]), b0, c10);
            c11 = Vector512.FusedMultiplyAdd(Vector512.Create(a[11]), b0, c11);
            a += 12;
            b += 32;
        }
        var scale = Vector512.Create(alpha);
        Vector512.FusedMultiplyAdd(c0, scale, Vector512.Load(source)).Store(destination);
        Vector512.FusedMultiplyAdd(c1, scale, Vector512.Load(source + sourceStride)).Store(destination + destinationStride);
        Vector512.FusedMultiplyAdd(c2, scale, Vector512.Load(source + (2 * sourceStride))).Store(destination + (2 * destinationStride));
        Vector512.FusedMultiplyAdd(c3, scale, Vector512.Load(source + (3 * sourceStride))).Store(destination + (3 * destinationStride));
        Vector512.FusedMultiplyAdd(c4, scale, Vector512.Load(source + (4 * sourceStride))).Store(destination + (4 * destinationStride));
        Vector512.FusedMultiplyAdd(c5, scale, Vector512.Load(source + (5 * sourceStride))).Store(destination + (5 * destinationStride));
        Vector512.FusedMultiplyAdd(c6, scale, Vector512.Load(source + (6 * sourceStride))).Store(destination + (6 * destinationStride));
        Vector512.FusedMultiplyAdd(c7, scale, Vector512.Load(source + (7 * sourceStride))).Store(destination + (7 * destinationStride));
        Vector512.FusedMultiplyAdd(c8, scale, Vector512.Load(source + (8 * sourceStride))).Store(destination + (8 * destinationStride));
        Vector512.FusedMultiplyAdd(c9, scale, Vector512.Load(source + (9 * sourceStride))).Store(destination + (9 * destinationStride));
        Vector512.FusedMultiplyAdd(c10, scale, Vector512.Load(source + (10 * sourceStride))).Store(destination + (10 * destinationStride));
        Vector512.FusedMultiplyAdd(c11, scale, Vector512.Load(source + (11 * sourceStride))).Store(destination + (11 * destinationStride));
    }

    // C[0:rows, 0:columns] = α·Σ_p a[p,0:12]ᵀ·b[p,0:columns] + S for the last 1 to 4 columns: turned around, the 12 rows of
    // an A panel fill one vector, so a column costs one fused multiply-add per p instead of a mostly padded 32-wide tile
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Columns512(
        int kc, float* a, float* b, int rows, int columns, float alpha, float* source, nint sourceStride, float* destination, nint destinationStride, float* tile)
    {
        var (c0, c1, c2, c3) = (Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero, Vector512<float>.Zero);
        for (var p = 0; p < kc; p++)
        {
            var column = Vector512.Load(a);
            c0 = Vector512.FusedMultiplyAdd(column, Vector512.Create(b[0]), c0);
            c1 = Vector512.FusedMultiplyAdd(column, Vector512.Create(b[1]), c1);
            c2 = Vector512.FusedMultiplyAdd(column, Vector512.Create(b[2]), c2);
            c3 = Vector512.FusedMultiplyAdd(column, Vector512.Create(b[3]), c3);
            a += 12;
            b += 32;
        }
        c0.Store(tile);
        c1.Store(tile + 16);
        c2.Store(tile + 32);
        c3.Store(tile + 48);
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                destination[(i * destinationStride) + j] = MathF.FusedMultiplyAdd(tile[(j * 16) + i], alpha, source[(i * sourceStride) + j]);
            }
        }
    }
}
