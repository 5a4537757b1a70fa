namespace SeekSharp.Chat.Templates;

// Expression evaluation: literals, names, member access and slicing, calls, operators, tests, conditionals.
internal sealed partial class Interpreter
{
    internal Value Eval(Node node, Scope scope)
    {
        EnsureStack();
        switch (node)
        {
            case StringLiteral s: return new StringValue(s.Value);
            case IntegerLiteral i: return new IntegerValue(i.Value);
            case FloatLiteral f: return new FloatValue(f.Value);
            case Identifier id: return scope.Lookup(id.Name);
            case MemberExpression member: return EvalMember(member, scope);
            case CallExpression call: return EvalCall(call, scope);
            case BinaryExpression binary: return EvalBinary(binary, scope);
            case UnaryExpression unary: return EvalUnary(unary, scope);
            case FilterExpression filter: return Filters.Apply(this, Eval(filter.Operand, scope), filter.Filter, scope);
            case TestExpression test: return EvalTest(test, scope);
            case SelectExpression select:
                return JsSemantics.IsTruthy(Eval(select.Test, scope)) ? Eval(select.Lhs, scope) : UndefinedValue.Instance;
            case TernaryExpression ternary:
                return Eval(JsSemantics.IsTruthy(Eval(ternary.Condition, scope)) ? ternary.WhenTrue : ternary.WhenFalse, scope);
            case ArrayLiteral array:
            {
                // Each slot as if it held a fresh small object: literals are how uncharged temporaries could accumulate.
                ChargeList(array.Items.Count);
                Charge(ObjectBytes * array.Items.Count);
                var items = new List<Value>(array.Items.Count);
                foreach (var item in array.Items) items.Add(Eval(item, scope));
                return new ArrayValue(items);
            }
            case TupleLiteral tuple:
            {
                ChargeList(tuple.Items.Count);
                Charge(ObjectBytes * tuple.Items.Count);
                var items = new List<Value>(tuple.Items.Count);
                foreach (var item in tuple.Items) items.Add(Eval(item, scope));
                return new TupleValue(items);
            }
            case ObjectLiteral obj:
            {
                ChargeDict(obj.Entries.Count);
                Charge(ObjectBytes * obj.Entries.Count);
                var entries = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
                foreach (var (keyNode, valueNode) in obj.Entries)
                {
                    var key = Eval(keyNode, scope);
                    if (key is not StringValue k) throw Error(keyNode, $"Object keys must be strings: got {TemplateJson.KindName(key)}");
                    entries[k.Text] = Eval(valueNode, scope);
                }
                return new ObjectValue(entries);
            }
            default:
                throw Error(node, $"Unexpected {node.GetType().Name} in an expression");
        }
    }

    private Value EvalCall(CallExpression call, Scope scope)
    {
        var (args, kwargs) = EvaluateArguments(call.Args, scope);
        if (kwargs.Count > 0) args.Add(new KeywordArgumentsValue(kwargs));
        var fn = Eval(call.Callee, scope);
        if (fn is not FunctionValue function)
            throw Error(call, $"Cannot call something that is not a function: got {TemplateJson.KindName(fn)}");
        try
        {
            return function.Invoke(args, scope);
        }
        catch (BuiltinException e)
        {
            throw Error(call, e.Message);
        }
    }

    /// <summary>Array.prototype.at / String.prototype.at: integer conversion, negative from the end, undefined outside.</summary>
    private static int? RelativeIndex(double index, int length)
    {
        double k = double.IsNaN(index) ? 0 : Math.Truncate(index);
        if (k < 0) k += length;
        return k >= 0 && k < length ? (int)k : null;
    }

    private Value EvalMember(MemberExpression expr, Scope scope)
    {
        var obj = Eval(expr.Object, scope);
        Value property;
        if (expr.Computed)
        {
            if (expr.Property is SliceExpression slice) return EvalSlice(obj, slice, scope);
            property = Eval(expr.Property, scope);
        }
        else if (expr.Property is IntegerLiteral integer) property = new IntegerValue(integer.Value);
        else property = new StringValue(((Identifier)expr.Property).Name);

        Value? value;
        switch (obj)
        {
            case ObjectValue or NamespaceValue:
            {
                if (property is not StringValue key)
                    throw Error(expr, $"Cannot access property with non-string: got {TemplateJson.KindName(property)}");
                var entries = obj is ObjectValue o ? o.Entries : ((NamespaceValue)obj).Entries;
                value = entries.TryGetValue(key.Text, out var found) ? found
                    : obj is ObjectValue ov ? Builtins.ObjectMember(this, ov, key.Text) : null;
                break;
            }
            case ArrayValue or StringValue:
                if (property is IntegerValue index)
                {
                    if (obj is StringValue str)
                    {
                        int? at = RelativeIndex(index.Number, str.Text.Length);
                        value = at is int k ? new StringValue(str.Text[k].ToString()) : null;
                    }
                    else
                    {
                        var items = ((ArrayValue)obj).Items;
                        int? at = RelativeIndex(index.Number, items.Count);
                        value = at is int k ? items[k] : null;
                    }
                }
                else if (property is StringValue name)
                    value = obj is StringValue s ? Builtins.StringMember(this, s, name.Text) : Builtins.ArrayMember((ArrayValue)obj, name.Text);
                else
                    throw Error(expr, $"Cannot access property with non-string/non-number: got {TemplateJson.KindName(property)}");
                break;
            default:
                if (property is not StringValue)
                    throw Error(expr, $"Cannot access property with non-string: got {TemplateJson.KindName(property)}");
                value = null;
                break;
        }
        // A bound string or dict method is a closure: charged, so keeping many of them in lists costs what it holds.
        if (value is FunctionValue) Charge(CallBytes / 4);
        return value ?? UndefinedValue.Instance;
    }

