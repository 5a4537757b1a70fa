using System.Globalization;
using System.Numerics;
using System.Text;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// The JavaScript behaviours @huggingface/jinja inherits and that show up in rendered text: number printing
/// (Number.prototype.toString), the whitespace set of <c>\s</c> and <c>trim()</c>, loose (<c>==</c>) and strict
/// (<c>===</c>) equality on raw values, and truthiness.
/// </summary>
internal static class JsSemantics
{
    /// <summary>JavaScript's <c>\s</c> class and the set <c>String.prototype.trim</c> removes (differs from char.IsWhiteSpace on U+0085 and U+FEFF).</summary>
    public static bool IsWhitespace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00a0' or '\u1680' or '\u2028' or '\u2029' or '\u202f'
            or '\u205f' or '\u3000' or '\ufeff' => true,
        _ => c >= '\u2000' && c <= '\u200a',
    };

    /// <summary>JavaScript's <c>\w</c> without the u flag: ASCII letters, digits and underscore.</summary>
    public static bool IsWordChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    public static bool IsDigit(char c) => c is >= '0' and <= '9';

    public static string Trim(string s) => TrimEnd(TrimStart(s));

    public static string TrimStart(string s)
    {
        int i = 0;
        while (i < s.Length && IsWhitespace(s[i])) i++;
        return i == 0 ? s : s[i..];
    }

    public static string TrimEnd(string s)
    {
        int e = s.Length;
        while (e > 0 && IsWhitespace(s[e - 1])) e--;
        return e == s.Length ? s : s[..e];
    }

    /// <summary>Number.prototype.toString(): shortest round-trip digits laid out by ECMA-262's Number::toString.</summary>
    public static string NumberToString(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        if (d == 0) return "0";
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int ePos = r.IndexOfAny(['E', 'e']);
        string mantissa = ePos >= 0 ? r[..ePos] : r;
        int exp10 = ePos >= 0 ? int.Parse(r.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        int dot = mantissa.IndexOf('.');
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        string digits = intPart + fracPart;
        // value = 0.digits * 10^n
        int n = intPart.Length + exp10;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') { lead++; n--; }
        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0) return "0";
        int k = digits.Length;
        var sb = new StringBuilder(32);
        if (d < 0) sb.Append('-');
        if (k <= n && n <= 21)
            sb.Append(digits).Append('0', n - k);
        else if (0 < n && n <= 21)
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        else if (-6 < n && n <= 0)
            sb.Append("0.").Append('0', -n).Append(digits);
        else
        {
            int e = n - 1;
            sb.Append(digits[0]);
            if (k > 1) sb.Append('.').Append(digits, 1, k - 1);
            sb.Append('e').Append(e >= 0 ? '+' : '-').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Number.prototype.toFixed(1) for an integral value, as FloatValue prints whole numbers ("2.0").</summary>
    private static string ToFixedOne(double d)
    {
        if (Math.Abs(d) >= 1e21) return NumberToString(d);
        return new BigInteger(d).ToString(CultureInfo.InvariantCulture) + ".0";
    }

    /// <summary>
    /// RuntimeValue.toString(): how a value prints inside <c>{{ }}</c> and in array joins. With a
    /// <paramref name="budget"/>, printing a container checks its growth against the render's limits as it goes.
    /// </summary>
    public static string ToDisplayString(Value v, Interpreter? budget = null) => v switch
    {
        IntegerValue i => NumberToString(i.Number),
        FloatValue f => double.IsNegative(f.Number) && f.Number == 0 ? "-0.0"
            : double.IsFinite(f.Number) && Math.Floor(f.Number) == f.Number ? ToFixedOne(f.Number) : NumberToString(f.Number),
        StringValue s => s.Text,
        BooleanValue b => b.Flag ? "true" : "false",
        NullValue => "null",
        UndefinedValue => "undefined",
        ObjectValue or NamespaceValue or ArrayValue => TemplateJson.Serialize(v, TemplateJson.Options.Default, 0, false, budget),
        FunctionValue fn => $"function {fn.Name}",
        _ => throw new InvalidOperationException("unknown value"),
    };

    /// <summary>String(value.value): the raw JavaScript value converted to a string (used by <c>~</c>, <c>+</c> and <c>join</c>).</summary>
    public static string RawToString(Value v, Interpreter? budget = null) => v switch
    {
        IntegerValue i => NumberToString(i.Number),
        FloatValue f => NumberToString(f.Number),
        ArrayValue a => JoinDisplay(a.Items, budget),
        ObjectValue or NamespaceValue => "[object Map]",
        _ => ToDisplayString(v, budget),
    };

    private static string JoinDisplay(List<Value> items, Interpreter? budget)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(ToDisplayString(items[i], budget));
            budget?.CheckGrowth(sb.Length);
        }
        return sb.ToString();
    }

    /// <summary>Python truthiness as @huggingface/jinja's <c>__bool__</c> implements it (a namespace is always true).</summary>
    public static bool IsTruthy(Value v) => v switch
    {
        IntegerValue i => i.Number != 0 && !double.IsNaN(i.Number),
        FloatValue f => f.Number != 0 && !double.IsNaN(f.Number),
        StringValue s => s.Text.Length > 0,
        BooleanValue b => b.Flag,
        NullValue or UndefinedValue => false,
        ObjectValue o => o.Entries.Count > 0,
        ArrayValue a => a.Items.Count > 0,
        _ => true,
    };

    /// <summary>JavaScript <c>!!value.value</c>: containers are always truthy.</summary>
    public static bool IsRawTruthy(Value v) => v switch
    {
        ObjectValue or ArrayValue or NamespaceValue or FunctionValue => true,
        _ => IsTruthy(v),
    };

    private static object? RawIdentity(Value v) => v switch
    {
        ArrayValue a => a.Items,
        ObjectValue o => o.Entries,
        NamespaceValue n => n.Entries,
        _ => v,
    };

    private static bool IsNumber(Value v) => v is IntegerValue or FloatValue;

    private static double Num(Value v) => v is IntegerValue i ? i.Number : ((FloatValue)v).Number;

    private static bool IsReference(Value v) => v is ArrayValue or ObjectValue or NamespaceValue or FunctionValue;

    /// <summary>JavaScript <c>a.value === b.value</c> (used by <c>in</c>, <c>unique</c> and the eq test).</summary>
    public static bool StrictEquals(Value a, Value b)
    {
        if (IsNumber(a) && IsNumber(b)) return Num(a) == Num(b);
        if (a is StringValue sa && b is StringValue sb) return string.Equals(sa.Text, sb.Text, StringComparison.Ordinal);
        if (a is BooleanValue ba && b is BooleanValue bb) return ba.Flag == bb.Flag;
        if (a is NullValue && b is NullValue) return true;
        if (a is UndefinedValue && b is UndefinedValue) return true;
        if (IsReference(a) && IsReference(b)) return ReferenceEquals(RawIdentity(a), RawIdentity(b));
        return false;
    }

    /// <summary>JavaScript <c>a.value == b.value</c> (the template's <c>==</c>): type coercions included.</summary>
    public static bool LooseEquals(Value a, Value b, Interpreter? budget = null)
    {
        while (true)
        {
            if (IsNumber(a) && IsNumber(b) || a.GetType() == b.GetType() && a is not IntegerValue and not FloatValue
                || IsReference(a) && IsReference(b))
                return StrictEquals(a, b);
            bool aNullish = a is NullValue or UndefinedValue, bNullish = b is NullValue or UndefinedValue;
            if (aNullish || bNullish) return aNullish && bNullish;
            if (a is BooleanValue ab) { a = new IntegerValue(ab.Flag ? 1 : 0); continue; }
            if (b is BooleanValue bb) { b = new IntegerValue(bb.Flag ? 1 : 0); continue; }
            if (IsNumber(a) && b is StringValue bs) return Num(a) == StringToNumber(bs.Text);
            if (a is StringValue @as && IsNumber(b)) return StringToNumber(@as.Text) == Num(b);
            if (IsReference(a)) { a = new StringValue(RawToString(a, budget)); continue; }
            if (IsReference(b)) { b = new StringValue(RawToString(b, budget)); continue; }
            return false;
        }
    }

    /// <summary>ECMA-262 StringToNumber (Number("...")).</summary>
    public static double StringToNumber(string s)
    {
        s = Trim(s);
        if (s.Length == 0) return 0;
        if (s is "Infinity" or "+Infinity") return double.PositiveInfinity;
        if (s == "-Infinity") return double.NegativeInfinity;
        if (s.Length > 2 && s[0] == '0' && (s[1] | 0x20) is 'x' or 'o' or 'b')
        {
            int radix = (s[1] | 0x20) switch { 'x' => 16, 'o' => 8, _ => 2 };
            double acc = 0;
            for (int i = 2; i < s.Length; i++)
            {
                int digit = HexDigit(s[i]);
                if (digit < 0 || digit >= radix) return double.NaN;
                acc = acc * radix + digit;
            }
            return acc;
        }
        int p = 0;
        if (s[p] is '+' or '-') p++;
        int digitsBefore = 0, digitsAfter = 0;
        while (p < s.Length && IsDigit(s[p])) { p++; digitsBefore++; }
        if (p < s.Length && s[p] == '.') { p++; while (p < s.Length && IsDigit(s[p])) { p++; digitsAfter++; } }
        if (digitsBefore + digitsAfter == 0) return double.NaN;
        if (p < s.Length && (s[p] | 0x20) == 'e')
        {
            p++;
            if (p < s.Length && s[p] is '+' or '-') p++;
            int expDigits = 0;
            while (p < s.Length && IsDigit(s[p])) { p++; expDigits++; }
            if (expDigits == 0) return double.NaN;
        }
        if (p != s.Length) return double.NaN;
        return double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>parseInt(s, 10): leading whitespace, optional sign, then the longest run of digits; NaN if none.</summary>
    public static double ParseInt(string s)
    {
        s = TrimStart(s);
        int p = 0;
        bool negative = false;
        if (p < s.Length && s[p] is '+' or '-') { negative = s[p] == '-'; p++; }
        int start = p;
        while (p < s.Length && IsDigit(s[p])) p++;
        if (p == start) return double.NaN;
        double v = double.Parse(s.AsSpan(start, p - start), NumberStyles.None, CultureInfo.InvariantCulture);
        return negative ? -v : v;
    }

    /// <summary>parseFloat(s): the longest prefix that is a decimal literal (or Infinity); NaN if none.</summary>
    public static double ParseFloat(string s)
    {
        s = TrimStart(s);
        int p = 0;
        if (p < s.Length && s[p] is '+' or '-') p++;
        if (string.CompareOrdinal(s, p, "Infinity", 0, 8) == 0)
            return s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
        int mantissaStart = p, digits = 0;
        while (p < s.Length && IsDigit(s[p])) { p++; digits++; }
        if (p < s.Length && s[p] == '.')
        {
            int q = p + 1, frac = 0;
            while (q < s.Length && IsDigit(s[q])) { q++; frac++; }
            if (digits + frac > 0) { p = q; digits += frac; }
        }
        if (digits == 0) return double.NaN;
        if (p < s.Length && (s[p] | 0x20) == 'e')
        {
            int q = p + 1;
            if (q < s.Length && s[q] is '+' or '-') q++;
            int expStart = q;
            while (q < s.Length && IsDigit(s[q])) q++;
            if (q > expStart) p = q;
        }
        _ = mantissaStart;
        string literal = s[..p];
        if (literal.EndsWith('.')) literal = literal[..^1];
        return double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Array.from(string): the string's code points (a surrogate pair stays together).</summary>
    public static List<string> CodePoints(string s)
    {
        var list = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                list.Add(s.Substring(i, 2));
                i++;
            }
            else list.Add(s[i].ToString());
        }
        return list;
    }
}
