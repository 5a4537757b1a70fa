using System.Globalization;
using System.Runtime.CompilerServices;

namespace SeekSharp.Chat.Templates;

/// <summary>
/// Recursive-descent parser with @huggingface/jinja's grammar and precedence (lowest first): ternary/select,
/// or, and, not, comparison and membership, additive (+ - ~), multiplicative, power (left-associative),
/// is-tests, filters, unary sign, call/member, primary.
/// </summary>
internal sealed class Parser
{
    private readonly List<Token> _tokens;
    private readonly string _source;
    private readonly int _maxDepth;
    private int _current;
    private int _depth;

    private Parser(List<Token> tokens, string source, int maxDepth)
    {
        _tokens = tokens;
        _source = source;
        _maxDepth = maxDepth;
    }

    public static TemplateProgram Parse(string source, TemplateLimits limits)
    {
        var parser = new Parser(Lexer.Tokenize(source), source, limits.MaxNestingDepth);
        var body = new List<Node>();
        while (parser._current < parser._tokens.Count)
            body.Add(parser.ParseAny());
        return new TemplateProgram(body);
    }

    private TemplateSyntaxException Error(string message, Token? at = null)
    {
        int offset = at?.Position ?? (_current < _tokens.Count ? _tokens[_current].Position : _source.Length);
        var (line, column) = Lexer.LineColumn(_source, offset);
        return new TemplateSyntaxException(message, line, column);
    }

    private Token Peek() => _current < _tokens.Count ? _tokens[_current] : throw Error("Unexpected end of template");

    private Token Next()
    {
        var token = Peek();
        _current++;
        return token;
    }

    private void Enter()
    {
        if (++_depth > _maxDepth)
            throw new TemplateLimitException($"Template nesting is deeper than {_maxDepth} levels.");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new TemplateLimitException("Template nesting is too deep for the stack.");
    }

    private void Leave() => _depth--;

    private Token Expect(TokenType type, string error)
    {
        if (_current >= _tokens.Count) throw Error($"{error}, got end of template");
        var token = _tokens[_current++];
        if (token.Type != type) throw Error($"{error}, got {token.Type} '{token.Value}'", token);
        return token;
    }

    private void ExpectIdentifier(string name)
    {
        if (!IsIdentifier(name)) throw Error($"Expected '{name}'");
        ++_current;
    }

    private bool Is(TokenType type) => _current < _tokens.Count && _tokens[_current].Type == type;

    private bool IsStatement(params string[] names) =>
        _current + 1 < _tokens.Count && _tokens[_current].Type == TokenType.OpenStatement
        && _tokens[_current + 1].Type == TokenType.Identifier && Array.IndexOf(names, _tokens[_current + 1].Value) >= 0;

    private bool IsIdentifier(string name, int ahead = 0) =>
        _current + ahead < _tokens.Count && _tokens[_current + ahead].Type == TokenType.Identifier
        && _tokens[_current + ahead].Value == name;

    private Node ParseAny()
    {
        Enter();
        try
        {
            var token = Peek();
            switch (token.Type)
            {
                case TokenType.Comment: _current++; return new CommentNode(token.Position);
                case TokenType.Text: _current++; return new StringLiteral(token.Position, token.Value);
                case TokenType.OpenStatement: return ParseJinjaStatement();
                case TokenType.OpenExpression:
                {
                    _current++;
                    var result = ParseExpression();
                    Expect(TokenType.CloseExpression, "Expected closing expression token '}}'");
                    return result;
                }
                default: throw Error($"Unexpected token {token.Type} '{token.Value}'", token);
            }
        }
        finally { Leave(); }
    }

    private List<Node> ParseBodyUntil(string what, params string[] ends)
    {
        var body = new List<Node>();
        while (!IsStatement(ends))
        {
            if (_current >= _tokens.Count) throw Error($"Unexpected end of template, expected {what}");
            body.Add(ParseAny());
        }
        return body;
    }

