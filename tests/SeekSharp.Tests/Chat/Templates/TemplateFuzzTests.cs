using System.Diagnostics;
using SeekSharp.Chat.Templates;

namespace SeekSharp.Tests.Chat.Templates;

/// <summary>
/// Random mutations of real templates must parse and render, or fail with a TemplateException; never another
/// exception type, never a hang.
/// </summary>
public sealed class TemplateFuzzTests
{
    private const string Alphabet = "{}%#-+*/()[].,:|'\"~=<>!\\ \n\tabxyz019_";
    private static readonly string[] Words =
    [
        "{%", "%}", "{{", "}}", "{#", "#}", "{%-", "-%}", " if ", " for ", " in ", " endfor ", " endif ", " else ", " elif ",
        " set ", " macro ", " endmacro ", " call ", " endcall ", " break ", " continue ", " not ", " and ", " or ", " is ",
        " none ", " defined ", "|tojson", "|length", "|join(',')", "loop.index", "messages", "message", "ns.", "[::-1]", "[-1]",
        "range(", "namespace(", "caller()", "raise_exception(", "**", "//", "~", "==",
    ];

    private static string Mutate(string source, Random random)
    {
        var s = source;
        int edits = random.Next(1, 6);
        for (int e = 0; e < edits; e++)
        {
            int at = s.Length == 0 ? 0 : random.Next(s.Length);
            switch (random.Next(5))
            {
                case 0: if (s.Length > 0) s = s.Remove(at, 1); break;
                case 1: s = s.Insert(at, Alphabet[random.Next(Alphabet.Length)].ToString()); break;
                case 2: s = s.Insert(at, Words[random.Next(Words.Length)]); break;
                case 3:
                {
                    int length = Math.Min(s.Length - at, random.Next(1, 40));
                    if (length > 0) s = s.Insert(random.Next(s.Length), s.Substring(at, length));
                    break;
                }
                default:
                {
                    int length = Math.Min(s.Length - at, random.Next(1, 20));
                    if (length > 0) s = s.Remove(at, length);
                    break;
                }
            }
        }
        return s;
    }

    [Fact]
    public void MutatedRealTemplatesRenderOrThrowTemplateExceptions()
    {
        var random = new Random(20250314);
        var limits = new TemplateLimits { MaxLoopIterations = 20_000, MaxOutputLength = 1_000_000, MaxRecursionDepth = 32 };
        var conversation = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson(
            File.ReadAllText(RealTemplates.ConversationPath("07-parallel-tool-calls-object-arguments.json")))!;
        var variables = ChatTemplate.ChatVariables((IReadOnlyList<object?>)conversation["messages"]!,
            (IReadOnlyList<object?>)conversation["tools"]!, true, "<s>", "</s>",
            new Dictionary<string, object?> { ["enable_thinking"] = false });
        int rendered = 0, syntax = 0, runtime = 0, limited = 0;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 3000; i++)
        {
            var (name, source) = RealTemplates.All[i % RealTemplates.All.Count];
            string mutated = Mutate(source, random);
            var caseWatch = Stopwatch.StartNew();
            try
            {
                ChatTemplate.Parse(mutated, limits).Render(variables);
                rendered++;
            }
            catch (TemplateSyntaxException) { syntax++; }
            catch (TemplateRuntimeException) { runtime++; }
            catch (TemplateLimitException) { limited++; }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i} of {name} threw {e.GetType().Name}: {e.Message}\n--- template ---\n{mutated}\n{e.StackTrace}");
            }
            Assert.True(caseWatch.Elapsed < TimeSpan.FromSeconds(5), $"mutation {i} of {name} took {caseWatch.Elapsed}:\n{mutated}");
        }
        Assert.True(rendered > 100 && syntax > 100, $"rendered {rendered}, syntax {syntax}, runtime {runtime}, limit {limited}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"fuzzing took {watch.Elapsed}");
    }
}
