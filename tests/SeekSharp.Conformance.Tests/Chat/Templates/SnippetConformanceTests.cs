using SeekSharp.Chat.Templates;

namespace SeekSharp.Conformance.Tests.Chat.Templates;

/// <summary>
/// One small template per language feature, rendered by SeekSharp and by @huggingface/jinja (one node batch):
/// same text, or both raise.
/// </summary>
public sealed class SnippetConformanceTests
{
    private const string Vars = """
        {"s": "  Hello, World  ", "n": 7, "f": 2.5, "neg": -3, "t": true, "nil": null, "e": "",
         "list": [3, 1, 2], "words": ["b", "A", "c"], "empty": [],
         "d": {"b": 1, "a": [1, 2.0, "x"], "9": "nine", "1": "one"},
         "users": [{"name": "ann", "age": 30, "role": "admin"}, {"name": "bob", "age": 25}, {"name": "cy", "age": 35, "role": "user"}],
         "u": "héllo wörld ǆ 日本 🙂", "nested": {"x": {"y": [10, 20, 30]}}}
        """;

    public static readonly string[] Snippets =
    [
        // whitespace control and text
        "a  {{- ' b ' -}}  c",
        "line1\n  {% if t %}\n  yes\n  {% endif %}\nend\n",
        "  {{ n }}\n{# comment #}\n  {#- trimmed -#}  x",
        "{% for x in list %}\n  {{ x }}\n{% endfor %}\n",
        "{%- if t -%}\n\n  padded  \n\n{%- endif -%}",
        "a {% generation %} b {%- endgeneration %} c",
        // literals and printing
        "{{ 1 }} {{ 1.0 }} {{ -0.0 }} {{ 2.50 }} {{ 1e3 if false else 0.1 + 0.2 }} {{ 10 / 4 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }}",
        "{{ true }} {{ none }} {{ undefined_var }} {{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': none} }} {{ (1, 2) | length }}",
        "{{ 'a' ~ 1 ~ 2.0 ~ true ~ [1, 2] }} {{ 'x' + 1 }} {{ [1] + [2, 3] }}",
        "{{ 'it''s' }} {{ \"q\\\"uote\" }} {{ 'tab\\tnl\\nuni\\u00e9\\x41' }} {{ 'ab' 'cd' }}",
        "{{ 1000000000000000000000 }} {{ 123456789012345680000 }} {{ 0.000001 }} {{ 0.0000001 }} {{ 1 / 3 }}",
        // operators, comparisons, membership
        "{{ 1 == 1.0 }} {{ '1' == 1 }} {{ true == 1 }} {{ nil == undefined_var }} {{ [1] == [1] }} {{ list == list }} {{ 'a' != 'b' }}",
        "{{ 2 in list }} {{ 5 not in list }} {{ 'ell' in s }} {{ 'b' in d }} {{ 'z' not in d }} {{ 1 in nothing }} {{ 1 not in nothing }}",
        "{{ n > 3 and n < 10 }} {{ n >= 7 or x }} {{ not t }} {{ not not e }} {{ e or 'fallback' }} {{ s and 'yes' }} {{ 0 or empty or 'last' }}",
        "{{ 'yes' if t else 'no' }} {{ 'a' if false else 'b' if false else 'c' }} {{ ('shown' if false) is defined }}",
        "{{ -n }} {{ +f }} {{ -t }} {{ - - n }}",
        // tests
        "{{ n is number }} {{ f is integer }} {{ s is string }} {{ d is mapping }} {{ list is iterable }} {{ (1,2) is iterable }} {{ s is iterable }} {{ d is sequence }}",
        "{{ nil is none }} {{ x is defined }} {{ x is undefined }} {{ t is true }} {{ t is false }} {{ t is boolean }} {{ n is odd }} {{ n is even }} {{ range is callable }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ n is not none }}",
        // filters
        "{{ s|trim }}|{{ s|length }}|{{ s|upper }}|{{ s|lower }}|{{ 'hello wORLD foo_bar 3d'|title }}|{{ 'hello World'|capitalize }}",
        "{{ list|length }} {{ list|first }} {{ list|last }} {{ list|sort }} {{ words|sort }} {{ list|reverse }} {{ list|join }} {{ list|join(', ') }} {{ words|join('-') }} {{ 'abc'|join('.') }}",
        "{{ [1, 2, 1, '1', 2.0]|unique }} {{ list|list }} {{ list|string }} {{ d|length }} {{ d|items }} {{ d|tojson }} {{ d|dictsort }}",
        "{{ d|tojson(indent=2) }}|{{ users|tojson(indent=1, sort_keys=true) }}|{{ u|tojson }}|{{ u|tojson(ensure_ascii=true) }}|{{ d|tojson(separators=(',', ':')) }}",
        "{{ x|default('dflt') }} {{ nil|default('dflt') }} {{ e|default('dflt', true) }} {{ e|default('dflt', boolean=true) }} {{ n|default(1) }}",
        "{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(9) }} {{ '3.25'|float }} {{ f|int }} {{ n|float }} {{ neg|abs }} {{ t|int }} {{ n|string }} {{ f|string }} {{ t|string }}",
        "{{ users|map(attribute='name')|join(',') }} {{ users|map(attribute='role', default='none')|list }} {{ nested|tojson }}",
        "{{ users|selectattr('role')|map(attribute='name')|list }} {{ users|rejectattr('role')|map(attribute='name')|list }} {{ users|selectattr('role', 'equalto', 'admin')|length }}",
        "{{ users|sort(attribute='age')|map(attribute='name')|join }} {{ users|sort(true, false, 'name')|map(attribute='name')|join }} {{ words|sort(case_sensitive=true) }}",
        "{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb\n\nc'|indent(2, true) }}|{{ 'a\nb\n\nc'|indent(width=3, first=true, blank=true) }}",
        "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'aaa'|replace('', '-') }} {{ s|safe }}",
        "{% filter upper %}shout {{ n }}{% endfilter %}|{% filter replace('o', '0') %}foo boo{% endfilter %}",
        // string methods
        "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.upper() }}|{{ s.lower() }}|{{ s.title() }}|{{ s.length }}|{{ 'xyx'.strip('x') }}",
        "{{ s.startswith('  He') }} {{ s.endswith(('x', '  ')) }} {{ 'a,b,,c'.split(',') }} {{ ' a  b c '.split() }} {{ 'a b c'.split(none, 1) }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.split(',', 0) }}",
        "{{ 'one two'.replace('o', '0') }} {{ 'one two'.replace('o', '0', 1) }} {{ 'one'.replace('o', '0', count=1) }}",
        // dict methods
        "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys() }} {{ d.values() }} {{ d.get('b') }} {{ d.get('zz') }} {{ d.get('zz', 5) }} {{ d['a'][1] }} {{ d.a.0 }}",
        "{% for k in d %}{{ k }},{% endfor %}",
        // indexing and slicing
        "{{ list[0] }} {{ list[-1] }} {{ list[5] }} {{ s[2] }} {{ s[-3] }} {{ list[1:] }} {{ list[:-1] }} {{ list[::-1] }} {{ list[::2] }} {{ list[5:1:-1] }} {{ list[1:-1:-1] }}",
        "{{ u[::-1] }} {{ u[2:7] }} {{ s[::-2] }} {{ nested.x.y[1] }} {{ nested['x']['y'][-1] }} {{ list[0:0] }}",
        // for loops
        "{% for x in list %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }};{% endfor %}",
        "{% for x in empty %}never{% else %}empty!{% endfor %} {% for x in list if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}",
        "{% for x in list %}{% if x == 1 %}{% continue %}{% endif %}[{{ x }}]{% endfor %}|{% for x in list %}[{{ x }}]{% if x == 1 %}{% break %}{% endif %}{% endfor %}",
        "{% for x in list %}{% break %}{% else %}else-after-break{% endfor %}",
        "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %} {% for i in range(3) %}{{ i }}{% endfor %} {% for i in range(1, 10, 3) %}{{ i }}{% endfor %} {{ range(5, 0, -2) }}",
        "{% for x in list %}{% set y = x * 2 %}{{ y }}{% endfor %}{{ y }}|{% set z = 1 %}{% if t %}{% set z = 2 %}{% endif %}{{ z }}",
        "{% for row in [[1, 2], [3]] %}{% for c in row %}{{ loop.index }}{{ c }}{% endfor %};{% endfor %}",
        // set, namespace
        "{% set ns = namespace(count=0, items=[]) %}{% for x in list %}{% set ns.count = ns.count + x %}{% endfor %}{{ ns.count }} {{ ns }}",
        "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set block %}inner {{ n }}{% endset %}[{{ block }}] {% set t2 = (1, 2) %}{{ t2|length }}",
        "{% set ns = namespace(d) %}{{ ns.b }} {% set ns2 = namespace([['k', 1]], z=2) %}{{ ns2.k }}{{ ns2.z }}",
        // macros and call
        "{% macro greet(name, greeting='Hi') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Yo') }} {{ greet(greeting='Hey', name='Cy') }}",
        "{% macro rec(k) %}{{ k }}{% if k > 0 %}{{ rec(k - 1) }}{% endif %}{% endmacro %}{{ rec(4) }}",
        "{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, a=3) }}",
        "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %}",
        "{% macro lst(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) lst([1, 2]) %}<{{ x }}>{% endcall %}",
        // errors (both must raise)
        "{{ raise_exception('custom failure') }}",
        "{{ undefined_var + 1 }}",
        "{{ nil ~ 'x' }}",
        "{{ 'a' < 'b' }}",
        "{{ n|upper }}",
        "{{ s|bogus }}",
        "{{ n is bogus }}",
        "{% for x in s %}{{ x }}{% endfor %}",
        "{{ (1, 2)|tojson }}",
        "{% break %}",
        "{% if t %}unterminated",
        "{{ 'unterminated }}",
        "{{ d[0] }}",
        "{% set x.y = 1 %}",
        "{{ list|map('upper') }}",
        "{{ empty|first }}",
    ];

    private static readonly Lazy<IReadOnlyList<ReferenceRenderer.Result>> Golden = new(() =>
    {
        var variables = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson(Vars)!;
        return ReferenceRenderer.RenderAll([.. Snippets.Select(s => (s, variables))]);
    });

    public static TheoryData<int> Indexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Snippets.Length; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Indexes))]
    public void SnippetMatchesHuggingFaceJinja(int index)
    {
        string snippet = Snippets[index];
        var expected = Golden.Value[index];
        var variables = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson(Vars)!;
        string? actual = null;
        TemplateException? error = null;
        try { actual = ChatTemplate.Parse(snippet).Render(variables); }
        catch (TemplateException e) { error = e; }
        if (!expected.Ok)
        {
            Assert.True(error != null, $"template: {snippet}\nreference raised \"{expected.Text}\" but SeekSharp rendered: {actual}");
            return;
        }
        Assert.True(error == null, $"template: {snippet}\nSeekSharp raised {error?.GetType().Name}: {error?.Message}\nreference: {expected.Text}");
        if (actual != expected.Text)
            Assert.Fail($"template: {snippet}\n{TemplateConformanceTests.DescribeMismatch(expected.Text, actual!)}");
    }
}
