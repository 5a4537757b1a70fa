namespace SeekSharp.Chat.Templates;

/// <summary>
/// Decides whether a macro or call block accepts extra keyword or positional arguments: as in Jinja, it does when
/// its body reads <c>kwargs</c> or <c>varargs</c> before declaring a variable of that name.
/// </summary>
internal static class MacroArguments
{
    [Flags]
    internal enum Special { None = 0, Kwargs = 1, Varargs = 2 }

    public static (string Name, Node? Default) Describe(Node parameter) => parameter switch
    {
        Identifier id => (id.Name, null),
        KeywordArgumentExpression kw => (kw.Key.Name, kw.Value),
        _ => throw new TemplateRuntimeException("Invalid macro parameter"),
    };

    private static Special Flag(string name) => name switch { "kwargs" => Special.Kwargs, "varargs" => Special.Varargs, _ => Special.None };

    public static Special FindAccessedSpecial(List<Node> parameters, List<Node> body)
    {
        var declared = Special.None;
        var accessed = Special.None;
        foreach (var p in parameters) declared |= Flag(Describe(p).Name);

        void DeclareTarget(Node target)
        {
            if (target is Identifier id) declared |= Flag(id.Name);
            else if (target is TupleLiteral tuple) foreach (var item in tuple.Items) DeclareTarget(item);
        }

        void VisitAll(IEnumerable<Node?> nodes)
        {
            foreach (var n in nodes) Visit(n);
        }

        void VisitDefaults(List<Node> args)
        {
            foreach (var a in args)
                if (Describe(a).Default is Node d) Visit(d);
        }

        void VisitFilter(Node filter)
        {
            if (filter is CallExpression call) VisitAll(call.Args);
        }

        void Visit(Node? node)
        {
            switch (node)
            {
                case null: return;
                case ForNode f:
                    DeclareTarget(f.LoopVar);
                    if (f.Iterable is SelectExpression select)
                    {
                        // Jinja visits a for-loop condition after its body and else block.
                        Visit(select.Lhs); VisitAll(f.Body); VisitAll(f.DefaultBlock); Visit(select.Test);
                        return;
                    }
                    Visit(f.Iterable); VisitAll(f.Body); VisitAll(f.DefaultBlock);
                    return;
                case SetNode set:
                    DeclareTarget(set.Assignee); Visit(set.Value); VisitAll(set.Body);
                    return;
                case MacroNode macro:
                    foreach (var a in macro.Args) declared |= Flag(Describe(a).Name);
                    VisitDefaults(macro.Args); VisitAll(macro.Body);
                    return;
                case CallStatementNode call:
                    Visit(call.Call);
                    foreach (var a in call.CallerArgs ?? []) declared |= Flag(Describe(a).Name);
                    VisitDefaults(call.CallerArgs ?? []); VisitAll(call.Body);
                    return;
                case FilterStatementNode fs:
                    VisitAll(fs.Body); VisitFilter(fs.Filter);
                    return;
                case Identifier id:
                    var flag = Flag(id.Name);
                    if (flag != Special.None && (declared & flag) == 0) accessed |= flag;
                    return;
                case MemberExpression m:
                    Visit(m.Object);
                    if (m.Computed) Visit(m.Property);
                    return;
                case FilterExpression fe:
                    Visit(fe.Operand); VisitFilter(fe.Filter);
                    return;
                case TestExpression te: Visit(te.Operand); return;
                case SelectExpression se: Visit(se.Test); Visit(se.Lhs); return;
                case KeywordArgumentExpression kw: Visit(kw.Value); return;
                case IfNode i: Visit(i.Test); VisitAll(i.Body); VisitAll(i.Alternate); return;
                case CallExpression c: Visit(c.Callee); VisitAll(c.Args); return;
                case ArrayLiteral a: VisitAll(a.Items); return;
                case TupleLiteral t: VisitAll(t.Items); return;
                case ObjectLiteral o: foreach (var (k, v) in o.Entries) { Visit(k); Visit(v); } return;
                case BinaryExpression b: Visit(b.Left); Visit(b.Right); return;
                case UnaryExpression u: Visit(u.Argument); return;
                case SliceExpression s: Visit(s.Start); Visit(s.Stop); Visit(s.Step); return;
                case SpreadExpression sp: Visit(sp.Argument); return;
                case KeywordSpreadExpression ks: Visit(ks.Argument); return;
                case TernaryExpression t: Visit(t.Condition); Visit(t.WhenTrue); Visit(t.WhenFalse); return;
                default: return;
            }
        }

        VisitAll(body);
        return accessed;
    }
}
