using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SeekSharp.Kernels;

namespace SeekSharp.Benchmarks;

/// <summary>
/// Bytes processed per second at the median time: UTF-8 text for the tokenizers (MB/s), weight or input bytes
/// for the kernels (GB/s); for the matrix products, FLOPs per second (GFLOP/s, 2·m·k·n per call). The median, not the mean, because the machine is shared and outliers are other load.
/// </summary>
/// <remarks>
/// The host computes the byte counts itself (the workloads are deterministic): benchmark state lives in the
/// child processes and never reaches it.
/// </remarks>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "Throughput";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Bytes processed per second at the median time (tokenizers: UTF-8 text, 1 MB = 10^6 B; MatVec: weight bytes; vector ops: input bytes); GEMM: GFLOP/s, 2·m·k·n FLOPs per call";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? medianNs = summary[benchmarkCase]?.ResultStatistics?.Median;
        if (medianNs is not > 0 || BytesPerOperation(benchmarkCase) is not { } bytes)
        {
            return "-";
        }
        double bytesPerSecond = bytes / (medianNs.Value * 1e-9);
        if (benchmarkCase.Descriptor.Type == typeof(GemmBenchmarks) || benchmarkCase.Descriptor.Type == typeof(GemmReferenceBenchmarks))
        {
            return $"{bytesPerSecond / 1e9:F1} GFLOP/s";
        }
        return benchmarkCase.Descriptor.Type == typeof(TokenizerBenchmarks)
            ? $"{bytesPerSecond / 1e6:F2} MB/s"
            : $"{bytesPerSecond / 1e9:F2} GB/s";
    }

    /// <summary>Bytes per call, or FLOPs per call for the GEMM classes.</summary>
    static long? BytesPerOperation(BenchmarkCase benchmarkCase)
    {
        var type = benchmarkCase.Descriptor.Type;
        if (type == typeof(TokenizerBenchmarks))
        {
            return BenchText.Utf8Bytes;
        }
        if (type == typeof(KernelBenchmarks))
        {
            var weightType = (GgmlType)benchmarkCase.Parameters[nameof(KernelBenchmarks.Type)];
            return KernelBenchmarks.WeightBytes(weightType);
        }
        if (type == typeof(GemmBenchmarks))
        {
            return GemmShape.Parse((string)benchmarkCase.Parameters[nameof(GemmBenchmarks.Shape)]).Flops;
        }
        if (type == typeof(GemmReferenceBenchmarks))
        {
            return GemmReferenceBenchmarks.Flops;
        }
        if (type == typeof(VectorOpsBenchmarks))
        {
            return VectorOpsBenchmarks.InputBytes;
        }
        return null;
    }
}
