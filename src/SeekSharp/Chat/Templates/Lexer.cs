using System.Globalization;
using System.Text;

namespace SeekSharp.Chat.Templates;

internal enum TokenType
{
    Text, NumericLiteral, StringLiteral, Identifier, Equals, OpenParen, CloseParen, OpenStatement, CloseStatement,
    OpenExpression, CloseExpression, OpenSquareBracket, CloseSquareBracket, OpenCurlyBracket, CloseCurlyBracket,
    Comma, Dot, Colon, Pipe, AdditiveBinaryOperator, MultiplicativeBinaryOperator, ExponentiationBinaryOperator,
    ComparisonBinaryOperator, UnaryOperator, Comment,
}

/// <param name="Position">Offset in the original template source (for error positions).</param>
internal readonly record struct Token(TokenType Type, string Value, int Position);

/// <summary>
/// Splits a template into tokens exactly as @huggingface/jinja's lexer does, including its preprocessing with
/// trim_blocks and lstrip_blocks on (what its Template class and transformers use), the removal of one trailing
/// newline, and of transformers' <c>{% generation %}</c> tags.
/// </summary>
internal sealed class Lexer
{
    private static readonly (string Text, TokenType Type)[] Table =
    [
        ("{%", TokenType.OpenStatement), ("%}", TokenType.CloseStatement),
        ("{{", TokenType.OpenExpression), ("}}", TokenType.CloseExpression),
        ("(", TokenType.OpenParen), (")", TokenType.CloseParen), ("{", TokenType.OpenCurlyBracket),
        ("}", TokenType.CloseCurlyBracket), ("[", TokenType.OpenSquareBracket), ("]", TokenType.CloseSquareBracket),
        (",", TokenType.Comma), (".", TokenType.Dot), (":", TokenType.Colon), ("|", TokenType.Pipe),
        ("<=", TokenType.ComparisonBinaryOperator), (">=", TokenType.ComparisonBinaryOperator),
        ("==", TokenType.ComparisonBinaryOperator), ("!=", TokenType.ComparisonBinaryOperator),
        ("<", TokenType.ComparisonBinaryOperator), (">", TokenType.ComparisonBinaryOperator),
        ("+", TokenType.AdditiveBinaryOperator), ("-", TokenType.AdditiveBinaryOperator), ("~", TokenType.AdditiveBinaryOperator),
        ("**", TokenType.ExponentiationBinaryOperator), ("*", TokenType.MultiplicativeBinaryOperator),
        ("//", TokenType.MultiplicativeBinaryOperator), ("/", TokenType.MultiplicativeBinaryOperator),
        ("%", TokenType.MultiplicativeBinaryOperator), ("=", TokenType.Equals),
    ];

    private readonly string _original;
    private readonly string _src;
    private readonly int[] _origin; // _origin[i] = offset in _original of _src[i]; one extra entry for the end
    private readonly List<Token> _tokens = [];
    private int _pos;

    private Lexer(string original, string src, int[] origin)
    {
        _original = original;
        _src = src;
        _origin = origin;
    }

    public static List<Token> Tokenize(string source)
    {
        var (src, origin) = Preprocess(source);
        var lexer = new Lexer(source, src, origin);
        lexer.Run();
        return lexer._tokens;
    }

    /// <summary>Converts an offset in the original source to a 1-based line and column.</summary>
    public static (int Line, int Column) LineColumn(string source, int offset)
    {
        offset = Math.Clamp(offset, 0, source.Length);
        int line = 1, lineStart = 0;
        for (int i = 0; i < offset; i++)
            if (source[i] == '\n') { line++; lineStart = i + 1; }
        return (line, offset - lineStart + 1);
    }

    private TemplateSyntaxException Error(string message, int srcPos)
    {
        int original = srcPos >= 0 && srcPos < _origin.Length ? _origin[srcPos] : _original.Length;
        var (line, column) = LineColumn(_original, original);
        return new TemplateSyntaxException(message, line, column);
    }

