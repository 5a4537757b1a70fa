namespace SeekSharp.Chat;

/// <summary>
/// Passes answer text through until a stop sequence appears, holding back only a tail that could still
/// become one, so that no part of a stop sequence is ever shown.
/// </summary>
internal sealed class StopSequenceFilter(IReadOnlyList<string> stops)
{
    private string _pending = "";

    /// <summary>True once a stop sequence has been seen; nothing more passes.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Returns the text that is certainly not part of a stop sequence.</summary>
    public string Append(string text)
    {
        if (Stopped) return "";
        if (stops.Count == 0) return text;
        string buffer = _pending + text;
        int cut = -1;
        foreach (var s in stops)
        {
            if (s.Length == 0) continue;
            int i = buffer.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            Stopped = true;
            _pending = "";
            return buffer[..cut];
        }
        int hold = 0;
        foreach (var s in stops)
            for (int n = Math.Min(s.Length - 1, buffer.Length); n > hold; n--)
                if (buffer.AsSpan(buffer.Length - n).SequenceEqual(s.AsSpan(0, n))) { hold = n; break; }
        _pending = buffer[(buffer.Length - hold)..];
        return buffer[..(buffer.Length - hold)];
    }

    /// <summary>Releases held-back text at the end of generation.</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }
}
