using SeekSharp.Models;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Tests.Models;

/// <summary>YaRN's frequencies against DeepSeek's own formula (DeepSeek-V3 inference/model.py precompute_freqs_cis),
/// computed here in double from its definition.</summary>
public class YarnRopeTests
{
    [Theory]
    [InlineData(40f, 4096, 1)]
    [InlineData(40f, 4096, 5000)]
    [InlineData(4f, 64, 200)]
    public void AnglesFollowDeepSeeksRamp(float factor, int originalContext, int position)
    {
        const int dim = 64;
        const double theBase = 10000;
        var yarn = new YarnConfig(factor, originalContext, BetaFast: 32, BetaSlow: 1, MscaleAllDim: 1f);
        var rope = new Rope(192, dim, (float)theBase, 1f / factor, RopeMode.Adjacent, yarn: yarn);
        var cos = new float[dim / 2];
        var sin = new float[dim / 2];
        rope.Angles(position, cos, sin);

        double Pair(double turns) => dim * Math.Log(originalContext / (turns * 2 * Math.PI)) / (2 * Math.Log(theBase));
        double low = Math.Max(Math.Floor(Pair(32)), 0), high = Math.Min(Math.Ceiling(Pair(1)), dim - 1);
        for (int i = 0; i < dim / 2; i++)
        {
            double freq = Math.Pow(theBase, -2.0 * i / dim);
            double ramp = Math.Clamp((i - low) / (high - low), 0, 1);   // 0: keep the frequency, 1: interpolate it
            double inv = freq / factor * ramp + freq * (1 - ramp);
            double angle = position * inv;
            Assert.True(Math.Abs(Math.Cos(angle) - cos[i]) < 2e-4 && Math.Abs(Math.Sin(angle) - sin[i]) < 2e-4,
                $"pair {i}: angle {angle}, cos {cos[i]} vs {Math.Cos(angle)}");
        }
        if (factor == 40f && originalContext == 4096)
            Assert.Equal((10.0, 23.0), (low, high)); // DeepSeek-V3's ramp ends, as its configuration gives them
    }

    [Fact]
    public void AttentionScaleIsMscaleSquaredOverTheQueryHeadWidth()
    {
        var config = ModelConfig.Llama(32, 64, 64, 1, 4, 4, 64) with
        {
            HeadDim = 192, RopeDimensionCount = 64, Yarn = new YarnConfig(40f, 4096, 32, 1, MscaleAllDim: 0.707f),
        };
        double mscale = 0.1 * 0.707 * Math.Log(40) + 1;
        Assert.Equal(mscale * mscale / Math.Sqrt(192), config.AttentionScale, 5);
        Assert.Equal(0.114721, config.AttentionScale, 5); // DeepSeek-V2-Lite's scale, as computed in our notes
    }
}