    private void ExpectEnd(string name)
    {
        Expect(TokenType.OpenStatement, $"Expected '{{% {name} %}}'");
        ExpectIdentifier(name);
        Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
    }

    private Node ParseJinjaStatement()
    {
        var open = Expect(TokenType.OpenStatement, "Expected opening statement token");
        var nameToken = Peek();
        if (nameToken.Type != TokenType.Identifier) throw Error($"Unknown statement, got {nameToken.Type}", nameToken);
        int pos = open.Position;
        switch (nameToken.Value)
        {
            case "set":
                ++_current;
                return ParseSetStatement(pos);
            case "if":
            {
                ++_current;
                var result = ParseIfStatement(pos);
                ExpectEnd("endif");
                return result;
            }
            case "macro":
            {
                ++_current;
                var name = ParsePrimaryExpression();
                if (name is not Identifier id) throw Error("Expected identifier following macro statement", nameToken);
                var args = ParseArgs(parameters: true);
                Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
                var body = ParseBodyUntil("{% endmacro %}", "endmacro");
                ExpectEnd("endmacro");
                return new MacroNode(pos, id, args, body);
            }
            case "for":
            {
                ++_current;
                var result = ParseForStatement(pos);
                ExpectEnd("endfor");
                return result;
            }
            case "call":
            {
                ++_current;
                List<Node>? callerArgs = null;
                if (Is(TokenType.OpenParen)) callerArgs = ParseArgs(parameters: true);
                var callee = ParsePrimaryExpression();
                if (callee is not Identifier) throw Error("Expected identifier following call statement", nameToken);
                var callArgs = ParseArgs(parameters: false);
                Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
                var body = ParseBodyUntil("{% endcall %}", "endcall");
                ExpectEnd("endcall");
                return new CallStatementNode(pos, new CallExpression(callee.Position, callee, callArgs), callerArgs, body);
            }
            case "break":
                ++_current;
                Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
                return new BreakNode(pos);
            case "continue":
                ++_current;
                Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
                return new ContinueNode(pos);
            case "filter":
            {
                ++_current;
                var filter = ParsePrimaryExpression();
                if (filter is Identifier && Is(TokenType.OpenParen)) filter = ParseCallExpression(filter);
                Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
                var body = ParseBodyUntil("{% endfilter %}", "endfilter");
                ExpectEnd("endfilter");
                return new FilterStatementNode(pos, filter, body);
            }
            default:
                throw Error($"Unknown statement type: {nameToken.Value}", nameToken);
        }
    }

    private Node ParseSetStatement(int pos)
    {
        var left = ParseExpressionSequence(primary: false);
        Node? value = null;
        var body = new List<Node>();
        if (Is(TokenType.Equals))
        {
            ++_current;
            value = ParseExpressionSequence(primary: false);
        }
        else
        {
            Expect(TokenType.CloseStatement, "Expected '%}' or '=' in set statement");
            body = ParseBodyUntil("{% endset %}", "endset");
            Expect(TokenType.OpenStatement, "Expected '{% endset %}'");
            ExpectIdentifier("endset");
        }
        Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
        return new SetNode(pos, left, value, body);
    }