    // The three rewrites below are @huggingface/jinja's regular expressions written out by hand, so that every
    // kept character remembers its original offset.
    private static (string Text, int[] Origin) Preprocess(string source)
    {
        int n = source.Length;
        if (n > 0 && source[n - 1] == '\n') n--;

        // lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1" (^ after any JavaScript line terminator).
        var a = new StringBuilder(n);
        var aOrigin = new List<int>(n + 1);
        for (int i = 0; i < n;)
        {
            bool lineStart = i == 0 || source[i - 1] is '\n' or '\r' or '\u2028' or '\u2029';
            if (lineStart)
            {
                int j = i;
                while (j < n && source[j] is ' ' or '\t') j++;
                if (j > i && j + 1 < n && source[j] == '{' && source[j + 1] is '#' or '%' or '-')
                    i = j;
            }
            a.Append(source[i]);
            aOrigin.Add(i);
            i++;
        }

        // trim_blocks: /([#%-]})\n/g -> "$1".
        var b = new StringBuilder(a.Length);
        var bOrigin = new List<int>(a.Length + 1);
        for (int i = 0; i < a.Length;)
        {
            if (i + 2 < a.Length && a[i] is '#' or '%' or '-' && a[i + 1] == '}' && a[i + 2] == '\n')
            {
                b.Append(a[i]).Append(a[i + 1]);
                bOrigin.Add(aOrigin[i]);
                bOrigin.Add(aOrigin[i + 1]);
                i += 3;
                continue;
            }
            b.Append(a[i]);
            bOrigin.Add(aOrigin[i]);
            i++;
        }

        // transformers' generation tags: /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs, keeping the
        // surrounding whitespace unless the tag strips it.
        string t = b.ToString();
        var c = new StringBuilder(t.Length);
        var cOrigin = new List<int>(t.Length + 1);
        int copied = 0, searchFrom = 0;
        while (true)
        {
            int q = t.IndexOf("{%", searchFrom, StringComparison.Ordinal);
            if (q < 0) break;
            int k = q + 2;
            bool lstrip = k < t.Length && t[k] == '-';
            if (lstrip) k++;
            while (k < t.Length && JsSemantics.IsWhitespace(t[k])) k++;
            if (string.CompareOrdinal(t, k, "endgeneration", 0, 13) == 0) k += 13;
            else if (string.CompareOrdinal(t, k, "generation", 0, 10) == 0) k += 10;
            else { searchFrom = q + 1; continue; }
            while (k < t.Length && JsSemantics.IsWhitespace(t[k])) k++;
            bool rstrip = k < t.Length && t[k] == '-';
            if (rstrip) k++;
            if (string.CompareOrdinal(t, k, "%}", 0, 2) != 0) { searchFrom = q + 1; continue; }
            k += 2;
            int before = q;
            while (before > copied && JsSemantics.IsWhitespace(t[before - 1])) before--;
            int after = k;
            while (after < t.Length && JsSemantics.IsWhitespace(t[after])) after++;
            CopyRange(t, bOrigin, copied, lstrip ? before : q, c, cOrigin);
            if (!rstrip) CopyRange(t, bOrigin, k, after, c, cOrigin);
            copied = searchFrom = after;
        }
        CopyRange(t, bOrigin, copied, t.Length, c, cOrigin);
        cOrigin.Add(n);
        return (c.ToString(), cOrigin.ToArray());
    }

    private static void CopyRange(string t, List<int> origin, int from, int to, StringBuilder dst, List<int> dstOrigin)
    {
        dst.Append(t, from, to - from);
        for (int i = from; i < to; i++) dstOrigin.Add(origin[i]);
    }

    private char At(int i) => i < _src.Length ? _src[i] : '\0';

    private bool StartsWithAt(int i, string s) => i + s.Length <= _src.Length && string.CompareOrdinal(_src, i, s, 0, s.Length) == 0;

    private void Add(TokenType type, string value, int srcPos) =>
        _tokens.Add(new Token(type, value, srcPos < _origin.Length ? _origin[srcPos] : _original.Length));

