using NanoLlm.Model.Layers;
using NanoLlm.Tensors;

namespace NanoLlm.Tests.Model.Layers;

public sealed class RotaryEmbeddingTests
{
    public static TheoryData<int, int> WidthsAndHeadSizes()
    {
        var data = new TheoryData<int, int>();
        foreach (var width in new[] { 512, 256, 128, 0 }.Where(w => w <= KernelSettings.HardwareVectorWidth))
        {
            // 16 planes fill a 512-bit vector; 13 leave 256-, 128-bit and scalar tails.
            data.Add(width, 32);
            data.Add(width, 26);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(WidthsAndHeadSizes))]
    public void Every_vector_width_turns_each_plane_with_the_scalar_formulas_numbers(int width, int headSize)
    {
        const int position = 5;
        var rotary = new RotaryEmbedding(8, headSize);
        var random = new Random(headSize);
        var head = Enumerable.Range(0, headSize).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        var half = headSize / 2;
        var (cos, sin) = (rotary.Cosines.Slice(position * half, half).ToArray(), rotary.Sines.Slice(position * half, half).ToArray());
        // (x, y) → (x·cos − y·sin, x·sin + y·cos), and back with −sin: products rounded, then one rounded sum.
        float[] Expected(float[] v, float direction) =>
        [
            .. Enumerable.Range(0, half).Select(i => (v[i] * cos[i]) - (v[i + half] * (direction * sin[i]))),
            .. Enumerable.Range(0, half).Select(i => (v[i] * (direction * sin[i])) + (v[i + half] * cos[i])),
        ];
        var (turned, back) = (Expected(head, 1f), Expected(Expected(head, 1f), -1f));

        using (KernelSettings.Override(width, 1))
        {
            var actual = head.ToArray();
            rotary.Rotate(actual, position);
            Assert.Equal(turned, actual);
            rotary.RotateBack(actual, position);
            Assert.Equal(back, actual);
            Assert.Equal(head, actual, new Support.ToleranceComparer(1e-6f));
        }
    }
}