    private IfNode ParseIfStatement(int pos)
    {
        var test = ParseExpression();
        Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
        var body = ParseBodyUntil("{% endif %}", "elif", "else", "endif");
        var alternate = new List<Node>();
        if (IsStatement("elif"))
        {
            int elifPos = _tokens[_current].Position;
            _current += 2;
            alternate.Add(ParseIfStatement(elifPos));
        }
        else if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
            alternate = ParseBodyUntil("{% endif %}", "endif");
        }
        return new IfNode(pos, test, body, alternate);
    }

    private Node ParseExpressionSequence(bool primary)
    {
        int pos = Peek().Position;
        var first = primary ? ParsePrimaryExpression() : ParseExpression();
        if (!Is(TokenType.Comma)) return first;
        var items = new List<Node> { first };
        while (true)
        {
            ++_current;
            items.Add(primary ? ParsePrimaryExpression() : ParseExpression());
            if (!Is(TokenType.Comma)) break;
        }
        return new TupleLiteral(pos, items);
    }

    private ForNode ParseForStatement(int pos)
    {
        var loopVar = ParseExpressionSequence(primary: true);
        if (loopVar is not (Identifier or TupleLiteral))
            throw Error("Expected identifier/tuple for the loop variable");
        if (!IsIdentifier("in")) throw Error("Expected 'in' keyword following loop variable");
        ++_current;
        var iterable = ParseExpression();
        Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
        var body = ParseBodyUntil("{% endfor %}", "endfor", "else");
        var alternative = new List<Node>();
        if (IsStatement("else"))
        {
            _current += 2;
            Expect(TokenType.CloseStatement, "Expected closing statement token '%}'");
            alternative = ParseBodyUntil("{% endfor %}", "endfor");
        }
        return new ForNode(pos, loopVar, iterable, body, alternative);
    }

    private Node ParseExpression()
    {
        Enter();
        try { return ParseIfExpression(); }
        finally { Leave(); }
    }

    private Node ParseIfExpression()
    {
        var a = ParseLogicalOr();
        if (IsIdentifier("if"))
        {
            int pos = _tokens[_current].Position;
            ++_current;
            var test = ParseLogicalOr();
            if (IsIdentifier("else"))
            {
                ++_current;
                var falseExpr = ParseExpression();
                return new TernaryExpression(pos, test, a, falseExpr);
            }
            return new SelectExpression(pos, a, test);
        }
        return a;
    }

    private Node ParseLogicalOr()
    {
        var left = ParseLogicalAnd();
        while (IsIdentifier("or"))
        {
            int pos = _tokens[_current++].Position;
            left = new BinaryExpression(pos, "or", left, ParseLogicalAnd());
        }
        return left;
    }

    private Node ParseLogicalAnd()
    {
        var left = ParseLogicalNot();
        while (IsIdentifier("and"))
        {
            int pos = _tokens[_current++].Position;
            left = new BinaryExpression(pos, "and", left, ParseLogicalNot());
        }
        return left;
    }

    private Node ParseLogicalNot()
    {
        UnaryExpression? right = null;
        while (IsIdentifier("not"))
        {
            int pos = _tokens[_current++].Position;
            Enter();
            try { right = new UnaryExpression(pos, "not", ParseLogicalNot()); }
            finally { Leave(); }
        }
        return right ?? ParseComparison();
    }

    private Node ParseComparison()
    {
        var left = ParseAdditive();
        while (true)
        {
            string op;
            int pos;
            if (IsIdentifier("not") && IsIdentifier("in", 1)) { op = "not in"; pos = _tokens[_current].Position; _current += 2; }
            else if (IsIdentifier("in")) { op = "in"; pos = _tokens[_current++].Position; }
            else if (Is(TokenType.ComparisonBinaryOperator)) { var t = _tokens[_current++]; op = t.Value; pos = t.Position; }
            else break;
            left = new BinaryExpression(pos, op, left, ParseAdditive());
        }
        return left;
    }

    private Node ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Is(TokenType.AdditiveBinaryOperator))
        {
            var t = _tokens[_current++];
            left = new BinaryExpression(t.Position, t.Value, left, ParseMultiplicative());
        }
        return left;
    }

    private Node ParseMultiplicative()
    {
        var left = ParsePower();
        while (Is(TokenType.MultiplicativeBinaryOperator))
        {
            var t = _tokens[_current++];
            left = new BinaryExpression(t.Position, t.Value, left, ParsePower());
        }
        return left;
    }

    private Node ParsePower()
    {
        var left = ParseTest();
        while (Is(TokenType.ExponentiationBinaryOperator))
        {
            var t = _tokens[_current++];
            left = new BinaryExpression(t.Position, t.Value, left, ParseTest());
        }
        return left;
    }

    private Node ParseTest()
    {
        var operand = ParseFilter();
        while (IsIdentifier("is"))
        {
            int pos = _tokens[_current++].Position;
            bool negate = IsIdentifier("not");
            if (negate) ++_current;
            var test = ParsePrimaryExpression();
            if (test is not Identifier id) throw Error("Expected identifier for the test");
            operand = new TestExpression(pos, operand, negate, id);
        }
        return operand;
    }

    private Node ParseFilter()
    {
        var operand = ParseUnarySign();
        while (Is(TokenType.Pipe))
        {
            int pos = _tokens[_current++].Position;
            var filter = ParsePrimaryExpression();
            if (filter is not Identifier) throw Error("Expected identifier for the filter");
            if (Is(TokenType.OpenParen)) filter = ParseCallExpression(filter);
            operand = new FilterExpression(pos, operand, filter);
        }
        return operand;
    }

    private Node ParseUnarySign()
    {
        if (_current < _tokens.Count)
        {
            var token = _tokens[_current];
            if (token.Type is TokenType.UnaryOperator or TokenType.AdditiveBinaryOperator && token.Value is "-" or "+")
            {
                ++_current;
                Enter();
                try { return new UnaryExpression(token.Position, token.Value, ParseUnarySign()); }
                finally { Leave(); }
            }
        }
        return ParseCallMember();
    }

    private Node ParseCallMember()
    {
        var member = ParseMemberExpression(ParsePrimaryExpression());
        return Is(TokenType.OpenParen) ? ParseCallExpression(member) : member;
    }

    private Node ParseCallExpression(Node callee)
    {
        Node expression = new CallExpression(callee.Position, callee, ParseArgs(parameters: false));
        expression = ParseMemberExpression(expression);
        if (Is(TokenType.OpenParen)) expression = ParseCallExpression(expression);
        return expression;
    }

    private List<Node> ParseArgs(bool parameters)
    {
        Expect(TokenType.OpenParen, "Expected opening parenthesis for arguments list");
        var args = new List<Node>();
        var parameterNames = new HashSet<string>(StringComparer.Ordinal);
        bool sawKeywordOrDefault = false, sawSpread = false;
        while (!Is(TokenType.CloseParen))
        {
            var token = Peek();
            bool isKeywordSpread = token.Type == TokenType.ExponentiationBinaryOperator;
            bool isPositionalSpread = token.Type == TokenType.MultiplicativeBinaryOperator && token.Value == "*";
            if (parameters && (isKeywordSpread || isPositionalSpread))
                throw Error("Argument unpacking is not allowed in parameter declarations", token);
            if (isKeywordSpread)
            {
                ++_current;
                args.Add(new KeywordSpreadExpression(token.Position, ParseExpression()));
                if (Is(TokenType.Comma)) ++_current;
                if (!Is(TokenType.CloseParen)) throw Error("Expected closing parenthesis: '**' must be applied to the final argument");
                break;
            }
            Node argument;
            if (isPositionalSpread)
            {
                if (sawSpread) throw Error("Only one '*' argument unpacking is allowed", token);
                sawSpread = true;
                ++_current;
                argument = new SpreadExpression(token.Position, ParseExpression());
            }
            else
            {
                argument = ParseExpression();
                if (Is(TokenType.Equals))
                {
                    ++_current;
                    if (argument is not Identifier key)
                        throw Error(parameters ? "Expected identifier for parameter declaration" : "Expected identifier for keyword argument");
                    argument = new KeywordArgumentExpression(key.Position, key, ParseExpression());
                }
                if (parameters)
                {
                    string name = argument switch
                    {
                        Identifier id => id.Name,
                        KeywordArgumentExpression kw => kw.Key.Name,
                        _ => throw Error("Expected identifier for parameter declaration"),
                    };
                    if (!parameterNames.Add(name)) throw Error($"Duplicate parameter name: {name}");
                }
                if (argument is KeywordArgumentExpression) sawKeywordOrDefault = true;
                else if (sawKeywordOrDefault)
                    throw Error(parameters ? "Non-default argument follows default argument" : "Positional arguments must come before keyword arguments");
                else if (sawSpread) throw Error("Positional arguments must not follow '*' argument unpacking");
            }
            args.Add(argument);
            if (Is(TokenType.Comma)) ++_current;
        }
        Expect(TokenType.CloseParen, "Expected closing parenthesis for arguments list");
        return args;
    }

    private Node ParseMemberArguments(int pos)
    {
        var slices = new List<Node?>();
        bool isSlice = false;
        while (!Is(TokenType.CloseSquareBracket))
        {
            if (Is(TokenType.Colon))
            {
                slices.Add(null);
                ++_current;
                isSlice = true;
            }
            else
            {
                slices.Add(ParseExpression());
                if (Is(TokenType.Colon)) { ++_current; isSlice = true; }
            }
        }
        if (slices.Count == 0) throw Error("Expected at least one argument for member/slice expression");
        if (isSlice)
        {
            if (slices.Count > 3) throw Error("Expected 0-3 arguments for slice expression");
            return new SliceExpression(pos, slices[0], slices.Count > 1 ? slices[1] : null, slices.Count > 2 ? slices[2] : null);
        }
        return slices[0]!;
    }

    private Node ParseMemberExpression(Node obj)
    {
        while (Is(TokenType.Dot) || Is(TokenType.OpenSquareBracket))
        {
            var op = _tokens[_current++];
            Node property;
            bool computed = op.Type == TokenType.OpenSquareBracket;
            if (computed)
            {
                property = ParseMemberArguments(op.Position);
                Expect(TokenType.CloseSquareBracket, "Expected closing square bracket");
            }
            else
            {
                property = ParsePrimaryExpression();
                if (property is not (Identifier or IntegerLiteral))
                    throw Error("Expected identifier or integer following dot operator", op);
            }
            obj = new MemberExpression(op.Position, obj, property, computed);
        }
        return obj;
    }

    private Node ParsePrimaryExpression()
    {
        var token = Next();
        switch (token.Type)
        {
            case TokenType.NumericLiteral:
            {
                double value = double.Parse(token.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                return token.Value.Contains('.') ? new FloatLiteral(token.Position, value) : new IntegerLiteral(token.Position, value);
            }
            case TokenType.StringLiteral:
            {
                string value = token.Value;
                while (Is(TokenType.StringLiteral)) value += _tokens[_current++].Value;
                return new StringLiteral(token.Position, value);
            }
            case TokenType.Identifier:
                return new Identifier(token.Position, token.Value);
            case TokenType.OpenParen:
            {
                Enter();
                try
                {
                    var expression = ParseExpressionSequence(primary: false);
                    Expect(TokenType.CloseParen, "Expected closing parenthesis");
                    return expression;
                }
                finally { Leave(); }
            }
            case TokenType.OpenSquareBracket:
            {
                var values = new List<Node>();
                while (!Is(TokenType.CloseSquareBracket))
                {
                    if (_current >= _tokens.Count) throw Error("Unexpected end of template in list literal");
                    values.Add(ParseExpression());
                    if (Is(TokenType.Comma)) ++_current;
                }
                ++_current;
                return new ArrayLiteral(token.Position, values);
            }
            case TokenType.OpenCurlyBracket:
            {
                var entries = new List<(Node, Node)>();
                while (!Is(TokenType.CloseCurlyBracket))
                {
                    if (_current >= _tokens.Count) throw Error("Unexpected end of template in dict literal");
                    var key = ParseExpression();
                    Expect(TokenType.Colon, "Expected colon between key and value in object literal");
                    entries.Add((key, ParseExpression()));
                    if (Is(TokenType.Comma)) ++_current;
                }
                ++_current;
                return new ObjectLiteral(token.Position, entries);
            }
            default:
                throw Error($"Unexpected token {token.Type} '{token.Value}'", token);
        }
    }
}
