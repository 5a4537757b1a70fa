namespace SeekSharp.Chat.Templates;

// The syntax tree, node for node as @huggingface/jinja builds it. Position is an offset in the original source,
// used to place runtime errors.

internal abstract class Node(int position)
{
    public int Position { get; } = position;
}

internal sealed class TemplateProgram(List<Node> body) : Node(0) { public readonly List<Node> Body = body; }

internal sealed class IfNode(int pos, Node test, List<Node> body, List<Node> alternate) : Node(pos)
{
    public readonly Node Test = test;
    public readonly List<Node> Body = body, Alternate = alternate;
}

internal sealed class ForNode(int pos, Node loopVar, Node iterable, List<Node> body, List<Node> defaultBlock) : Node(pos)
{
    public readonly Node LoopVar = loopVar, Iterable = iterable;
    public readonly List<Node> Body = body, DefaultBlock = defaultBlock;
}

internal sealed class BreakNode(int pos) : Node(pos);

internal sealed class ContinueNode(int pos) : Node(pos);

internal sealed class SetNode(int pos, Node assignee, Node? value, List<Node> body) : Node(pos)
{
    public readonly Node Assignee = assignee;
    public readonly Node? Value = value;
    public readonly List<Node> Body = body;
}

internal sealed class MacroNode(int pos, Identifier name, List<Node> args, List<Node> body) : Node(pos)
{
    public readonly Identifier Name = name;
    public readonly List<Node> Args = args, Body = body;
}

internal sealed class CommentNode(int pos) : Node(pos);

internal sealed class CallStatementNode(int pos, CallExpression call, List<Node>? callerArgs, List<Node> body) : Node(pos)
{
    public readonly CallExpression Call = call;
    public readonly List<Node>? CallerArgs = callerArgs;
    public readonly List<Node> Body = body;
}

internal sealed class FilterStatementNode(int pos, Node filter, List<Node> body) : Node(pos)
{
    public readonly Node Filter = filter;
    public readonly List<Node> Body = body;
}

internal sealed class MemberExpression(int pos, Node obj, Node property, bool computed) : Node(pos)
{
    public readonly Node Object = obj, Property = property;
    public readonly bool Computed = computed;
}

internal sealed class CallExpression(int pos, Node callee, List<Node> args) : Node(pos)
{
    public readonly Node Callee = callee;
    public readonly List<Node> Args = args;
}

internal sealed class Identifier(int pos, string name) : Node(pos) { public readonly string Name = name; }

internal sealed class IntegerLiteral(int pos, double value) : Node(pos) { public readonly double Value = value; }

internal sealed class FloatLiteral(int pos, double value) : Node(pos) { public readonly double Value = value; }

/// <summary>A string literal, and also template text between tags (@huggingface/jinja parses text this way).</summary>
internal sealed class StringLiteral(int pos, string value) : Node(pos) { public readonly string Value = value; }

internal sealed class ArrayLiteral(int pos, List<Node> items) : Node(pos) { public readonly List<Node> Items = items; }

internal sealed class TupleLiteral(int pos, List<Node> items) : Node(pos) { public readonly List<Node> Items = items; }

internal sealed class ObjectLiteral(int pos, List<(Node Key, Node Value)> entries) : Node(pos)
{
    public readonly List<(Node Key, Node Value)> Entries = entries;
}

internal sealed class BinaryExpression(int pos, string op, Node left, Node right) : Node(pos)
{
    public readonly string Operator = op;
    public readonly Node Left = left, Right = right;
}

/// <summary><c>operand | filter</c>; Filter is an <see cref="Identifier"/> or a <see cref="CallExpression"/>.</summary>
internal sealed class FilterExpression(int pos, Node operand, Node filter) : Node(pos)
{
    public readonly Node Operand = operand, Filter = filter;
}

internal sealed class TestExpression(int pos, Node operand, bool negate, Identifier test) : Node(pos)
{
    public readonly Node Operand = operand;
    public readonly bool Negate = negate;
    public readonly Identifier Test = test;
}

internal sealed class UnaryExpression(int pos, string op, Node argument) : Node(pos)
{
    public readonly string Operator = op;
    public readonly Node Argument = argument;
}

internal sealed class SliceExpression(int pos, Node? start, Node? stop, Node? step) : Node(pos)
{
    public readonly Node? Start = start, Stop = stop, Step = step;
}

internal sealed class KeywordArgumentExpression(int pos, Identifier key, Node value) : Node(pos)
{
    public readonly Identifier Key = key;
    public readonly Node Value = value;
}

internal sealed class SpreadExpression(int pos, Node argument) : Node(pos) { public readonly Node Argument = argument; }

internal sealed class KeywordSpreadExpression(int pos, Node argument) : Node(pos) { public readonly Node Argument = argument; }

/// <summary><c>lhs if test</c> without else: undefined when the test fails; in a for loop, a filter on items.</summary>
internal sealed class SelectExpression(int pos, Node lhs, Node test) : Node(pos)
{
    public readonly Node Lhs = lhs, Test = test;
}

internal sealed class TernaryExpression(int pos, Node condition, Node whenTrue, Node whenFalse) : Node(pos)
{
    public readonly Node Condition = condition, WhenTrue = whenTrue, WhenFalse = whenFalse;
}
