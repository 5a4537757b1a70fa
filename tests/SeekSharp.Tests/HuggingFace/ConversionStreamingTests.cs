using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.HuggingFace;
using SeekSharp.Quantization;
using SeekSharp.Safetensors;
using SeekSharp.Tests.Models;
using Xunit.Abstractions;

namespace SeekSharp.Tests.HuggingFace;

/// <summary>
/// A conversion produces each tensor a piece of rows at a time while writing it, so that a DeepSeek-V3 (FP8, expert
/// tensors of 7.5 GB in BF16) converts in bounded memory: measured here on a folder whose FP8 matrices are far larger
/// than one piece, and checked to give the same bytes whatever the piece size (small pieces stand for tensors
/// beyond the 2 GiB a span or an array can hold).
/// </summary>
/// <remarks>In the allocation collection: it measures the whole process's allocations and sets the piece sizes, which are global.</remarks>
[Collection(nameof(AllocationMeasurement))]
public sealed class ConversionStreamingTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("seek-hf-stream-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Sets the piece sizes of <see cref="TensorPieces"/> until disposed.</summary>
    sealed class Pieces : IDisposable
    {
        readonly int _work = TensorPieces.WorkItemElements, _copy = TensorPieces.MaxCopyBytes;

        public Pieces(int workItemElements, int maxCopyBytes)
        {
            TensorPieces.WorkItemElements = workItemElements;
            TensorPieces.MaxCopyBytes = maxCopyBytes;
        }

        public void Dispose()
        {
            TensorPieces.WorkItemElements = _work;
            TensorPieces.MaxCopyBytes = _copy;
        }
    }

    /// <summary>Records the process's allocated bytes at each tensor written (reports come synchronously from the writing thread).</summary>
    sealed class AllocationsPerTensor : IProgress<ConvertProgress>
    {
        public readonly List<(string Name, long Allocated)> Marks = [];

        public void Report(ConvertProgress p) => Marks.Add((p.Name, GC.GetTotalAllocatedBytes(precise: true)));

        /// <summary>The most bytes allocated while one tensor was produced and written, after the first (whose step also holds the planning and the header).</summary>
        public (string Name, long Bytes) Largest() =>
            Enumerable.Range(1, Marks.Count - 1).Select(i => (Marks[i].Name, Marks[i].Allocated - Marks[i - 1].Allocated)).MaxBy(s => s.Item2);
    }

    [Fact]
    public void Converting_an_fp8_folder_allocates_a_piece_per_tensor_not_the_tensor()
    {
        // DeepSeek-V3 as released (FP8 matrices in 32 x 32 blocks, the rest BF16), with a dense FFN of 16384 so that
        // its three FP8 matrices are 1 M values each: 4 MB as floats, 2 MB in BF16.
        const int ffn = 16384;
        var o = new TinyHfOptions { ModelType = "deepseek_v3", Tokenizer = "deepseek_v3", DType = SafetensorsDType.BF16, Fp8Block = [32, 32], Ffn = ffn, Seed = 5 };
        string folder = TinyHfFolder.Build(o, Path.Combine(_dir, "fp8"));
        long fp8Bytes;
        using (var checkpoint = SafetensorsCheckpoint.Open(folder))
            fp8Bytes = checkpoint.TensorNames.Select(n => checkpoint.Find(n)!.Value.Info).Where(i => i.DType == SafetensorsDType.F8E4M3).Sum(i => i.ByteSize);

        // Work items of one ffn_down row, a quarter of an FP8 matrix: one piece is 2 work items per core, each holding
        // its floats and its encoded bytes (at most 4 per value). Plus slack for the writer's own small allocations
        // and Parallel.For's bookkeeping (about 2 KB per piece: garbage, not live, but counted here), which this
        // piece size keeps to a few hundred KB on the 129280-row output matrix.
        const int workItem = ffn;
        long bound = 2L * Environment.ProcessorCount * workItem * (sizeof(float) + 4) + (512 << 10);
        Assert.True(fp8Bytes > 2 * bound, $"the FP8 weights ({fp8Bytes} bytes) should dwarf one piece ({bound})");

        using var pieces = new Pieces(workItem, 1 << 16);
        foreach (var (label, type, mix) in new (string, HfWeightType, LlamaFileType?)[]
                 { ("bf16", HfWeightType.BF16, null), ("f32", HfWeightType.F32, null), ("mostly-f16", HfWeightType.Source, LlamaFileType.MostlyF16) })
        {
            var progress = new AllocationsPerTensor();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            HuggingFaceFolder.Convert(folder, Path.Combine(_dir, label + ".gguf"), type, mix, progress);
            var (name, most) = progress.Largest();
            output.WriteLine($"{label}: FP8 weights {fp8Bytes / 1024} KiB; most allocated for one tensor {most / 1024} KiB ({name}); " +
                             $"whole conversion {(GC.GetTotalAllocatedBytes(precise: true) - before) / 1024} KiB; bound {bound / 1024} KiB");
            Assert.True(most < bound, $"{label}: writing '{name}' allocated {most} bytes, more than one piece ({bound})");
        }
    }

    // The tiny DeepSeek folders have k_b rows of 16 values, which no block type takes: they are quantized to F16.
    public static TheoryData<string, string, LlamaFileType> Conversions => new()
    {
        { "fp8", "bf16", LlamaFileType.MostlyF16 }, { "fp8", "mostly-f16", LlamaFileType.MostlyF16 }, { "llama", "f16", LlamaFileType.MostlyQ4_0 },
        { "llama", "q8_0", LlamaFileType.MostlyQ4_0 }, { "deepseek_v2", "f32", LlamaFileType.MostlyF16 },
    };

    [Theory]
    [MemberData(nameof(Conversions))]
    public void Small_pieces_give_the_bytes_of_large_ones(string folderName, string type, LlamaFileType quantizeTo)
    {
        string folder = TinyHfFolder.Build(HuggingFaceFolderTests.OptionsFor(folderName), Path.Combine(_dir, folderName));
        var (weightType, mix) = type switch
        {
            "q8_0" => (HfWeightType.Source, (LlamaFileType?)LlamaFileType.MostlyQ8_0),
            "mostly-f16" => (HfWeightType.Source, LlamaFileType.MostlyF16),
            "f16" => (HfWeightType.F16, null),
            "bf16" => (HfWeightType.BF16, null),
            _ => (HfWeightType.F32, (LlamaFileType?)null),
        };
        string whole = Path.Combine(_dir, "whole.gguf"), pieced = Path.Combine(_dir, "pieced.gguf");
        HuggingFaceFolder.Convert(folder, whole, weightType, mix);
        // 200 values per work item: 3 rows of 64, one of 96; pieces of 4 items that straddle heads (k_b, v_b),
        // experts and block rows of scales, and copies of 100 bytes that split every row.
        using (new Pieces(200, 100))
            HuggingFaceFolder.Convert(folder, pieced, weightType, mix);
        AssertSameFile(whole, pieced);

        // seek quantize of the result, through the mapped file rather than the folder's row source.
        string q = Path.Combine(_dir, "q.gguf"), qPieced = Path.Combine(_dir, "q-pieced.gguf");
        GgufQuantizer.Quantize(whole, q, quantizeTo);
        using (new Pieces(200, 100))
            GgufQuantizer.Quantize(whole, qPieced, quantizeTo);
        AssertSameFile(q, qPieced);
    }

    // Tensor by tensor first, so that a difference names its tensor; then the whole file.
    static void AssertSameFile(string expected, string actual)
    {
        using (var e = GgufFile.Open(expected))
        using (var a = GgufFile.Open(actual))
            foreach (var t in e.Tensors)
            {
                var x = e.GetTensorBytes(t);
                var y = a.GetTensorBytes(a.GetTensor(t.Name));
                int at = x.CommonPrefixLength(y);
                Assert.True(x.SequenceEqual(y), $"tensor {t.Name} ({t.Type} [{string.Join(", ", t.Shape)}]) differs at byte {at} of {x.Length}");
            }
        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(actual));
    }

    [Fact]
    public void A_folder_opened_in_memory_is_filled_piece_by_piece_with_the_written_bytes()
    {
        string folder = TinyHfFolder.Build(HuggingFaceFolderTests.OptionsFor("fp8"), Path.Combine(_dir, "fp8"));
        string gguf = Path.Combine(_dir, "bf16.gguf");
        HuggingFaceFolder.Convert(folder, gguf, HfWeightType.Source);
        using var written = GgufFile.Open(gguf);
        using var pieces = new Pieces(200, 100);
        using var opened = HuggingFaceFolder.Open(folder, HfWeightType.Source);
        foreach (var t in written.Tensors)
            Assert.True(written.GetTensorBytes(t).SequenceEqual(opened.GetTensorBytes(opened.GetTensor(t.Name))), $"tensor {t.Name} differs");
    }
}
