using SeekSharp.Store;

namespace SeekSharp.Tests.Store;

public class ModelNameTests
{
    [Theory]
    [InlineData("deepseek-r1:1.5b", ModelSourceKind.Alias, "deepseek-r1:1.5b")]
    [InlineData("DeepSeek-R1:7B", ModelSourceKind.Alias, "deepseek-r1:7b")]
    [InlineData("hf://bartowski/Repo-GGUF/Model-Q4_K_M.gguf", ModelSourceKind.HuggingFaceFile, "hf://bartowski/Repo-GGUF/Model-Q4_K_M.gguf")]
    [InlineData("hf://owner/repo@v1.0/sub/m.gguf", ModelSourceKind.HuggingFaceFile, "hf://owner/repo@v1.0/sub/m.gguf")]
    [InlineData("hf://owner/repo@main/m.gguf", ModelSourceKind.HuggingFaceFile, "hf://owner/repo/m.gguf")]
    [InlineData("hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", ModelSourceKind.HuggingFaceFolder, "hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")]
    [InlineData("hf://owner/repo/", ModelSourceKind.HuggingFaceFolder, "hf://owner/repo")]
    [InlineData("ollama://deepseek-r1:1.5b", ModelSourceKind.Ollama, "ollama://library/deepseek-r1:1.5b")]
    [InlineData("ollama://library/deepseek-r1:1.5b", ModelSourceKind.Ollama, "ollama://library/deepseek-r1:1.5b")]
    [InlineData("ollama://someone/model", ModelSourceKind.Ollama, "ollama://someone/model:latest")]
    [InlineData("https://example.com/files/m.gguf", ModelSourceKind.Url, "https://example.com/files/m.gguf")]
    public void Parses_each_form_to_one_canonical_name(string text, ModelSourceKind kind, string canonical)
    {
        var name = ModelName.Parse(text);

        Assert.Equal(kind, name.Kind);
        Assert.Equal(canonical, name.Canonical);
        Assert.Equal(name, ModelName.Parse(name.Canonical)); // the canonical form parses to itself
    }

    [Fact]
    public void Hugging_face_names_carry_repository_revision_and_path()
    {
        var name = ModelName.Parse("hf://owner/repo@refs%2Fpr%2F3/sub/m.gguf");

        Assert.Equal("owner/repo", name.Repository);
        Assert.Equal("refs/pr/3", name.Revision);
        Assert.Equal("sub/m.gguf", name.PathInRepository);
    }

    [Theory]
    [InlineData("model.gguf")]
    [InlineData("models/seeksharp-r1-tiny.gguf")]
    [InlineData("/tmp/x.gguf")]
    [InlineData("hf://owner")]
    [InlineData("hf://owner/repo/../other/m.gguf")]
    [InlineData("ollama://a/b/c:tag")]
    [InlineData("https://example.com/")]
    [InlineData("deepseek-r1")]
    public void Paths_and_malformed_names_are_not_names(string text)
    {
        Assert.False(ModelName.TryParse(text, out _, out string? error));
        Assert.NotNull(error);
        Assert.Contains(text.Split('/')[0], error);
    }

    [Fact]
    public void The_built_in_aliases_name_gguf_files_and_invent_no_hash()
    {
        var aliases = ModelAliases.BuiltIn.All;

        Assert.Contains("deepseek-r1:1.5b", aliases.Keys);
        Assert.Contains("deepseek-r1:7b", aliases.Keys);
        Assert.Contains("deepseek-r1:8b", aliases.Keys);
        Assert.All(aliases.Values, a =>
        {
            Assert.EndsWith(".gguf", a.File);
            Assert.Matches("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", a.Repository);
            Assert.Null(a.Sha256); // no hash could be copied from the Hub when the table was written; see aliases.json's note
        });
    }

    [Fact]
    public void An_alias_table_with_a_malformed_hash_is_refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelAliases.Parse("""{"aliases":{"x:1b":{"repo":"a/b","file":"m.gguf","sha256":"abc"}}}"""));
        Assert.Contains("x:1b", e.Message);
    }
}
