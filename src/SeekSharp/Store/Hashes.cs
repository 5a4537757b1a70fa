using System.Security.Cryptography;

namespace SeekSharp.Store;

/// <summary>SHA-256 in the form sources publish it: 64 lower-case hex digits.</summary>
internal static class Hashes
{
    public static bool IsSha256(string? text) => text is { Length: 64 } && text.All(Uri.IsHexDigit);

    public static string Sha256OfFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
