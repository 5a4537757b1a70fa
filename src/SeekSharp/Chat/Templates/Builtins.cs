using System.Globalization;
using System.Text;

namespace SeekSharp.Chat.Templates;

/// <summary>Global functions, is-tests, and the methods of strings, lists and dicts that templates call.</summary>
internal static class Builtins
{
    internal delegate bool Test(Value operand, Value? argument);

    private static readonly Dictionary<string, Test> Tests = new(StringComparer.Ordinal)
    {
        ["boolean"] = (v, _) => v.Kind == ValueKind.Boolean,
        ["callable"] = (v, _) => v is FunctionValue,
        ["odd"] = (v, _) => v is IntegerValue i ? i.Number % 2 != 0 : throw new BuiltinException($"cannot odd on {TemplateJson.KindName(v)}"),
        ["even"] = (v, _) => v is IntegerValue i ? i.Number % 2 == 0 : throw new BuiltinException($"cannot even on {TemplateJson.KindName(v)}"),
        ["false"] = (v, _) => v is BooleanValue { Flag: false },
        ["true"] = (v, _) => v is BooleanValue { Flag: true },
        ["none"] = (v, _) => v is NullValue,
        ["string"] = (v, _) => v is StringValue,
        ["number"] = (v, _) => v is IntegerValue or FloatValue,
        ["integer"] = (v, _) => v is IntegerValue,
        // Exact types, as the reference compares type names: a tuple is not "iterable".
        ["iterable"] = (v, _) => v.Kind is ValueKind.Array or ValueKind.String,
        ["mapping"] = (v, _) => v is ObjectValue,
        ["sequence"] = (v, _) => v is ArrayValue or ObjectValue or StringValue,
        ["lower"] = (v, _) => v is StringValue s && s.Text == s.Text.ToLowerInvariant(),
        ["upper"] = (v, _) => v is StringValue s && s.Text == s.Text.ToUpperInvariant(),
        ["defined"] = (v, _) => v is not UndefinedValue,
        ["undefined"] = (v, _) => v is UndefinedValue,
        ["equalto"] = Equal,
        ["eq"] = Equal,
    };

    private static bool Equal(Value a, Value? b) =>
        b is null ? throw new BuiltinException("the eq test needs a value to compare with") : JsSemantics.StrictEquals(a, b);

    public static bool TryGetTest(string name, out Test test) => Tests.TryGetValue(name, out test!);

    private static readonly string[] ReservedNames = ["namespace", "false", "true", "none", "raise_exception", "range", "strftime_now", "True", "False", "None"];

    public static bool IsReserved(string name) => Array.IndexOf(ReservedNames, name) >= 0;

    /// <summary>The global scope @huggingface/jinja sets up before user variables.</summary>
    public static void AddGlobals(Scope scope, Interpreter interpreter)
    {
        scope.Set("namespace", new FunctionValue("namespace", (args, _) => Namespace(interpreter, args)));
        scope.Set("false", BooleanValue.False);
        scope.Set("true", BooleanValue.True);
        scope.Set("none", NullValue.Instance);
        scope.Set("False", BooleanValue.False);
        scope.Set("True", BooleanValue.True);
        scope.Set("None", NullValue.Instance);
        scope.Set("raise_exception", new FunctionValue("raise_exception", (args, _) =>
            throw new TemplateRaisedException(args.Count > 0 ? JsSemantics.RawToString(args[0], interpreter) : "undefined")));
        scope.Set("range", new FunctionValue("range", (args, _) => Range(interpreter, args)));
        scope.Set("strftime_now", new FunctionValue("strftime_now", (args, _) => StrftimeNow(interpreter, args)));
    }

