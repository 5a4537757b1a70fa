using System.Globalization;
using System.Text;

namespace SeekSharp.Server.Metrics;

/// <summary>A Prometheus histogram: cumulative counts per upper bound, plus sum and count. Thread-safe.</summary>
internal sealed class Histogram(string name, string help, double[] bounds)
{
    readonly long[] _counts = new long[bounds.Length + 1]; // the last is +Inf
    double _sum;
    long _count;

    public string Name { get; } = name;

    public void Observe(double value)
    {
        if (!double.IsFinite(value)) return;
        int bucket = Array.FindIndex(bounds, b => value <= b);
        lock (_counts)
        {
            _counts[bucket < 0 ? bounds.Length : bucket]++;
            _sum += value;
            _count++;
        }
    }

    /// <summary>Observations so far (for tests).</summary>
    public long Count { get { lock (_counts) return _count; } }

    /// <summary>Appends the text exposition (HELP, TYPE, cumulative _bucket lines, _sum, _count) with one label.</summary>
    public void WriteTo(StringBuilder text, string labels)
    {
        long[] counts;
        double sum;
        long count;
        lock (_counts) { counts = (long[])_counts.Clone(); sum = _sum; count = _count; }
        text.Append("# HELP ").Append(Name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(" histogram\n");
        long cumulative = 0;
        for (int i = 0; i <= bounds.Length; i++)
        {
            cumulative += counts[i];
            string le = i < bounds.Length ? bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
            text.Append(Name).Append("_bucket{").Append(labels).Append(",le=\"").Append(le).Append("\"} ")
                .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        text.Append(Name).Append("_sum{").Append(labels).Append("} ").Append(sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        text.Append(Name).Append("_count{").Append(labels).Append("} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
