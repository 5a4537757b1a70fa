namespace SeekSharp.Chat.Templates;

// Runtime values of the interpreter. They mirror @huggingface/jinja's runtime classes one to one, because
// byte-identical output depends on its exact type distinctions: integers and floats are both IEEE doubles
// (JavaScript numbers) that differ only in how they print; a tuple is an array that tojson rejects;
// keyword arguments are an object that is passed as the last positional argument.

internal enum ValueKind
{
    Integer, Float, String, Boolean, Object, KeywordArguments, Namespace, Array, Tuple, Function, Null, Undefined,
}

internal abstract class Value
{
    public abstract ValueKind Kind { get; }
}

internal sealed class IntegerValue(double value) : Value
{
    public readonly double Number = value;
    public override ValueKind Kind => ValueKind.Integer;
}

internal sealed class FloatValue(double value) : Value
{
    public readonly double Number = value;
    public override ValueKind Kind => ValueKind.Float;
}

internal sealed class StringValue(string value) : Value
{
    public static readonly StringValue Empty = new("");
    public readonly string Text = value;
    public override ValueKind Kind => ValueKind.String;
}

internal sealed class BooleanValue : Value
{
    public static readonly BooleanValue True = new(true);
    public static readonly BooleanValue False = new(false);
    public readonly bool Flag;
    private BooleanValue(bool flag) => Flag = flag;
    public static BooleanValue Of(bool flag) => flag ? True : False;
    public override ValueKind Kind => ValueKind.Boolean;
}

internal sealed class NullValue : Value
{
    public static readonly NullValue Instance = new();
    public override ValueKind Kind => ValueKind.Null;
}

internal sealed class UndefinedValue : Value
{
    public static readonly UndefinedValue Instance = new();
    public override ValueKind Kind => ValueKind.Undefined;
}

/// <summary>A list; identity matters (<c>==</c> and <c>in</c> compare containers by reference, as JavaScript does).</summary>
internal class ArrayValue(List<Value> items) : Value
{
    public readonly List<Value> Items = items;
    public override ValueKind Kind => ValueKind.Array;
}

internal sealed class TupleValue(List<Value> items) : ArrayValue(items)
{
    public override ValueKind Kind => ValueKind.Tuple;
}

/// <summary>A mapping with insertion-ordered string keys (a JavaScript Map).</summary>
internal class ObjectValue(OrderedDictionary<string, Value> entries) : Value
{
    public readonly OrderedDictionary<string, Value> Entries = entries;
    public override ValueKind Kind => ValueKind.Object;
}

internal sealed class KeywordArgumentsValue(OrderedDictionary<string, Value> entries) : ObjectValue(entries)
{
    public override ValueKind Kind => ValueKind.KeywordArguments;
}

/// <summary>The result of <c>namespace()</c>: mutable attributes, no mapping behaviour.</summary>
internal sealed class NamespaceValue(OrderedDictionary<string, Value> entries) : Value
{
    public readonly OrderedDictionary<string, Value> Entries = entries;
    public override ValueKind Kind => ValueKind.Namespace;
}

/// <summary>A callable: a built-in, a bound string or dict method, a macro or a call block's caller.</summary>
internal sealed class FunctionValue(string name, Func<List<Value>, Scope, Value> invoke) : Value
{
    public readonly string Name = name;
    public readonly Func<List<Value>, Scope, Value> Invoke = invoke;
    public override ValueKind Kind => ValueKind.Function;
}
