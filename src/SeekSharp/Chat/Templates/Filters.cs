using System.Text;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// The filters, with the reference's dispatch: a bare filter name and a called filter (<c>x|f</c> vs <c>x|f(...)</c>)
/// are separate tables, and what a filter accepts depends on the operand's type.
/// </summary>
internal static class Filters
{
    public static Value Apply(Interpreter interp, Value operand, Node filterNode, Scope scope)
    {
        try
        {
            return filterNode switch
            {
                Identifier id => ApplyBare(interp, operand, id.Name, scope),
                CallExpression { Callee: Identifier callee } call => ApplyCall(interp, operand, callee.Name, call, scope),
                _ => throw new BuiltinException("Unknown filter expression"),
            };
        }
        catch (BuiltinException e)
        {
            throw interp.Error(filterNode, e.Message);
        }
    }

    private static BuiltinException Unknown(Value operand, string name) =>
        new($"Unknown {TemplateJson.KindName(operand)} filter: {name}");

    private static Value ApplyBare(Interpreter interp, Value operand, string name, Scope scope)
    {
        if (name == "safe") return operand;
        if (name == "tojson") return interp.NewString(TemplateJson.Serialize(operand, TemplateJson.Options.Default, 0, true, interp));

        switch (operand)
        {
            case ArrayValue array:
                var items = array.Items;
                switch (name)
                {
                    case "list": return operand;
                    // On an empty list the reference yields a raw JavaScript undefined that fails wherever it is used.
                    case "first": return items.Count > 0 ? items[0] : throw new BuiltinException("first of an empty list");
                    case "last": return items.Count > 0 ? items[^1] : throw new BuiltinException("last of an empty list");
                    case "length": return new IntegerValue(items.Count);
                    case "reverse":
                        interp.ChargeList(items.Count);
                        return new ArrayValue(Enumerable.Reverse(items).ToList());
                    case "sort": return new ArrayValue(Builtins.StableSort(interp, items, (a, b) => Builtins.Compare(a, b, false)));
                    case "join": return interp.NewString(Join(interp, items, ""));
                    case "string": return interp.NewString(TemplateJson.Serialize(operand, TemplateJson.Options.Default, 0, false, interp));
                    case "unique":
                    {
                        var output = new List<Value>();
                        foreach (var item in items)
                        {
                            bool seen = false;
                            foreach (var kept in output)
                                if (SameValueZero(kept, item)) { seen = true; break; }
                            if (!seen) output.Add(item);
                        }
                        interp.ChargeList(output.Count);
                        return new ArrayValue(output);
                    }
                }
                throw Unknown(operand, name);
            case StringValue str:
                string s = str.Text;
                switch (name)
                {
                    case "length": return new IntegerValue(s.Length);
                    case "upper": return interp.NewString(s.ToUpperInvariant());
                    case "lower": return interp.NewString(s.ToLowerInvariant());
                    case "title": return interp.NewString(Builtins.TitleCase(s));
                    case "capitalize": return interp.NewString(Builtins.Capitalize(s));
                    case "trim": return interp.NewString(JsSemantics.Trim(s));
                    case "indent": return interp.NewString(Indent(interp, s, 4, false, false));
                    case "join":
                    case "string": return operand;
                    case "int": { double v = JsSemantics.ParseInt(s); return new IntegerValue(double.IsNaN(v) ? 0 : v); }
                    case "float": { double v = JsSemantics.ParseFloat(s); return new FloatValue(double.IsNaN(v) ? 0 : v); }
                }
                throw Unknown(operand, name);
            case IntegerValue or FloatValue:
            {
                double v = operand is IntegerValue i ? i.Number : ((FloatValue)operand).Number;
                switch (name)
                {
                    case "abs": return operand is IntegerValue ? new IntegerValue(Math.Abs(v)) : new FloatValue(Math.Abs(v));
                    case "int": return new IntegerValue(Math.Floor(v));
                    case "float": return new FloatValue(v);
                    case "string": return interp.NewString(JsSemantics.ToDisplayString(operand));
                }
                throw new BuiltinException($"Unknown NumericValue filter: {name}");
            }
            case ObjectValue obj:
                switch (name)
                {
                    case "items": return Builtins.Items(interp, obj);
                    case "length": return new IntegerValue(obj.Entries.Count);
                }
                var builtin = Builtins.ObjectMember(interp, obj, name);
                if (builtin is FunctionValue fn) return fn.Invoke([], scope);
                if (builtin != null) return builtin;
                throw Unknown(operand, name);
            case BooleanValue b:
                switch (name)
                {
                    case "bool": return b;
                    case "int": return new IntegerValue(b.Flag ? 1 : 0);
                    case "float": return new FloatValue(b.Flag ? 1 : 0);
                    case "string": return new StringValue(b.Flag ? "true" : "false");
                }
                throw Unknown(operand, name);
        }
        throw new BuiltinException($"Cannot apply filter \"{name}\" to type: {TemplateJson.KindName(operand)}");
    }