    private static Value Namespace(Interpreter interp, List<Value> args)
    {
        var positional = new List<Value>(args);
        KeywordArgumentsValue? kwargs = null;
        if (positional.Count > 0 && positional[^1] is KeywordArgumentsValue kw)
        {
            kwargs = kw;
            positional.RemoveAt(positional.Count - 1);
        }
        if (positional.Count > 1) throw new BuiltinException($"namespace expected at most 1 argument, got {positional.Count}");
        var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (positional.Count == 1)
        {
            switch (positional[0])
            {
                case ObjectValue o:
                    interp.ChargeDict(o.Entries.Count);
                    foreach (var pair in o.Entries) entries[pair.Key] = pair.Value;
                    break;
                case ArrayValue a:
                    interp.ChargeDict(a.Items.Count);
                    foreach (var pair in a.Items)
                    {
                        List<Value>? values = pair switch
                        {
                            ArrayValue p => p.Items,
                            StringValue s => [.. interp.CodePoints(s.Text).Select(c => (Value)new StringValue(c))],
                            _ => null,
                        };
                        if (values is not { Count: 2 }) throw new BuiltinException("namespace expected an object or an iterable of [key, value] pairs");
                        if (values[0] is not StringValue key) throw new BuiltinException("namespace keys must be strings");
                        entries[key.Text] = values[1];
                    }
                    break;
                default:
                    throw new BuiltinException($"'{TemplateJson.KindName(positional[0])}' object is not iterable");
            }
        }
        if (kwargs != null)
        {
            interp.ChargeDict(kwargs.Entries.Count);
            foreach (var pair in kwargs.Entries) entries[pair.Key] = pair.Value;
        }
        return new NamespaceValue(entries);
    }

    /// <summary>Python's range() over JavaScript numbers; whole results are integers.</summary>
    private static Value Range(Interpreter interpreter, List<Value> args)
    {
        double Arg(int i) => args[i] switch
        {
            IntegerValue n => n.Number,
            FloatValue f => f.Number,
            BooleanValue b => b.Flag ? 1 : 0,
            var v => throw new BuiltinException($"range() arguments must be numbers, got {TemplateJson.KindName(v)}"),
        };
        if (args.Count == 0) throw new BuiltinException("range expected at least 1 argument");
        double start = 0, stop, step = 1;
        if (args.Count == 1) stop = Arg(0);
        else
        {
            start = Arg(0);
            stop = Arg(1);
            if (args.Count > 2) step = Arg(2);
        }
        if (step == 0) throw new BuiltinException("range() step must not be zero");
        double count = step > 0 ? Math.Ceiling((stop - start) / step) : Math.Ceiling((start - stop) / -step);
        if (double.IsNaN(count) || count < 0) count = 0;
        interpreter.CountIterations(count > long.MaxValue / 2 ? long.MaxValue / 2 : (long)count);
        interpreter.Charge(Interpreter.ListBytes + (long)count * (Interpreter.SlotBytes + Interpreter.ObjectBytes));
        var items = new List<Value>((int)count);
        for (double i = start; step > 0 ? i < stop : i > stop; i += step)
            items.Add(double.IsFinite(i) && Math.Floor(i) == i ? new IntegerValue(i) : new FloatValue(i));
        return new ArrayValue(items);
    }

    // English names, as node's default Intl locale gives them; no culture data is needed (invariant globalization).
    private static readonly string[] MonthNames =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private static Value StrftimeNow(Interpreter interp, List<Value> args)
    {
        if (args.Count == 0 || args[0] is not StringValue format) throw new BuiltinException("strftime_now expects a format string");
        // No directive expands two characters to more than nine ("%B" to "September").
        interp.CheckGrowth(format.Text.Length * 9L / 2 + 1);
        var now = DateTime.Now;
        var sb = new StringBuilder();
        string f = format.Text;
        for (int i = 0; i < f.Length; i++)
        {
            if (f[i] == '%' && i + 1 < f.Length)
            {
                string? part = f[i + 1] switch
                {
                    'Y' => now.Year.ToString(CultureInfo.InvariantCulture),
                    'm' => now.Month.ToString("00", CultureInfo.InvariantCulture),
                    'd' => now.Day.ToString("00", CultureInfo.InvariantCulture),
                    'b' => MonthNames[now.Month - 1][..3],
                    'B' => MonthNames[now.Month - 1],
                    'H' => now.Hour.ToString("00", CultureInfo.InvariantCulture),
                    'M' => now.Minute.ToString("00", CultureInfo.InvariantCulture),
                    '%' => "%",
                    _ => null,
                };
                if (part != null) { sb.Append(part); i++; continue; }
            }
            sb.Append(f[i]);
        }
        return interp.NewString(sb.ToString());
    }

    public static Value? ArrayMember(ArrayValue array, string name) =>
        name == "length" ? new IntegerValue(array.Items.Count) : null;

