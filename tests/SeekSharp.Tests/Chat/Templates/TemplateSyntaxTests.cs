using SeekSharp.Chat.Templates;

namespace SeekSharp.Tests.Chat.Templates;

public sealed class TemplateSyntaxTests
{
    [Theory]
    [InlineData("line one\n{{ x ! }}", 2, 6)]                                   // unexpected character
    [InlineData("{% if x %}\n  {% bogus %}\n{% endif %}", 2, 6)]                   // unknown statement, after lstrip_blocks
    [InlineData("ok\n\n   {{ 'never closed }}", 3, 7)]                           // unterminated string
    [InlineData("{% for x in xs %}\n{{ x }}\n", 3, 1)]                             // missing endfor, at end of template
    [InlineData("{{ a.( }}", 1, 8)]                                              // "(" after a dot opens an expression that "}}" cannot start
    [InlineData("{# never closed", 1, 1)]                                        // comment
    [InlineData("{% set x = 1 %}{% macro m(a=1, b) %}{% endmacro %}", 1, 33)]    // non-default after default
    [InlineData("{{ 'bad \\q escape' }}", 1, 9)]                                 // escape
    public void SyntaxErrorsReportLineAndColumn(string source, int line, int column)
    {
        var e = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(source));
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.Contains($"line {line}, column {column}", e.Message);
    }

    [Fact]
    public void RuntimeErrorsNameTheirPosition()
    {
        var template = ChatTemplate.Parse("ok\n{{ 1 + none }}");
        var e = Assert.Throws<TemplateRuntimeException>(() => template.Render(new Dictionary<string, object?>()));
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void RaiseExceptionCarriesTheTemplatesMessage()
    {
        var template = ChatTemplate.Parse("{{ raise_exception('Only user and assistant roles are supported!') }}");
        var e = Assert.Throws<TemplateRaisedException>(() => template.Render(new Dictionary<string, object?>()));
        Assert.Equal("Only user and assistant roles are supported!", e.Message);
    }
}
