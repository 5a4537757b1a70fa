using System.Runtime.CompilerServices;
using System.Text;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// Tree-walking evaluator with @huggingface/jinja's semantics. Output goes to one StringBuilder; a break or continue
/// discards the output of the iteration it ends, as the reference (which builds each iteration's text and drops
/// it when the control exception passes) does.
/// </summary>
internal sealed partial class Interpreter
{
    internal enum Signal { None, Break, Continue }

    /// <summary>Carries break/continue out of a macro, caller, set block or filter block to the enclosing loop.</summary>
    private sealed class LoopControlException(Signal signal) : Exception
    {
        public Signal Signal { get; } = signal;
    }

    private readonly TemplateLimits _limits;
    private readonly string _source;
    private long _iterations;
    private int _callDepth;
    private long _allocated;

    public Interpreter(TemplateLimits limits, string source)
    {
        _limits = limits;
        _source = source;
    }

    public TemplateLimits Limits => _limits;

    public string Run(TemplateProgram program, Scope global)
    {
        var sb = new StringBuilder();
        Signal signal;
        try { signal = ExecBlock(program.Body, global, sb); }
        catch (LoopControlException e) { signal = e.Signal; }
        if (signal != Signal.None)
            throw new TemplateRuntimeException($"'{(signal == Signal.Break ? "break" : "continue")}' outside of a loop");
        return sb.ToString();
    }

    internal void CountIterations(long n)
    {
        _iterations += n;
        if (_iterations > _limits.MaxLoopIterations)
            throw new TemplateLimitException($"Template exceeded {_limits.MaxLoopIterations} loop iterations.");
    }

    internal void CheckLength(long length)
    {
        if (length > _limits.MaxOutputLength)
            throw new TemplateLimitException($"Template produced a string longer than {_limits.MaxOutputLength}.");
    }

    internal void CheckListLength(long length)
    {
        if (length > _limits.MaxListLength)
            throw new TemplateLimitException($"Template produced a list longer than {_limits.MaxListLength}.");
    }

    // ---- Allocation budget (TemplateLimits.MaxAllocatedBytes) ----
    //
    // Why a monotone counter: every value a template builds is charged when it is created and nothing is given back
    // when it dies. Tracking liveness would need reference counts through lists, dicts, namespaces and scopes on the
    // hot path; a monotone count costs one add and one compare per allocation, and it bounds live memory too (live
    // bytes never exceed allocated bytes). Its price is that garbage counts: a template that rebuilds a big string in
    // a loop is charged for every copy. Real chat templates allocate little: the templates under tests/ charge at most
    // 16 KB for the test conversations and 1.8 to 4.2 MB for a 400-message, 344K-character conversation (about six
    // times the message text's UTF-16 size), so the 256 MiB default leaves a wide margin.
    //
    // What is charged: every string the template builds (2 bytes per UTF-16 unit plus object headers), every list,
    // dict and namespace (per slot, before the copy when the size is known), each loop iteration's `loop` object,
    // each macro or caller call, and the text appended to any output buffer. Small fixed-size temporaries (a number, a
    // one-character string) are not charged one by one: they can only accumulate by being stored in a list or dict,
    // and list and dict literals charge every slot as if it held a fresh small object; the bigger ones that could be
    // kept (a bound method, a macro, a caller) are charged when created. Builders whose result is charged at the end
    // (tojson, join, replace, indent) check the remaining budget as they grow, so no single step overshoots by more
    // than one value of at most MaxOutputLength. The sizes are 64-bit CLR sizes, rounded up; measured real allocation
    // stays between 0.8x and 2x the charge (TemplateMemoryBudgetTests.TheChargeTracksRealAllocation).

    /// <summary>A small runtime value object (IntegerValue, a StringValue wrapper, a one-character string).</summary>
    internal const long ObjectBytes = 24;

    /// <summary>One reference slot in a list or array.</summary>
    internal const long SlotBytes = 8;

    /// <summary>An ArrayValue with its List and backing array, without slots.</summary>
    internal const long ListBytes = 88;