    public static Value? StringMember(Interpreter interp, StringValue receiver, string name)
    {
        string s = receiver.Text;
        return name switch
        {
            "upper" => Method(name, _ => interp.NewString(s.ToUpperInvariant())),
            "lower" => Method(name, _ => interp.NewString(s.ToLowerInvariant())),
            "strip" => Method(name, _ => interp.NewString(JsSemantics.Trim(s))),
            "title" => Method(name, _ => interp.NewString(TitleCase(s))),
            "capitalize" => Method(name, _ => interp.NewString(Capitalize(s))),
            "length" => new IntegerValue(s.Length),
            "rstrip" => Method(name, _ => interp.NewString(JsSemantics.TrimEnd(s))),
            "lstrip" => Method(name, _ => interp.NewString(JsSemantics.TrimStart(s))),
            "startswith" => Method(name, args => BooleanValue.Of(AffixTest(s, args, name, (x, p) => x.StartsWith(p, StringComparison.Ordinal)))),
            "endswith" => Method(name, args => BooleanValue.Of(AffixTest(s, args, name, (x, p) => x.EndsWith(p, StringComparison.Ordinal)))),
            "split" => Method(name, args => Split(interp, s, args)),
            "replace" => Method(name, args => Replace(interp, s, args)),
            _ => null,
        };
    }

    private static FunctionValue Method(string name, Func<List<Value>, Value> body) => new(name, (args, _) => body(args));

