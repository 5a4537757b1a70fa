using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace SeekSharp.IO;

/// <summary>
/// Read-only bytes that stay at one address until disposed: a whole file mapped into memory, or a pinned array (tests,
/// tools). GGUF and safetensors files serve their tensors straight from here, never copying them.
/// </summary>
internal sealed unsafe class MappedMemory : IDisposable
{
    // Exactly one owner keeps Pointer valid: a file mapping with its view, or a pinned array.
    MemoryMappedFile? _mapping;
    MemoryMappedViewAccessor? _view;
    GCHandle _pin;

    MappedMemory(byte* pointer, long length, MemoryMappedFile? mapping, MemoryMappedViewAccessor? view, GCHandle pin)
    {
        Pointer = pointer;
        Length = length;
        _mapping = mapping;
        _view = view;
        _pin = pin;
    }

    /// <summary>The first byte; null once disposed.</summary>
    public byte* Pointer { get; private set; }

    /// <summary>Number of bytes.</summary>
    public long Length { get; }

    /// <summary>
    /// Maps <paramref name="path"/> read-only. A file shorter than <paramref name="minLength"/> bytes (at least 1: an
    /// empty file cannot be mapped at all) is refused before mapping with the exception <paramref name="tooShort"/>
    /// makes of its length, so that each format words the error its own way.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static MappedMemory Map(string path, long minLength, Func<long, Exception> tooShort)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = stream.Length;
        if (length < Math.Max(1, minLength))
        {
            stream.Dispose();
            throw tooShort(length);
        }
        MemoryMappedFile? mapping = null;
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            acquired = true;
            return new MappedMemory(p + view.PointerOffset, length, mapping, view, default);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            if (mapping is not null) mapping.Dispose(); else stream.Dispose();
            throw;
        }
    }

    /// <summary>Pins <paramref name="bytes"/> in place (no copy) until disposed.</summary>
    public static MappedMemory Pin(byte[] bytes)
    {
        var pin = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        return new MappedMemory((byte*)pin.AddrOfPinnedObject(), bytes.Length, null, null, pin);
    }

    /// <summary>
    /// Tells the system that the mapped file's pages within [<paramref name="start"/>, + <paramref name="length"/>) will not
    /// be read for a while (Linux <c>madvise(MADV_DONTNEED)</c> on the whole pages inside the range), so they stop counting
    /// in the process's memory; they stay in the page cache, and a later read maps them back from the file. Nothing for a
    /// pinned array or elsewhere than Linux.
    /// </summary>
    public void Release(byte* start, long length)
    {
        if (_mapping is null || !OperatingSystem.IsLinux() || Pointer == null) return;
        const long page = 4096;
        long from = ((long)start + page - 1) & ~(page - 1), to = ((long)start + length) & ~(page - 1);
        if (from < (long)Pointer || to > (long)Pointer + Length || to <= from) return;
        _ = madvise((nint)from, (nuint)(to - from), MadviseDontNeed);   // advice only: a refusal changes nothing but memory use
    }

    private const int MadviseDontNeed = 4;

    [DllImport("libc", SetLastError = true)]
    private static extern int madvise(nint address, nuint length, int advice);

    /// <summary>Unmaps the file or unpins the array. Pointers into it must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Pointer == null) return;
        Pointer = null;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _view = null;
        }
        _mapping?.Dispose();
        _mapping = null;
        if (_pin.IsAllocated) _pin.Free();
    }
}