    /// <summary>One OrderedDictionary entry (key, value, hash, next) and its bucket.</summary>
    internal const long EntryBytes = 32;

    /// <summary>An ObjectValue with its OrderedDictionary and arrays, without entries.</summary>
    internal const long DictBytes = 160;

    /// <summary>One macro or caller invocation: scopes, argument lists, closure and output builder.</summary>
    internal const long CallBytes = 512;

    /// <summary>The nine-entry <c>loop</c> object a for loop builds on every iteration.</summary>
    internal const long LoopBytes = DictBytes + 9 * (EntryBytes + ObjectBytes);

    /// <summary>A string of <paramref name="length"/> UTF-16 units and its StringValue.</summary>
    internal static long StringBytes(long length) => 2 * ObjectBytes + 2 * length;

    /// <summary>Bytes charged so far in this render.</summary>
    internal long AllocatedBytes => _allocated;

    internal void Charge(long bytes)
    {
        _allocated += bytes;
        if (_allocated > _limits.MaxAllocatedBytes) throw AllocationLimitExceeded();
    }

    /// <summary>Charges a list of <paramref name="count"/> slots (call before building it when the count is known).</summary>
    internal void ChargeList(long count)
    {
        CheckListLength(count);
        Charge(ListBytes + SlotBytes * count);
    }

    /// <summary>Charges a dict or namespace of <paramref name="count"/> entries.</summary>
    internal void ChargeDict(long count) => Charge(DictBytes + EntryBytes * count);

    /// <summary>Checks and charges a string of <paramref name="length"/> UTF-16 units (call before building it when possible).</summary>
    internal void ChargeString(long length)
    {
        CheckLength(length);
        Charge(StringBytes(length));
    }

    /// <summary>
    /// For a builder whose result is charged once complete: fails if it has grown past the string bound or past what
    /// the remaining budget could hold, without charging.
    /// </summary>
    internal void CheckGrowth(long length)
    {
        CheckLength(length);
        if (_allocated + 2 * length > _limits.MaxAllocatedBytes) throw AllocationLimitExceeded();
    }

    private TemplateLimitException AllocationLimitExceeded()
    {
        long max = _limits.MaxAllocatedBytes;
        string amount = max >= 1024 * 1024 && max % (1024 * 1024) == 0 ? $"{max / (1024 * 1024)} MiB" : $"{max} bytes";
        return new TemplateLimitException(
            $"Template allocates more than {amount} (TemplateLimits.MaxAllocatedBytes); a chat template needs a few MiB.");
    }

    /// <summary>Wraps a string the caller has just built, checking and charging it.</summary>
    internal StringValue NewString(string s)
    {
        ChargeString(s.Length);
        return new StringValue(s);
    }

    /// <summary>Concatenates after checking and charging the result, so an oversized result is never built.</summary>
    internal StringValue Concat(string a, string b)
    {
        ChargeString((long)a.Length + b.Length);
        return new StringValue(a + b);
    }

