using System.Diagnostics;
using System.Runtime.InteropServices;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Conversions;
using SeekSharp.Models;
using SeekSharp.Safetensors;

namespace SeekSharp.HuggingFace;

/// <summary>
/// The checkpoint's tensors as a conversion reads them: looked up by Hugging Face name with the shape config.json
/// implies, decoded to floats from F32, F16, BF16 or block-scaled FP8, and each one marked as used so that a tensor
/// no rule maps is reported instead of silently dropped.
/// </summary>
internal sealed class HfWeights(SafetensorsCheckpoint checkpoint, HfConfig config, int[]? fp8BlockSize)
{
    const string ScaleSuffix = "_scale_inv";
    readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public SafetensorsCheckpoint Checkpoint => checkpoint;

    public bool Has(string name) => checkpoint.Contains(name);

    /// <summary>The tensor <paramref name="name"/>, checked to have <paramref name="shape"/> (row-major).</summary>
    /// <exception cref="ModelLoadException">The checkpoint lacks it (names config.json, whose sizes call for it).</exception>
    /// <exception cref="SafetensorsFormatException">Its shape is not the one config.json implies.</exception>
    public (SafetensorsFile File, SafetensorsTensorInfo Info) Require(string name, params long[] shape)
    {
        var found = checkpoint.Find(name)
            ?? throw new ModelLoadException(config.Path, $"config.json calls for tensor '{name}' but no safetensors file in '{checkpoint.Folder}' holds it");
        var (file, info) = found;
        if (!info.Shape.AsSpan().SequenceEqual(shape))
            throw new SafetensorsFormatException(file.Path, name, $"shape is {info.ShapeText} but config.json implies [{string.Join(", ", shape)}]");
        if (info.DType is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.F8E4M3))
            throw new SafetensorsFormatException(file.Path, name, $"dtype {SafetensorsDTypes.NameOf(info.DType)} cannot be converted (supported: F32, F16, BF16, F8_E4M3 with weight_scale_inv)");
        _used.Add(name);
        if (info.DType == SafetensorsDType.F8E4M3) RequireScale(name, file, info);
        return found;
    }

    /// <summary>Marks a tensor the conversion deliberately leaves out (a tied lm_head, multi-token-prediction layers).</summary>
    public void Skip(string name) => _used.Add(name);

    /// <summary>Names of checkpoint tensors no rule consumed.</summary>
    public IEnumerable<string> Unused() => checkpoint.TensorNames.Where(n => !_used.Contains(n));

    /// <summary>The element type a weight is stored in, FP8 standing for the BF16 it dequantizes to.</summary>
    public static GgmlType StoredAs(SafetensorsDType type) => type switch
    {
        SafetensorsDType.F32 => GgmlType.F32,
        SafetensorsDType.F16 => GgmlType.F16,
        _ => GgmlType.BF16,
    };

    /// <summary>
    /// Rows <paramref name="firstRow"/> .. + <paramref name="count"/> of tensor <paramref name="name"/> (row-major, a row
    /// being its last dimension) as floats in <paramref name="destination"/>, FP8 weights multiplied by their block
    /// scales. Reads only those rows (and their scale rows) from the mapping, so a tensor of any size is decoded in
    /// pieces. Safe to call from several threads.
    /// </summary>
    public unsafe void DecodeRows(string name, long firstRow, int count, Span<float> destination)
    {
        var (file, info) = checkpoint.Find(name)!.Value;
        long cols = info.Shape.Length == 0 ? 1 : info.Shape[^1];
        long rowBytes = cols * SafetensorsDTypes.SizeOf(info.DType);
        Debug.Assert(destination.Length == count * cols && (firstRow + count) * rowBytes <= info.ByteSize);
        var bytes = new ReadOnlySpan<byte>(file.GetPointer(info) + firstRow * rowBytes, checked((int)(count * rowBytes)));
        switch (info.DType)
        {
            case SafetensorsDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination); break;
            case SafetensorsDType.F16: TensorTypes.Dequantize(GgmlType.F16, bytes, destination); break;
            case SafetensorsDType.BF16: TensorTypes.Dequantize(GgmlType.BF16, bytes, destination); break;
            case SafetensorsDType.F8E4M3:
            {
                var (sf, si) = checkpoint.Find(name + ScaleSuffix)!.Value;
                var (br, bc) = (fp8BlockSize![0], fp8BlockSize[1]);
                int scaleCols = (int)si.Shape[1];
                Span<float> scaleRow = scaleCols <= 1024 ? stackalloc float[scaleCols] : new float[scaleCols];
                // Rows sharing a block row share one row of scales: each run is dequantized as a one-block-row matrix.
                for (long r = firstRow; r < firstRow + count;)
                {
                    long blockRow = r / br;
                    int n = (int)(Math.Min(firstRow + count, (blockRow + 1) * br) - r);
                    DecodeScales(sf, si, blockRow, scaleRow);
                    int at = (int)((r - firstRow) * cols);
                    Float8E4M3.DequantizeBlockScaled(bytes.Slice(at, (int)(n * cols)), n, (int)cols, scaleRow, n, bc, destination.Slice(at, (int)(n * cols)));
                    r += n;
                }
                break;
            }
            default: throw new InvalidOperationException($"unreachable: {info.DType} was refused by Require");
        }
    }

    // One row of a weight_scale_inv tensor as floats.
    static unsafe void DecodeScales(SafetensorsFile file, SafetensorsTensorInfo info, long row, Span<float> values)
    {
        int size = SafetensorsDTypes.SizeOf(info.DType);
        var bytes = new ReadOnlySpan<byte>(file.GetPointer(info) + row * values.Length * size, values.Length * size);
        switch (info.DType)
        {
            case SafetensorsDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values); break;
            case SafetensorsDType.BF16: TensorTypes.Dequantize(GgmlType.BF16, bytes, values); break;
            case SafetensorsDType.F16: TensorTypes.Dequantize(GgmlType.F16, bytes, values); break;
            default: throw new SafetensorsFormatException(file.Path, info.Name, $"block scales of dtype {SafetensorsDTypes.NameOf(info.DType)} are not supported (F32, BF16 or F16)");
        }
    }

    // DeepSeek-V3's FP8 checkpoint: each [out, in] e4m3 weight has weight_scale_inv [⌈out/128⌉, ⌈in/128⌉]
    // (quantization_config.weight_block_size), and the real weight is the code times its block's scale.
    void RequireScale(string name, SafetensorsFile file, SafetensorsTensorInfo info)
    {
        if (fp8BlockSize is not { Length: 2 } block)
            throw new ModelLoadException(config.Path, $"tensor '{name}' is F8_E4M3 but config.json has no quantization_config with quant_method 'fp8' and a two-number weight_block_size");
        if (info.Shape.Length != 2)
            throw new SafetensorsFormatException(file.Path, name, $"an F8_E4M3 weight must be a matrix, found shape {info.ShapeText}");
        string scaleName = name + ScaleSuffix;
        var (sf, si) = checkpoint.Find(scaleName)
            ?? throw new SafetensorsFormatException(file.Path, name, $"the F8_E4M3 weight has no '{scaleName}' block scales in the checkpoint");
        long[] expected = [(info.Shape[0] + block[0] - 1) / block[0], (info.Shape[1] + block[1] - 1) / block[1]];
        if (!si.Shape.AsSpan().SequenceEqual(expected))
            throw new SafetensorsFormatException(sf.Path, scaleName, $"shape is {si.ShapeText} but a {info.ShapeText} weight in blocks of [{block[0]}, {block[1]}] needs [{expected[0]}, {expected[1]}]");
        _used.Add(scaleName);
    }
}