    private static Value ApplyCall(Interpreter interp, Value operand, string name, CallExpression filter, Scope scope)
    {
        switch (name)
        {
            case "tojson":
            {
                var (_, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                var indent = kwargs.GetValueOrDefault("indent") ?? NullValue.Instance;
                if (indent is not (IntegerValue or NullValue)) throw new BuiltinException("If set, indent must be a number");
                var ensureAscii = kwargs.GetValueOrDefault("ensure_ascii") ?? BooleanValue.False;
                if (ensureAscii is not BooleanValue ascii) throw new BuiltinException("If set, ensure_ascii must be a boolean");
                var sortKeys = kwargs.GetValueOrDefault("sort_keys") ?? BooleanValue.False;
                if (sortKeys is not BooleanValue sort) throw new BuiltinException("If set, sort_keys must be a boolean");
                var separators = kwargs.GetValueOrDefault("separators") ?? NullValue.Instance;
                string? itemSeparator = null, keySeparator = null;
                if (separators is ArrayValue pair)
                {
                    if (pair.Items.Count != 2 || pair.Items[0] is not StringValue a || pair.Items[1] is not StringValue b)
                        throw new BuiltinException("separators must be a tuple of two strings");
                    (itemSeparator, keySeparator) = (a.Text, b.Text);
                }
                else if (separators is not NullValue) throw new BuiltinException("If set, separators must be a tuple of two strings");
                var options = new TemplateJson.Options(indent is IntegerValue n ? n.Number : null, ascii.Flag, itemSeparator, keySeparator, sort.Flag);
                return interp.NewString(TemplateJson.Serialize(operand, options, 0, true, interp));
            }
            case "join":
            {
                List<Value> values = operand switch
                {
                    StringValue s => [.. interp.CodePoints(s.Text).Select(c => (Value)new StringValue(c))],
                    ArrayValue a => a.Items,
                    _ => throw new BuiltinException($"Cannot apply filter \"join\" to type: {TemplateJson.KindName(operand)}"),
                };
                var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                var separator = args.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("separator") ?? StringValue.Empty;
                if (separator is not StringValue sep) throw new BuiltinException("separator must be a string");
                return interp.NewString(Join(interp, values, sep.Text));
            }
            case "int":
            case "float":
            {
                var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                var defaultValue = args.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("default")
                    ?? (name == "int" ? new IntegerValue(0) : new FloatValue(0));
                switch (operand)
                {
                    case StringValue s:
                    {
                        double v = name == "int" ? JsSemantics.ParseInt(s.Text) : JsSemantics.ParseFloat(s.Text);
                        return double.IsNaN(v) ? defaultValue : name == "int" ? new IntegerValue(v) : new FloatValue(v);
                    }
                    case IntegerValue or FloatValue: return operand;
                    case BooleanValue b: return name == "int" ? new IntegerValue(b.Flag ? 1 : 0) : new FloatValue(b.Flag ? 1 : 0);
                }
                throw new BuiltinException($"Cannot apply filter \"{name}\" to type: {TemplateJson.KindName(operand)}");
            }
            case "default":
            {
                var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                var defaultValue = args.ElementAtOrDefault(0) ?? StringValue.Empty;
                var boolean = args.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("boolean") ?? BooleanValue.False;
                if (boolean is not BooleanValue flag) throw new BuiltinException("`default` filter flag must be a boolean");
                return operand is UndefinedValue || flag.Flag && !JsSemantics.IsTruthy(operand) ? defaultValue : operand;
            }
        }

        switch (operand)
        {
            case ArrayValue array:
                switch (name)
                {
                    case "sort": return Sort(interp, array, filter, scope);
                    case "selectattr":
                    case "rejectattr": return SelectAttr(interp, array, name, filter, scope);
                    case "map": return MapAttribute(interp, array, filter, scope);
                }
                throw Unknown(operand, name);
            case StringValue str:
                switch (name)
                {
                    case "indent":
                    {
                        var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                        var width = args.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("width") ?? new IntegerValue(4);
                        if (width is not IntegerValue w) throw new BuiltinException("width must be a number");
                        var first = args.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("first") ?? BooleanValue.False;
                        var blank = args.ElementAtOrDefault(2) ?? kwargs.GetValueOrDefault("blank") ?? BooleanValue.False;
                        return interp.NewString(Indent(interp, str.Text, w.Number, JsSemantics.IsRawTruthy(first), JsSemantics.IsRawTruthy(blank)));
                    }
                    case "replace":
                    {
                        var replace = (FunctionValue)Builtins.StringMember(interp, str, "replace")!;
                        var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                        args.Add(new KeywordArgumentsValue(kwargs));
                        return replace.Invoke(args, scope);
                    }
                }
                throw Unknown(operand, name);
            case ObjectValue obj:
            {
                if (Builtins.ObjectMember(interp, obj, name) is FunctionValue fn)
                {
                    var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
                    if (kwargs.Count > 0) args.Add(new KeywordArgumentsValue(kwargs));
                    return fn.Invoke(args, scope);
                }
                throw Unknown(operand, name);
            }
        }
        throw new BuiltinException($"Cannot apply filter \"{name}\" to type: {TemplateJson.KindName(operand)}");
    }

    /// <summary>Array.prototype.join over raw values: null and undefined become empty, numbers print without ".0".</summary>
    private static string Join(Interpreter interp, List<Value> values, string separator)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0) sb.Append(separator);
            if (values[i] is not (NullValue or UndefinedValue)) sb.Append(JsSemantics.RawToString(values[i], interp));
            interp.CheckGrowth(sb.Length);
        }
        return sb.ToString();
    }

    private static bool SameValueZero(Value a, Value b) =>
        a is IntegerValue or FloatValue && b is IntegerValue or FloatValue
            ? JsSemantics.StrictEquals(a, b) || double.IsNaN(Num(a)) && double.IsNaN(Num(b))
            : JsSemantics.StrictEquals(a, b);

    private static double Num(Value v) => v is IntegerValue i ? i.Number : ((FloatValue)v).Number;

    private static string Indent(Interpreter interp, string s, double width, bool first, bool blank)
    {
        int w = double.IsNaN(width) || width < 0 ? 0 : (int)Math.Min(width, int.MaxValue);
        long lineCount = s.AsSpan().Count('\n') + 1;
        // The result, plus the split lines, their indented copies and the array holding them, before any is built.
        long length = s.Length + (long)w * lineCount;
        interp.CheckGrowth(length);
        interp.Charge(2 * length + lineCount * (Interpreter.SlotBytes + 2 * Interpreter.ObjectBytes));
        var lines = s.Split('\n');
        string indent = new(' ', w);
        for (int i = 0; i < lines.Length; i++)
            if (!((!first && i == 0) || (!blank && lines[i].Length == 0)))
                lines[i] = indent + lines[i];
        return string.Join('\n', lines);
    }

    private static Value Sort(Interpreter interp, ArrayValue array, CallExpression filter, Scope scope)
    {
        var (args, kwargs) = interp.EvaluateArguments(filter.Args, scope);
        var reverse = args.ElementAtOrDefault(0) ?? kwargs.GetValueOrDefault("reverse") ?? BooleanValue.False;
        if (reverse is not BooleanValue rev) throw new BuiltinException("reverse must be a boolean");
        var caseSensitive = args.ElementAtOrDefault(1) ?? kwargs.GetValueOrDefault("case_sensitive") ?? BooleanValue.False;
        if (caseSensitive is not BooleanValue cs) throw new BuiltinException("case_sensitive must be a boolean");
        var attribute = args.ElementAtOrDefault(2) ?? kwargs.GetValueOrDefault("attribute") ?? NullValue.Instance;
        if (attribute is not (StringValue or IntegerValue or NullValue)) throw new BuiltinException("attribute must be a string, integer, or null");
        Value Key(Value item) => attribute switch
        {
            NullValue => item,
            IntegerValue i => AttributePath(item, JsSemantics.NumberToString(i.Number)),
            _ => AttributePath(item, ((StringValue)attribute).Text),
        };
        return new ArrayValue(Builtins.StableSort(interp, array.Items, (a, b) =>
        {
            int r = Builtins.Compare(Key(a), Key(b), cs.Flag);
            return rev.Flag ? -r : r;
        }));
    }

    /// <summary>A dotted attribute path ("details.priority", "items.0") into dicts, namespaces and lists.</summary>
    private static Value AttributePath(Value item, string path)
    {
        var value = item;
        foreach (var part in path.Split('.'))
        {
            switch (value)
            {
                case ObjectValue o: value = o.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance; break;
                case NamespaceValue n: value = n.Entries.GetValueOrDefault(part) ?? UndefinedValue.Instance; break;
                case ArrayValue a:
                {
                    double index = JsSemantics.ParseInt(part);
                    if (!double.IsNaN(index) && index >= 0 && index < a.Items.Count) value = a.Items[(int)index];
                    else return UndefinedValue.Instance;
                    break;
                }
                default: return UndefinedValue.Instance;
            }
        }
        return value;
    }

    private static OrderedDictionary<string, Value>? Attributes(Value v) => v switch
    {
        ObjectValue o => o.Entries,
        NamespaceValue n => n.Entries,
        _ => null,
    };

    private static Value SelectAttr(Interpreter interp, ArrayValue array, string name, CallExpression filter, Scope scope)
    {
        bool select = name == "selectattr";
        if (array.Items.Any(item => Attributes(item) == null)) throw new BuiltinException($"`{name}` can only be applied to array of objects");
        if (filter.Args.Any(a => a is not StringLiteral)) throw new BuiltinException($"arguments of `{name}` must be strings");
        var args = filter.Args.Select(a => ((StringLiteral)a).Value).ToList();
        if (args.Count == 0) throw new BuiltinException($"`{name}` needs an attribute name");
        Value? testArgument = args.Count > 2 ? new StringValue(args[2]) : null;
        Builtins.Test test;
        if (args.Count > 1)
        {
            if (!Builtins.TryGetTest(args[1], out test)) throw new BuiltinException($"Unknown test: {args[1]}");
        }
        else test = (v, _) => JsSemantics.IsTruthy(v);
        var result = new List<Value>();
        foreach (var item in array.Items)
        {
            bool passed = Attributes(item)!.TryGetValue(args[0], out var a) && test(a, testArgument);
            if (passed == select) result.Add(item);
        }
        interp.ChargeList(result.Count);
        return new ArrayValue(result);
    }

    private static Value MapAttribute(Interpreter interp, ArrayValue array, CallExpression filter, Scope scope)
    {
        var (_, kwargs) = interp.EvaluateArguments(filter.Args, scope);
        if (!kwargs.TryGetValue("attribute", out var attribute))
            throw new BuiltinException("`map` expressions without `attribute` set are not currently supported.");
        if (attribute is not StringValue path) throw new BuiltinException("attribute must be a string");
        var defaultValue = kwargs.GetValueOrDefault("default");
        interp.ChargeList(array.Items.Count);
        var mapped = new List<Value>(array.Items.Count);
        foreach (var item in array.Items)
        {
            if (Attributes(item) == null) throw new BuiltinException("items in map must be an object");
            var value = AttributePath(item, path.Text);
            mapped.Add(value is UndefinedValue ? defaultValue ?? UndefinedValue.Instance : value);
        }
        return new ArrayValue(mapped);
    }
}