    private static void EnsureStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new TemplateLimitException("Template evaluation nested too deeply for the stack.");
    }

    private void Append(StringBuilder sb, Value v)
    {
        if (v is NullValue or UndefinedValue) return;
        string text = JsSemantics.ToDisplayString(v, this);
        CheckLength((long)sb.Length + text.Length);
        Charge(2L * text.Length);
        sb.Append(text);
    }

    private Signal ExecBlock(List<Node> nodes, Scope scope, StringBuilder sb)
    {
        EnsureStack();
        foreach (var node in nodes)
        {
            switch (node)
            {
                case StringLiteral text:
                    CheckLength((long)sb.Length + text.Value.Length);
                    Charge(2L * text.Value.Length);
                    sb.Append(text.Value);
                    break;
                case IfNode ifNode:
                {
                    var signal = ExecBlock(JsSemantics.IsTruthy(Eval(ifNode.Test, scope)) ? ifNode.Body : ifNode.Alternate, scope, sb);
                    if (signal != Signal.None) return signal;
                    break;
                }
                case ForNode forNode:
                {
                    var signal = ExecFor(forNode, scope, sb);
                    if (signal != Signal.None) return signal;
                    break;
                }
                case BreakNode: return Signal.Break;
                case ContinueNode: return Signal.Continue;
                case SetNode set: ExecSet(set, scope); break;
                case MacroNode macro: DefineMacro(macro, scope); break;
                case CommentNode: break;
                case CallStatementNode call: Append(sb, ExecCallStatement(call, scope)); break;
                case FilterStatementNode filter:
                    Append(sb, Filters.Apply(this, NewString(RenderToString(filter.Body, scope)), filter.Filter, scope));
                    break;
                default: Append(sb, Eval(node, scope)); break;
            }
        }
        return Signal.None;
    }

    /// <summary>Renders a nested block to its own string (macro bodies, set blocks, filter blocks, call blocks).</summary>
    internal string RenderToString(List<Node> body, Scope scope)
    {
        var sb = new StringBuilder();
        var signal = ExecBlock(body, scope, sb);
        if (signal != Signal.None) throw new LoopControlException(signal);
        return sb.ToString();
    }

    private Signal ExecFor(ForNode node, Scope environment, StringBuilder sb)
    {
        var scope = new Scope(environment);
        Node? test = null;
        Value iterable;
        if (node.Iterable is SelectExpression select)
        {
            iterable = Eval(select.Lhs, scope);
            test = select.Test;
        }
        else iterable = Eval(node.Iterable, scope);

        List<Value> source = iterable switch
        {
            ArrayValue a => a.Items,
            ObjectValue o => ObjectKeys(o),
            _ => throw Error(node, $"Expected iterable or object type in for loop: got {TemplateJson.KindName(iterable)}"),
        };

        ChargeList(source.Count);
        var items = new List<Value>(source.Count);
        foreach (var current in source)
        {
            CountIterations(1);
            if (node.LoopVar is TupleLiteral tuple)
            {
                if (current.Kind != ValueKind.Array) throw Error(node, $"Cannot unpack non-iterable type: {TemplateJson.KindName(current)}");
                int have = ((ArrayValue)current).Items.Count;
                if (tuple.Items.Count != have) throw Error(node, $"Too {(tuple.Items.Count > have ? "few" : "many")} items to unpack");
            }
            if (test != null)
            {
                var loopScope = new Scope(scope);
                AssignLoopVariable(node, loopScope, current);
                if (!JsSemantics.IsTruthy(Eval(test, loopScope))) continue;
            }
            items.Add(current);
        }

        bool noIteration = true;
        for (int i = 0; i < items.Count; i++)
        {
            CountIterations(1);
            Charge(LoopBytes);
            var loop = new OrderedDictionary<string, Value>(9, StringComparer.Ordinal)
            {
                ["index"] = new IntegerValue(i + 1),
                ["index0"] = new IntegerValue(i),
                ["revindex"] = new IntegerValue(items.Count - i),
                ["revindex0"] = new IntegerValue(items.Count - i - 1),
                ["first"] = BooleanValue.Of(i == 0),
                ["last"] = BooleanValue.Of(i == items.Count - 1),
                ["length"] = new IntegerValue(items.Count),
                ["previtem"] = i > 0 ? items[i - 1] : UndefinedValue.Instance,
                ["nextitem"] = i < items.Count - 1 ? items[i + 1] : UndefinedValue.Instance,
            };
            scope.Set("loop", new ObjectValue(loop));
            AssignLoopVariable(node, scope, items[i]);

            int iterationStart = sb.Length;
            Signal signal;
            try { signal = ExecBlock(node.Body, scope, sb); }
            catch (LoopControlException e) { signal = e.Signal; }
            if (signal == Signal.Continue) { sb.Length = iterationStart; continue; }
            if (signal == Signal.Break) { sb.Length = iterationStart; break; }
            noIteration = false;
        }
        return noIteration ? ExecBlock(node.DefaultBlock, scope, sb) : Signal.None;
    }

    /// <summary>An object's keys as a new list of strings (iterating a dict, <c>keys()</c>).</summary>
    internal List<Value> ObjectKeys(ObjectValue o)
    {
        ChargeList(o.Entries.Count);
        Charge(ObjectBytes * o.Entries.Count);
        return [.. o.Entries.Keys.Select(k => (Value)new StringValue(k))];
    }

    private void AssignLoopVariable(ForNode node, Scope scope, Value current)
    {
        if (node.LoopVar is Identifier id)
        {
            scope.Set(id.Name, current);
            return;
        }
        var tuple = (TupleLiteral)node.LoopVar;
        var values = ((ArrayValue)current).Items;
        for (int j = 0; j < tuple.Items.Count; j++)
        {
            if (tuple.Items[j] is not Identifier target) throw Error(node, "Cannot unpack to a non-identifier loop variable");
            scope.Set(target.Name, values[j]);
        }
    }

    private void ExecSet(SetNode node, Scope scope)
    {
        var rhs = node.Value != null ? Eval(node.Value, scope) : NewString(RenderToString(node.Body, scope));
        switch (node.Assignee)
        {
            case Identifier id:
                scope.Set(id.Name, rhs);
                break;
            case TupleLiteral tuple:
            {
                if (rhs is not ArrayValue array) throw Error(node, $"Cannot unpack non-iterable type in set: {TemplateJson.KindName(rhs)}");
                if (array.Items.Count != tuple.Items.Count)
                    throw Error(node, $"Too {(tuple.Items.Count > array.Items.Count ? "few" : "many")} items to unpack in set");
                for (int i = 0; i < tuple.Items.Count; i++)
                {
                    if (tuple.Items[i] is not Identifier target) throw Error(node, "Cannot unpack to non-identifier in set");
                    scope.Set(target.Name, array.Items[i]);
                }
                break;
            }
            case MemberExpression member:
            {
                var obj = Eval(member.Object, scope);
                if (obj is not NamespaceValue ns) throw Error(node, "Cannot assign attribute on non-namespace object");
                if (member.Property is not Identifier property) throw Error(node, "Cannot assign to member with non-identifier property");
                ns.Entries[property.Name] = rhs;
                break;
            }
            default:
                throw Error(node, "Invalid left-hand side in set statement");
        }
    }

    private void DefineMacro(MacroNode node, Scope scope)
    {
        Charge(CallBytes);
        var special = MacroArguments.FindAccessedSpecial(node.Args, node.Body);
        string display = $"'{node.Name.Name}'";
        scope.Set(node.Name.Name, new FunctionValue(node.Name.Name, (args, callerScope) =>
        {
            EnterCall(node);
            try
            {
                var macroScope = new Scope(callerScope);
                BindMacroArguments(display, node.Args, special, args, macroScope);
                return NewString(RenderToString(node.Body, macroScope));
            }
            finally { _callDepth--; }
        }));
    }

    private void EnterCall(Node node)
    {
        Charge(CallBytes);
        if (++_callDepth > _limits.MaxRecursionDepth)
        {
            _callDepth--;
            throw new TemplateLimitException($"Template macro calls nested deeper than {_limits.MaxRecursionDepth} ({Line(node)}).");
        }
    }

    private Value ExecCallStatement(CallStatementNode node, Scope environment)
    {
        var parameters = node.CallerArgs ?? [];
        var special = MacroArguments.FindAccessedSpecial(parameters, node.Body);
        Charge(CallBytes);
        var caller = new FunctionValue("caller", (callerArgs, _) =>
        {
            EnterCall(node);
            try
            {
                var callScope = new Scope(environment);
                BindMacroArguments("None", parameters, special, callerArgs, callScope);
                return NewString(RenderToString(node.Body, callScope));
            }
            finally { _callDepth--; }
        });
        var (args, kwargs) = EvaluateArguments(node.Call.Args, environment);
        args.Add(new KeywordArgumentsValue(kwargs));
        var fn = Eval(node.Call.Callee, environment);
        if (fn is not FunctionValue function)
            throw Error(node, $"Cannot call something that is not a function: got {TemplateJson.KindName(fn)}");
        var callEnvironment = new Scope(environment);
        callEnvironment.Set("caller", caller);
        return function.Invoke(args, callEnvironment);
    }

    /// <summary>Binds every parameter (undefined first) before evaluating defaults, so defaults never see an outer variable of the same name.</summary>
    private void BindMacroArguments(string displayName, List<Node> parameters, MacroArguments.Special special, List<Value> args, Scope scope)
    {
        ChargeList(args.Count);
        var positional = new List<Value>(args);
        var keyword = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        if (positional.Count > 0 && positional[^1] is KeywordArgumentsValue kw)
        {
            positional.RemoveAt(positional.Count - 1);
            ChargeDict(kw.Entries.Count);
            foreach (var pair in kw.Entries) keyword[pair.Key] = pair.Value;
        }
        var pendingDefaults = new List<(string, Node)>();
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, defaultValue) = MacroArguments.Describe(parameters[i]);
            Value? value = i < positional.Count ? positional[i] : null;
            if (value == null && keyword.Remove(name, out var byName)) value = byName;
            if (value == null && defaultValue != null) pendingDefaults.Add((name, defaultValue));
            scope.Set(name, value ?? UndefinedValue.Instance);
        }
        if ((special & MacroArguments.Special.Kwargs) != 0) scope.Set("kwargs", new ObjectValue(keyword));
        else if (keyword.Count > 0)
            throw new TemplateRuntimeException($"macro {displayName} takes no keyword argument '{keyword.GetAt(0).Key}'");
        if ((special & MacroArguments.Special.Varargs) != 0)
        {
            ChargeList(Math.Max(0, positional.Count - parameters.Count));
            scope.Set("varargs", new ArrayValue(positional.Count > parameters.Count ? positional[parameters.Count..] : []));
        }
        else if (positional.Count > parameters.Count)
            throw new TemplateRuntimeException($"macro {displayName} takes not more than {parameters.Count} argument(s)");
        foreach (var (name, expression) in pendingDefaults)
            scope.Set(name, Eval(expression, scope));
    }

    internal (List<Value> Positional, OrderedDictionary<string, Value> Keyword) EvaluateArguments(List<Node> args, Scope scope)
    {
        var positional = new List<Value>();
        var keyword = new OrderedDictionary<string, Value>(StringComparer.Ordinal);
        foreach (var argument in args)
        {
            if (argument is SpreadExpression spread)
            {
                var value = Eval(spread.Argument, scope);
                if (value is not ArrayValue array) throw Error(argument, $"Cannot unpack non-iterable type: {TemplateJson.KindName(value)}");
                ChargeList((long)positional.Count + array.Items.Count);
                positional.AddRange(array.Items);
            }
            else if (argument is not (KeywordArgumentExpression or KeywordSpreadExpression))
                positional.Add(Eval(argument, scope));
        }
        foreach (var argument in args)
        {
            if (argument is KeywordArgumentExpression kw)
                AddKeyword(keyword, kw.Key.Name, Eval(kw.Value, scope), argument);
            else if (argument is KeywordSpreadExpression kws)
            {
                var value = Eval(kws.Argument, scope);
                if (value is not ObjectValue obj) throw Error(argument, $"Argument after ** must be a mapping, not {TemplateJson.KindName(value)}");
                ChargeDict(obj.Entries.Count);
                foreach (var pair in obj.Entries) AddKeyword(keyword, pair.Key, pair.Value, argument);
            }
        }
        return (positional, keyword);
    }

    private void AddKeyword(OrderedDictionary<string, Value> keyword, string key, Value value, Node at)
    {
        if (!keyword.TryAdd(key, value)) throw Error(at, $"Got multiple values for keyword argument '{key}'");
    }

    private string Line(Node node)
    {
        var (line, column) = Lexer.LineColumn(_source, node.Position);
        return $"line {line}, column {column}";
    }

    /// <summary>A runtime error placed at the node that raised it.</summary>
    internal TemplateRuntimeException Error(Node node, string message) => new($"{message} ({Line(node)})");
}