    /// <summary>/\b\w/g uppercased: only the first ASCII word character of each word changes.</summary>
    public static string TitleCase(string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (JsSemantics.IsWordChar(chars[i]) && (i == 0 || !JsSemantics.IsWordChar(chars[i - 1])))
                chars[i] = char.ToUpperInvariant(chars[i]);
        return new string(chars);
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : s[..1].ToUpperInvariant() + s[1..];

    private static bool AffixTest(string s, List<Value> args, string name, Func<string, string, bool> test)
    {
        if (args.Count == 0) throw new BuiltinException($"{name}() requires at least one argument");
        switch (args[0])
        {
            case StringValue p: return test(s, p.Text);
            case ArrayValue tuple:
                foreach (var item in tuple.Items)
                {
                    if (item is not StringValue p) throw new BuiltinException($"{name}() tuple elements must be strings");
                    if (test(s, p.Text)) return true;
                }
                return false;
            default:
                throw new BuiltinException($"{name}() argument must be a string or tuple of strings");
        }
    }

    /// <summary>Python's str.split(sep=None, maxsplit=-1) as the reference implements it.</summary>
    /// <summary>One piece of a split: its string and StringValue, and slots in two lists.</summary>
    private static long PieceBytes(long length) => Interpreter.StringBytes(length) + 2 * Interpreter.SlotBytes;

    private static Value Split(Interpreter interp, string s, List<Value> args)
    {
        var sep = args.Count > 0 ? args[0] : NullValue.Instance;
        if (sep is not (StringValue or NullValue)) throw new BuiltinException("sep argument must be a string or null");
        var maxsplitValue = args.Count > 1 ? args[1] : new IntegerValue(-1);
        if (maxsplitValue is not IntegerValue maxsplitInteger) throw new BuiltinException("maxsplit argument must be a number");
        double maxsplit = maxsplitInteger.Number;
        var result = new List<string>();
        if (sep is NullValue)
        {
            string text = JsSemantics.TrimStart(s);
            int i = 0;
            while (i < text.Length)
            {
                while (i < text.Length && JsSemantics.IsWhitespace(text[i])) i++;
                if (i >= text.Length) break;
                int start = i;
                while (i < text.Length && !JsSemantics.IsWhitespace(text[i])) i++;
                if (maxsplit != -1 && result.Count >= maxsplit)
                {
                    interp.Charge(PieceBytes(text.Length - start));
                    result.Add(text[start..]);
                    break;
                }
                interp.Charge(PieceBytes(i - start));
                result.Add(text[start..i]);
            }
        }
        else
        {
            string separator = ((StringValue)sep).Text;
            if (separator.Length == 0) throw new BuiltinException("empty separator");
            long pieces = 1;
            for (int at = s.IndexOf(separator, StringComparison.Ordinal); at >= 0;
                 at = s.IndexOf(separator, at + separator.Length, StringComparison.Ordinal))
                pieces++;
            interp.Charge(pieces * PieceBytes(0) + 2L * s.Length);
            result.AddRange(s.Split(separator));
            if (maxsplit != -1 && result.Count > maxsplit)
            {
                // Array.prototype.splice(maxsplit): a negative start counts from the end.
                double k = Math.Truncate(maxsplit);
                int from = (int)(k < 0 ? Math.Max(result.Count + k, 0) : Math.Min(k, result.Count));
                interp.ChargeString(s.Length);
                string rest = string.Join(separator, result.Skip(from));
                result.RemoveRange(from, result.Count - from);
                result.Add(rest);
            }
        }
        interp.ChargeList(result.Count);
        return new ArrayValue([.. result.Select(p => (Value)new StringValue(p))]);
    }

    private static Value Replace(Interpreter interp, string s, List<Value> args)
    {
        if (args.Count < 2) throw new BuiltinException("replace() requires at least two arguments");
        if (args[0] is not StringValue oldValue || args[1] is not StringValue newValue)
            throw new BuiltinException("replace() arguments must be strings");
        Value count = NullValue.Instance;
        if (args.Count > 2)
            count = args[2] is KeywordArgumentsValue kw ? kw.Entries.GetValueOrDefault("count") ?? NullValue.Instance : args[2];
        if (count is not (IntegerValue or NullValue)) throw new BuiltinException("replace() count argument must be a number or null");
        double? limit = count is IntegerValue c ? c.Number : null;
        return interp.NewString(ReplaceText(s, oldValue.Text, newValue.Text, limit, interp));
    }

    /// <summary>
    /// Python's str.replace via a Unicode-mode global regex: matches start on code point boundaries, and an empty
    /// pattern inserts between code points.
    /// </summary>
    private static string ReplaceText(string s, string oldValue, string newValue, double? count, Interpreter interp)
    {
        if (count == 0) return s;
        double remaining = count is null || count < 0 ? double.PositiveInfinity : count.Value;
        var sb = new StringBuilder();
        int i = 0;
        while (i <= s.Length)
        {
            bool boundary = i == 0 || i == s.Length || !(char.IsHighSurrogate(s[i - 1]) && char.IsLowSurrogate(s[i]));
            bool match = boundary && remaining > 0 && (oldValue.Length == 0
                || string.CompareOrdinal(s, i, oldValue, 0, oldValue.Length) == 0 && i + oldValue.Length <= s.Length
                   && (i + oldValue.Length == s.Length || !(char.IsHighSurrogate(s[i + oldValue.Length - 1]) && char.IsLowSurrogate(s[i + oldValue.Length]))));
            if (match)
            {
                sb.Append(newValue);
                interp.CheckGrowth(sb.Length);
                remaining--;
                if (oldValue.Length > 0) { i += oldValue.Length; continue; }
            }
            if (i == s.Length) break;
            sb.Append(s[i]);
            i++;
        }
        return sb.ToString();
    }

    public static Value? ObjectMember(Interpreter interp, ObjectValue obj, string name) => name switch
    {
        "get" => new FunctionValue(name, (args, _) =>
        {
            if (args.Count == 0 || args[0] is not StringValue key)
                throw new BuiltinException($"Object key must be a string: got {(args.Count == 0 ? "nothing" : TemplateJson.KindName(args[0]))}");
            return obj.Entries.TryGetValue(key.Text, out var v) ? v : args.Count > 1 ? args[1] : NullValue.Instance;
        }),
        "items" => new FunctionValue(name, (_, _) => Items(interp, obj)),
        "keys" => new FunctionValue(name, (_, _) => new ArrayValue(interp.ObjectKeys(obj))),
        "values" => new FunctionValue(name, (_, _) =>
        {
            interp.ChargeList(obj.Entries.Count);
            return new ArrayValue([.. obj.Entries.Values]);
        }),
        "dictsort" => new FunctionValue(name, (args, _) => DictSort(interp, obj, args)),
        _ => null,
    };

    /// <summary>[key, value] pairs, each a two-slot list with a key StringValue.</summary>
    public static ArrayValue Items(Interpreter interp, ObjectValue obj)
    {
        long count = obj.Entries.Count;
        interp.ChargeList(count);
        interp.Charge(count * (Interpreter.ListBytes + 2 * Interpreter.SlotBytes + Interpreter.ObjectBytes));
        return new([.. obj.Entries.Select(e => (Value)new ArrayValue([new StringValue(e.Key), e.Value]))]);
    }

    private static Value DictSort(Interpreter interp, ObjectValue obj, List<Value> args)
    {
        var kwargs = new OrderedDictionary<string, Value>();
        var positional = new List<Value>();
        foreach (var a in args)
        {
            if (a is KeywordArgumentsValue kw) kwargs = kw.Entries;
            else positional.Add(a);
        }
        var caseSensitive = positional.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("case_sensitive") ?? BooleanValue.False;
        if (caseSensitive is not BooleanValue cs) throw new BuiltinException("case_sensitive must be a boolean");
        var by = positional.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("by") ?? new StringValue("key");
        if (by is not StringValue byText) throw new BuiltinException("by must be a string");
        if (byText.Text is not ("key" or "value")) throw new BuiltinException("by must be either 'key' or 'value'");
        var reverse = positional.ElementAtOrDefault(2) ?? kwargs.GetValueOrDefault("reverse") ?? BooleanValue.False;
        if (reverse is not BooleanValue rev) throw new BuiltinException("reverse must be a boolean");
        int index = byText.Text == "key" ? 0 : 1;
        var items = Items(interp, obj).Items;
        var sorted = StableSort(interp, items, (a, b) =>
        {
            int r = Compare(((ArrayValue)a).Items[index], ((ArrayValue)b).Items[index], cs.Flag);
            return rev.Flag ? -r : r;
        });
        return new ArrayValue(sorted);
    }

    /// <summary>A stable merge sort (Array.prototype.sort is stable); comparison errors propagate unwrapped.</summary>
    public static List<Value> StableSort(Interpreter interp, List<Value> items, Comparison<Value> comparison)
    {
        // Two working arrays and the result list.
        interp.ChargeList(items.Count);
        interp.Charge(2 * Interpreter.SlotBytes * items.Count);
        var a = items.ToArray();
        var buffer = new Value[a.Length];
        for (int width = 1; width < a.Length; width *= 2)
        {
            for (int lo = 0; lo < a.Length; lo += 2 * width)
            {
                int mid = Math.Min(lo + width, a.Length), hi = Math.Min(lo + 2 * width, a.Length);
                int i = lo, j = mid, k = lo;
                while (i < mid && j < hi) buffer[k++] = comparison(a[j], a[i]) < 0 ? a[j++] : a[i++];
                while (i < mid) buffer[k++] = a[i++];
                while (j < hi) buffer[k++] = a[j++];
            }
            (a, buffer) = (buffer, a);
        }
        return [.. a];
    }

    /// <summary>The reference's compareRuntimeValues: numbers and booleans together, strings with each other, nothing else.</summary>
    public static int Compare(Value a, Value b, bool caseSensitive)
    {
        if (a is NullValue && b is NullValue) return 0;
        if (a is NullValue || b is NullValue) throw new BuiltinException($"Cannot compare {TemplateJson.KindName(a)} with {TemplateJson.KindName(b)}");
        if (a is UndefinedValue && b is UndefinedValue) return 0;
        if (a is UndefinedValue || b is UndefinedValue) throw new BuiltinException($"Cannot compare {TemplateJson.KindName(a)} with {TemplateJson.KindName(b)}");
        static bool NumericLike(Value v) => v is IntegerValue or FloatValue or BooleanValue;
        static double N(Value v) => v switch { IntegerValue i => i.Number, FloatValue f => f.Number, _ => ((BooleanValue)v).Flag ? 1 : 0 };
        if (NumericLike(a) && NumericLike(b))
        {
            double x = N(a), y = N(b);
            return x < y ? -1 : x > y ? 1 : 0;
        }
        if (a.Kind != b.Kind) throw new BuiltinException($"Cannot compare different types: {TemplateJson.KindName(a)} and {TemplateJson.KindName(b)}");
        if (a is StringValue sa && b is StringValue sb)
        {
            string x = caseSensitive ? sa.Text : sa.Text.ToLowerInvariant();
            string y = caseSensitive ? sb.Text : sb.Text.ToLowerInvariant();
            return Math.Sign(string.CompareOrdinal(x, y));
        }
        throw new BuiltinException($"Cannot compare type: {TemplateJson.KindName(a)}");
    }
}
