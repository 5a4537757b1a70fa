using System.Numerics;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// Parses and evaluates a countdown answer: non-negative integer literals, binary + - * / (also × and ÷), parentheses
/// and spaces, optionally followed by "= N". There is no unary minus. Evaluation is exact over the rationals, so a
/// fractional intermediate (8 / 3 * 3) is allowed as long as the whole expression has the target value; division by
/// zero makes the answer invalid.
/// </summary>
internal sealed class CountdownExpression
{
    // Bounds that keep a hostile answer from costing real time; no valid answer comes near them.
    const int MaxLength = 200;
    const int MaxLiteralDigits = 9;
    const int MaxDepth = 32;

    readonly string s;
    int pos;
    int depth;
    readonly List<long> literals = [];

    CountdownExpression(string s) => this.s = s;

    /// <summary>Evaluates <paramref name="text"/>; false for malformed text, division by zero or a right-hand side of
    /// "=" that differs from the value. <paramref name="literals"/> are the numbers written, in order.</summary>
    public static bool TryEvaluate(string? text, out Rational value, out IReadOnlyList<long> literals)
    {
        value = default;
        literals = [];
        if (text is null || text.Length > MaxLength) return false;
        string body = text.Trim();
        if (body.EndsWith('.')) body = body[..^1];
        string? claimed = null;
        int eq = body.IndexOf('=');
        if (eq >= 0)
        {
            claimed = body[(eq + 1)..];
            body = body[..eq];
        }
        var parser = new CountdownExpression(body);
        try
        {
            if (!parser.TryExpression(out value)) return false;
            parser.SkipSpaces();
            if (parser.pos != body.Length) return false;
        }
        catch (DivideByZeroException)
        {
            return false;
        }
        literals = parser.literals;
        if (claimed is not null && !(IntegerAnswer.TryParse(claimed, out long c) && value == Rational.FromInteger(c)))
            return false;
        return true;
    }

    void SkipSpaces()
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
    }

    char Peek()
    {
        SkipSpaces();
        return pos < s.Length ? s[pos] : '\0';
    }

    // expression := term (('+' | '-') term)*
    bool TryExpression(out Rational value)
    {
        if (!TryTerm(out value)) return false;
        while (Peek() is '+' or '-' or '−')
        {
            char op = s[pos++];
            if (!TryTerm(out var right)) return false;
            value = op == '+' ? value + right : value - right;
        }
        return true;
    }

    // term := factor (('*' | '×' | '/' | '÷') factor)*
    bool TryTerm(out Rational value)
    {
        if (!TryFactor(out value)) return false;
        while (Peek() is '*' or '×' or '/' or '÷')
        {
            char op = s[pos++];
            if (!TryFactor(out var right)) return false;
            value = op is '*' or '×' ? value * right : value / right;
        }
        return true;
    }

    // factor := integer | '(' expression ')'
    bool TryFactor(out Rational value)
    {
        value = default;
        char c = Peek();
        if (c == '(')
        {
            if (++depth > MaxDepth) return false;
            pos++;
            if (!TryExpression(out value) || Peek() != ')') return false;
            pos++;
            depth--;
            return true;
        }
        int start = pos;
        while (pos < s.Length && char.IsAsciiDigit(s[pos])) pos++;
        int digits = pos - start;
        if (digits == 0 || digits > MaxLiteralDigits) return false;
        long literal = long.Parse(s.AsSpan(start, digits), System.Globalization.CultureInfo.InvariantCulture);
        literals.Add(literal);
        value = Rational.FromInteger(new BigInteger(literal));
        return true;
    }
}