    private string ConsumeWhile(Func<char, bool> predicate)
    {
        var sb = new StringBuilder();
        while (_pos < _src.Length && predicate(_src[_pos]))
        {
            if (_src[_pos] == '\\')
            {
                int escapeStart = _pos;
                ++_pos;
                if (_pos >= _src.Length) throw Error("Unexpected end of input", escapeStart);
                char escaped = _src[_pos++];
                if (escaped is 'x' or 'u')
                {
                    int length = escaped == 'x' ? 2 : 4;
                    if (_pos + length > _src.Length || !IsHex(_src.AsSpan(_pos, length)))
                        throw Error($"Invalid hexadecimal escape sequence: \\{escaped}", escapeStart);
                    sb.Append((char)int.Parse(_src.AsSpan(_pos, length), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    _pos += length;
                    continue;
                }
                char? unescaped = escaped switch
                {
                    'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', 'v' => '\v',
                    '\'' => '\'', '"' => '"', '\\' => '\\', _ => null,
                };
                if (unescaped is null) throw Error($"Unexpected escaped character: {escaped}", escapeStart);
                sb.Append(unescaped.Value);
                continue;
            }
            sb.Append(_src[_pos++]);
            // @huggingface/jinja rejects a token that runs into the end of the template.
            if (_pos >= _src.Length) throw Error("Unexpected end of input", _pos);
        }
        return sb.ToString();
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }

    private void StripTrailingWhitespace()
    {
        if (_tokens.Count > 0 && _tokens[^1].Type == TokenType.Text)
        {
            var last = _tokens[^1];
            string trimmed = JsSemantics.TrimEnd(last.Value);
            if (trimmed.Length == 0) _tokens.RemoveAt(_tokens.Count - 1);
            else _tokens[^1] = last with { Value = trimmed };
        }
    }

    private void SkipLeadingWhitespace()
    {
        while (_pos < _src.Length && JsSemantics.IsWhitespace(_src[_pos])) ++_pos;
    }

    private void Run()
    {
        int curlyDepth = 0;
        while (_pos < _src.Length)
        {
            TokenType? lastType = _tokens.Count > 0 ? _tokens[^1].Type : null;
            if (lastType is null or TokenType.CloseStatement or TokenType.CloseExpression or TokenType.Comment)
            {
                int start = _pos;
                while (_pos < _src.Length && !(_src[_pos] == '{' && At(_pos + 1) is '%' or '{' or '#'))
                    _pos++;
                if (_pos > start)
                {
                    Add(TokenType.Text, _src[start.._pos], start);
                    continue;
                }
            }

            if (_src[_pos] == '{' && At(_pos + 1) == '#')
            {
                int open = _pos;
                _pos += 2;
                bool stripBefore = At(_pos) == '-';
                if (stripBefore) ++_pos;
                int commentStart = _pos;
                while (At(_pos) != '#' || At(_pos + 1) != '}')
                {
                    if (_pos + 2 >= _src.Length) throw Error("Missing end of comment tag", open);
                    _pos++;
                }
                string comment = _src[commentStart.._pos];
                bool stripAfter = comment.EndsWith('-');
                if (stripAfter) comment = comment[..^1];
                if (stripBefore) StripTrailingWhitespace();
                Add(TokenType.Comment, comment, open);
                _pos += 2;
                if (stripAfter) SkipLeadingWhitespace();
                continue;
            }

            if (StartsWithAt(_pos, "{%-"))
            {
                StripTrailingWhitespace();
                Add(TokenType.OpenStatement, "{%", _pos);
                _pos += 3;
                continue;
            }
            if (StartsWithAt(_pos, "{{-"))
            {
                StripTrailingWhitespace();
                Add(TokenType.OpenExpression, "{{", _pos);
                curlyDepth = 0;
                _pos += 3;
                continue;
            }

            ConsumeWhile(JsSemantics.IsWhitespace);

            if (StartsWithAt(_pos, "-%}"))
            {
                Add(TokenType.CloseStatement, "%}", _pos);
                _pos += 3;
                SkipLeadingWhitespace();
                continue;
            }
            if (StartsWithAt(_pos, "-}}"))
            {
                Add(TokenType.CloseExpression, "}}", _pos);
                _pos += 3;
                SkipLeadingWhitespace();
                continue;
            }

            if (_pos >= _src.Length) throw Error("Unexpected end of input", _pos);
            char ch = _src[_pos];
            if (ch is '-' or '+')
            {
                TokenType? prev = _tokens.Count > 0 ? _tokens[^1].Type : null;
                if (prev is null or TokenType.Text) throw Error($"Unexpected character: {ch}", _pos);
                if (prev is not (TokenType.Identifier or TokenType.NumericLiteral or TokenType.StringLiteral
                    or TokenType.CloseParen or TokenType.CloseSquareBracket))
                {
                    int start = _pos;
                    ++_pos;
                    string num = ConsumeWhile(JsSemantics.IsDigit);
                    if (num.Length > 0 && At(_pos) == '.' && JsSemantics.IsDigit(At(_pos + 1)))
                    {
                        ++_pos;
                        num = num + "." + ConsumeWhile(JsSemantics.IsDigit);
                    }
                    Add(num.Length > 0 ? TokenType.NumericLiteral : TokenType.UnaryOperator, ch + num, start);
                    continue;
                }
            }

            bool matched = false;
            foreach (var (text, type) in Table)
            {
                if (text == "}}" && curlyDepth > 0) continue;
                if (!StartsWithAt(_pos, text)) continue;
                Add(type, text, _pos);
                if (type == TokenType.OpenExpression) curlyDepth = 0;
                else if (type == TokenType.OpenCurlyBracket) ++curlyDepth;
                else if (type == TokenType.CloseCurlyBracket) --curlyDepth;
                _pos += text.Length;
                matched = true;
                break;
            }
            if (matched) continue;

            if (ch is '\'' or '"')
            {
                int start = _pos;
                ++_pos;
                string str;
                try
                {
                    if (_pos >= _src.Length) throw Error("Unexpected end of input", _pos);
                    str = ConsumeWhile(c => c != ch);
                }
                catch (TemplateSyntaxException e) when (e.Message.StartsWith("Unexpected end", StringComparison.Ordinal))
                {
                    throw Error("Unterminated string literal", start);
                }
                Add(TokenType.StringLiteral, str, start);
                ++_pos;
                continue;
            }
            if (JsSemantics.IsDigit(ch))
            {
                int start = _pos;
                string num = ConsumeWhile(JsSemantics.IsDigit);
                if ((_tokens.Count == 0 || _tokens[^1].Type != TokenType.Dot) && At(_pos) == '.' && JsSemantics.IsDigit(At(_pos + 1)))
                {
                    ++_pos;
                    num = num + "." + ConsumeWhile(JsSemantics.IsDigit);
                }
                Add(TokenType.NumericLiteral, num, start);
                continue;
            }
            if (JsSemantics.IsWordChar(ch))
            {
                int start = _pos;
                Add(TokenType.Identifier, ConsumeWhile(JsSemantics.IsWordChar), start);
                continue;
            }
            throw Error($"Unexpected character: {ch}", _pos);
        }
    }
}
