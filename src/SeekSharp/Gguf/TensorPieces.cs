namespace SeekSharp.Gguf;

/// <summary>
/// Writes a tensor's data to a stream a piece at a time, so that producing a tensor of any size (a stacked
/// DeepSeek-V3 expert tensor is 7.5 GB in BF16) holds only one piece: encoded tensors are computed in pieces of whole
/// rows, each piece split into work items of whole rows encoded in parallel (every ggml type encodes rows
/// independently, so the bytes do not depend on where the pieces fall), and mapped bytes are copied through spans
/// of bounded length.
/// </summary>
internal static unsafe class TensorPieces
{
    /// <summary>
    /// Encodes <paramref name="rows"/> rows starting at <paramref name="firstRow"/> into <paramref name="destination"/>
    /// (rows × the row's encoded bytes), using <paramref name="scratch"/> (rows × columns floats) as it likes.
    /// Returns false to stop the tensor (e.g. a non-finite weight was found and recorded by the caller).
    /// </summary>
    public delegate bool EncodeRows(long firstRow, int rows, Span<float> scratch, Span<byte> destination);

    /// <summary>Floats a work item decodes at most (unless one row is longer): enough to amortise scheduling, small enough to balance.</summary>
    /// <remarks>Settable by tests so that small tensors take many pieces; nothing else writes it.</remarks>
    internal static int WorkItemElements = 1 << 18;

    /// <summary>Bytes copied per span from a mapping: spans take int lengths, tensors need not fit one.</summary>
    /// <remarks>Settable by tests to stand for the 2 GiB span limit on small tensors; nothing else writes it.</remarks>
    internal static int MaxCopyBytes = 1 << 24;

    /// <summary>
    /// Writes the <paramref name="rows"/> × <paramref name="rowBytes"/> bytes of a tensor with rows of
    /// <paramref name="columns"/> elements, encoding them piece by piece with <paramref name="encode"/>.
    /// Returns false, having written only the pieces before it, if <paramref name="encode"/> stopped the tensor.
    /// Memory held: one piece (work items × (their floats + their bytes)), whatever the tensor's size.
    /// </summary>
    public static bool Write(Stream output, long rows, long columns, long rowBytes, EncodeRows encode, CancellationToken cancellationToken = default)
    {
        int rowsPerItem = (int)Math.Clamp(WorkItemElements / columns, 1, rows);
        // Twice the cores: the work items of a piece balance across them while the piece stays a few MB.
        int itemsPerPiece = (int)Math.Min(2L * Environment.ProcessorCount, (rows + rowsPerItem - 1) / rowsPerItem);
        long rowsPerPiece = (long)rowsPerItem * itemsPerPiece;
        var scratch = new float[itemsPerPiece][];
        for (int i = 0; i < itemsPerPiece; i++) scratch[i] = new float[checked(rowsPerItem * (int)columns)];
        var piece = new byte[checked(rowsPerPiece * rowBytes)];
        var options = new ParallelOptions { CancellationToken = cancellationToken };

        for (long first = 0; first < rows; first += rowsPerPiece)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long pieceRows = Math.Min(rowsPerPiece, rows - first);
            int items = (int)((pieceRows + rowsPerItem - 1) / rowsPerItem);
            long pieceFirst = first;
            var result = Parallel.For(0, items, options, (i, loop) =>
            {
                long itemFirst = pieceFirst + (long)i * rowsPerItem;
                int n = (int)Math.Min(rowsPerItem, pieceFirst + pieceRows - itemFirst);
                var floats = scratch[i].AsSpan(0, n * (int)columns);
                var bytes = piece.AsSpan((int)((long)i * rowsPerItem * rowBytes), (int)(n * rowBytes));
                if (!encode(itemFirst, n, floats, bytes)) loop.Break();
            });
            if (!result.IsCompleted) return false;
            output.Write(piece, 0, (int)(pieceRows * rowBytes));
        }
        return true;
    }

    /// <summary>Copies <paramref name="byteCount"/> bytes from <paramref name="source"/> (a mapping) to <paramref name="output"/> in spans of bounded length.</summary>
    public static void Copy(Stream output, byte* source, long byteCount, CancellationToken cancellationToken = default)
    {
        for (long done = 0; done < byteCount;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = (int)Math.Min(MaxCopyBytes, byteCount - done);
            output.Write(new ReadOnlySpan<byte>(source + done, n));
            done += n;
        }
    }
}