    private Value EvalSlice(Value obj, SliceExpression expr, Scope scope)
    {
        if (obj is not (ArrayValue or StringValue)) throw Error(expr, "Slice object must be an array or string");
        double? Bound(Node? n, string what)
        {
            if (n == null) return null;
            var v = Eval(n, scope);
            return v switch
            {
                IntegerValue i => i.Number,
                UndefinedValue => null,
                _ => throw Error(expr, $"Slice {what} must be numeric or undefined"),
            };
        }
        double? start = Bound(expr.Start, "start"), stop = Bound(expr.Stop, "stop"), step = Bound(expr.Step, "step");
        if (obj is ArrayValue array)
        {
            var sliced = Slice(array.Items, start, stop, step);
            ChargeList(sliced.Count);
            return new ArrayValue(sliced);
        }
        var codePoints = CodePoints(((StringValue)obj).Text);
        var parts = Slice(codePoints, start, stop, step);
        ChargeList(parts.Count);
        return NewString(string.Concat(parts));
    }

    /// <summary>
    /// A string's code points as separate strings, charged before they are split out: a list slot, the string and the
    /// StringValue a caller may wrap it in, and that wrapper's slot (64 bytes each).
    /// </summary>
    internal List<string> CodePoints(string s)
    {
        Charge(ListBytes + s.Length * (SlotBytes + 2 * ObjectBytes + SlotBytes));
        return JsSemantics.CodePoints(s);
    }

    /// <summary>Python slicing as @huggingface/jinja's slice() implements it (a negative step with stop -1 runs to the first item).</summary>
    internal static List<T> Slice<T>(List<T> array, double? start, double? stop, double? step)
    {
        var result = new List<T>();
        double st = step ?? 1;
        if (double.IsNaN(st)) return result;
        int direction = Math.Sign(st);
        int length = array.Count;
        double s, e;
        if (direction >= 0)
        {
            s = start ?? 0;
            s = s < 0 ? Math.Max(length + s, 0) : Math.Min(s, length);
            e = stop ?? length;
            e = e < 0 ? Math.Max(length + e, 0) : Math.Min(e, length);
        }
        else
        {
            s = start ?? length - 1;
            s = s < 0 ? Math.Max(length + s, -1) : Math.Min(s, length - 1);
            e = stop ?? -1;
            e = e < -1 ? Math.Max(length + e, -1) : Math.Min(e, length - 1);
        }
        if (direction == 0 || double.IsNaN(s) || double.IsNaN(e)) return result;
        for (double i = s; direction * i < direction * e; i += st)
            result.Add(array[(int)i]);
        return result;
    }

    private Value EvalUnary(UnaryExpression node, Scope scope)
    {
        var argument = Eval(node.Argument, scope);
        switch (node.Operator)
        {
            case "not":
                return BooleanValue.Of(!JsSemantics.IsTruthy(argument));
            case "+":
            case "-":
            {
                int sign = node.Operator == "-" ? -1 : 1;
                switch (argument)
                {
                    case IntegerValue i: return new IntegerValue(sign * i.Number);
                    case FloatValue f: return new FloatValue(sign * f.Number);
                    case BooleanValue b: return new IntegerValue(sign * (b.Flag ? 1 : 0));
                }
                throw Error(node, $"Unknown operator \"{node.Operator}\" for {TemplateJson.KindName(argument)}");
            }
            default:
                throw Error(node, $"Unknown operator: {node.Operator}");
        }
    }

    private static bool IsNumber(Value v) => v is IntegerValue or FloatValue;

    private static double Number(Value v) => v switch
    {
        IntegerValue i => i.Number,
        FloatValue f => f.Number,
        BooleanValue b => b.Flag ? 1 : 0,
        _ => double.NaN,
    };

