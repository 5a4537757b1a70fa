using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// Worked traces of the school algorithms, one line per column, so a small model can learn the procedure rather than
/// memorise results. Digits are written one by one, matching a tokenizer that splits digits (qwen2).
/// </summary>
internal static class ColumnArithmetic
{
    static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    static int Digit(long v, int column) => (int)(v / RandomOperands.Pow10(column) % 10);

    static int DigitCount(long v) => v == 0 ? 1 : (int)Math.Floor(Math.Log10(v)) + 1;

    /// <summary>"x + y + carry = s, write d carry c" per column from the right, then the final carry.</summary>
    public static void Addition(StringBuilder sb, long a, long b)
    {
        int columns = Math.Max(DigitCount(a), DigitCount(b));
        int carry = 0;
        for (int col = 0; col < columns; col++)
        {
            int x = Digit(a, col), y = Digit(b, col), s = x + y + carry;
            sb.Append(CultureInfo.InvariantCulture, $"{x} + {y} + {carry} = {s}, write {s % 10} carry {s / 10}\n");
            carry = s / 10;
        }
        if (carry > 0) sb.Append(CultureInfo.InvariantCulture, $"final carry {carry} is the leading digit\n");
        sb.Append(CultureInfo.InvariantCulture, $"{S(a)} + {S(b)} = {S(a + b)}");
    }

    /// <summary>"top - borrow - bottom" per column from the right; a negative column borrows ten. Requires a >= b >= 0.</summary>
    public static void Subtraction(StringBuilder sb, long a, long b)
    {
        int columns = DigitCount(a);
        int borrow = 0;
        for (int col = 0; col < columns; col++)
        {
            int x = Digit(a, col), y = Digit(b, col), d = x - borrow - y;
            if (d >= 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{x} - {borrow} - {y} = {d}, write {d} borrow 0\n");
                borrow = 0;
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"{x} - {borrow} - {y} is negative, {x + 10} - {borrow} - {y} = {d + 10}, write {d + 10} borrow 1\n");
                borrow = 1;
            }
        }
        sb.Append(CultureInfo.InvariantCulture, $"{S(a)} - {S(b)} = {S(a - b)}");
    }

    /// <summary>One partial product a × digit with its carries: "x × digit + carry = p, write d carry c" per column.</summary>
    public static void MultiplyByDigit(StringBuilder sb, long a, int digit)
    {
        int columns = DigitCount(a);
        int carry = 0;
        for (int col = 0; col < columns; col++)
        {
            int x = Digit(a, col), p = x * digit + carry;
            sb.Append(CultureInfo.InvariantCulture, $"{x} × {digit} + {carry} = {p}, write {p % 10} carry {p / 10}\n");
            carry = p / 10;
        }
        if (carry > 0) sb.Append(CultureInfo.InvariantCulture, $"final carry {carry} is the leading digit\n");
        sb.Append(CultureInfo.InvariantCulture, $"{S(a)} × {digit} = {S(a * digit)}");
    }

    /// <summary>Long multiplication: a partial product per digit of b (shifted by its place), then a running column sum.</summary>
    public static void Multiplication(StringBuilder sb, long a, long b)
    {
        int columns = DigitCount(b);
        var partials = new List<long>();
        for (int col = 0; col < columns; col++)
        {
            int digit = Digit(b, col);
            sb.Append(CultureInfo.InvariantCulture, $"digit {digit} of {S(b)}:\n");
            MultiplyByDigit(sb, a, digit);
            long shifted = a * digit * RandomOperands.Pow10(col);
            if (col > 0) sb.Append(CultureInfo.InvariantCulture, $", shifted {col} place{(col > 1 ? "s" : "")}: {S(shifted)}");
            sb.Append('\n');
            partials.Add(shifted);
        }
        long sum = partials[0];
        for (int i = 1; i < partials.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"add {S(sum)} and {S(partials[i])}:\n");
            Addition(sb, sum, partials[i]);
            sb.Append('\n');
            sum += partials[i];
        }
        sb.Append(CultureInfo.InvariantCulture, $"{S(a)} × {S(b)} = {S(a * b)}");
    }
}