    private Value EvalBinary(BinaryExpression node, Scope scope)
    {
        var left = Eval(node.Left, scope);
        string op = node.Operator;
        if (op == "and") return JsSemantics.IsTruthy(left) ? Eval(node.Right, scope) : left;
        if (op == "or") return JsSemantics.IsTruthy(left) ? left : Eval(node.Right, scope);

        var right = Eval(node.Right, scope);
        if (op == "==") return BooleanValue.Of(JsSemantics.LooseEquals(left, right, this));
        if (op == "!=") return BooleanValue.Of(!JsSemantics.LooseEquals(left, right, this));

        if (left is UndefinedValue || right is UndefinedValue)
        {
            // `anything in undefined` is false (and `not in` true); every other operation on undefined fails.
            if (right is UndefinedValue && op is "in" or "not in") return BooleanValue.Of(op == "not in");
            throw Error(node, $"Cannot perform operation {op} on undefined values");
        }
        if (left is NullValue || right is NullValue) throw Error(node, "Cannot perform operation on null values");
        if (op == "~") return Concat(JsSemantics.RawToString(left, this), JsSemantics.RawToString(right, this));
        if (op == "**" && left is IntegerValue or FloatValue or BooleanValue && right is IntegerValue or FloatValue or BooleanValue)
        {
            double a = Number(left), b = Number(right);
            if (a == 0 && b < 0) throw Error(node, "0.0 cannot be raised to a negative power");
            // JavaScript's ** differs from IEEE pow only for (+-1) ** +-Infinity, which it makes NaN.
            double result = Math.Abs(a) == 1 && double.IsInfinity(b) ? double.NaN : Math.Pow(a, b);
            if (!double.IsFinite(result)) throw Error(node, "Exponentiation result is not a finite real number");
            bool isFloat = left is FloatValue || right is FloatValue || b < 0;
            return isFloat ? new FloatValue(result) : new IntegerValue(result);
        }
        if (IsNumber(left) && IsNumber(right))
        {
            double a = Number(left), b = Number(right);
            bool isFloat = left is FloatValue || right is FloatValue;
            switch (op)
            {
                case "+": return isFloat ? new FloatValue(a + b) : new IntegerValue(a + b);
                case "-": return isFloat ? new FloatValue(a - b) : new IntegerValue(a - b);
                case "*": return isFloat ? new FloatValue(a * b) : new IntegerValue(a * b);
                case "/": return new FloatValue(a / b);
                case "//": return isFloat ? new FloatValue(Math.Floor(a / b)) : new IntegerValue(Math.Floor(a / b));
                case "%": return isFloat ? new FloatValue(a % b) : new IntegerValue(a % b);
                case "<": return BooleanValue.Of(a < b);
                case ">": return BooleanValue.Of(a > b);
                case ">=": return BooleanValue.Of(a >= b);
                case "<=": return BooleanValue.Of(a <= b);
            }
        }
        else if (left is ArrayValue la && right is ArrayValue ra)
        {
            if (op == "+")
            {
                ChargeList((long)la.Items.Count + ra.Items.Count);
                return new ArrayValue([.. la.Items, .. ra.Items]);
            }
        }
        else if (right is ArrayValue array)
        {
            if (op is "in" or "not in")
            {
                bool member = false;
                foreach (var item in array.Items)
                    if (JsSemantics.StrictEquals(item, left)) { member = true; break; }
                return BooleanValue.Of(op == "in" ? member : !member);
            }
        }

        if ((left is StringValue || right is StringValue) && op == "+")
            return Concat(JsSemantics.RawToString(left, this), JsSemantics.RawToString(right, this));
        if (left is StringValue ls && right is StringValue rs && op is "in" or "not in")
        {
            bool contains = rs.Text.Contains(ls.Text, StringComparison.Ordinal);
            return BooleanValue.Of(op == "in" ? contains : !contains);
        }
        if (left is StringValue key && right is ObjectValue obj && op is "in" or "not in")
        {
            bool has = obj.Entries.ContainsKey(key.Text);
            return BooleanValue.Of(op == "in" ? has : !has);
        }
        throw Error(node, $"Unknown operator \"{op}\" between {TemplateJson.KindName(left)} and {TemplateJson.KindName(right)}");
    }

    private Value EvalTest(TestExpression node, Scope scope)
    {
        var operand = Eval(node.Operand, scope);
        if (!Builtins.TryGetTest(node.Test.Name, out var test)) throw Error(node, $"Unknown test: {node.Test.Name}");
        bool result;
        try { result = test(operand, null); }
        catch (BuiltinException e) { throw Error(node, e.Message); }
        return BooleanValue.Of(node.Negate ? !result : result);
    }
}

/// <summary>An error inside a built-in function, filter or test; the interpreter adds the template position.</summary>
internal sealed class BuiltinException(string message) : Exception(message);
