using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using static SeekSharp.Web.Tests.ChatPage;

namespace SeekSharp.Web.Tests;

/// <summary>The main flow of the chat page in headless Chromium against the bundled reasoning model; screenshots of
/// each step go to artifacts/web/.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class ChatFlowTests(BrowserFixture fixture)
{
    [Fact]
    public async Task ReasoningStreamsLive_ThenFolds_ThenTheAnswerShows()
    {
        var page = await fixture.OpenAsync();
        await TraceAnswersAsync(page);
        await AskAsync(page, "What is 347 + 829?");
        var answer = await WaitForAnswerAsync(page);
        await ShotAsync(page, "01-answer-light");

        var trace = await TraceAsync(page);
        var streaming = trace.Where(s => s.Status == "streaming").ToList();
        // Reasoning showed while it was still being written (part of it, open under "Thinking…", no answer text yet).
        int fullReasoning = trace[^1].Reasoning;
        var thinking = streaming.Where(s => s.Content == 0 && s.Reasoning > 0).ToList();
        Assert.True(thinking.Count(s => s.Reasoning < fullReasoning) >= 5, $"reasoning did not stream: {Describe(trace)}");
        Assert.All(thinking, s => { Assert.True(s.Open); Assert.Equal("Thinking…", s.Summary); });
        // Once answer text shows, the reasoning is folded under "Thought for N seconds".
        var answered = trace.Where(s => s.Content > 0).ToList();
        Assert.NotEmpty(answered);
        Assert.All(answered, s => Assert.False(s.Open, $"reasoning still open beside the answer: {Describe(trace)}"));
        Assert.Matches(ThoughtFor(), answered[^1].Summary);

        await Expect(answer.Locator(".content")).ToHaveTextAsync("1176");
        await Expect(answer.Locator(".meta")).ToContainTextAsync("tokens/s");
        // Folded reasoning opens on request and holds the model's column-by-column work.
        await answer.Locator("summary").ClickAsync();
        await Expect(answer.Locator(".reasoning-text")).ToContainTextAsync("7 + 9");
        await ShotAsync(page, "02-reasoning-expanded");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task StopKeepsThePartialAnswerMarkedStopped_ThenContinueAndRegenerate()
    {
        var page = await fixture.OpenAsync();
        // A three-digit multiplication: about 350 tokens of reasoning, time to press stop in the middle.
        await AskAsync(page, "What is 987 * 654?");
        await page.WaitForFunctionAsync("() => ([...document.querySelectorAll('article.message.assistant .reasoning-text')].at(-1)?.textContent.length ?? 0) > 30");
        await page.ClickAsync("#stop-button");
        var answer = await WaitForAnswerAsync(page, "stopped");
        await Expect(answer.Locator(".badge.stopped")).ToHaveTextAsync("Stopped");
        string partial = (await answer.Locator(".reasoning-text").TextContentAsync())!;
        Assert.True(partial.Length > 30, partial);
        await ShotAsync(page, "03-stopped");

        // Reloading finds the cut answer stored as stopped, with what was streamed.
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-ready='true']");
        answer = await WaitForAnswerAsync(page, "stopped");
        string stored = (await answer.Locator(".reasoning-text").TextContentAsync())!;
        Assert.StartsWith(stored, partial);   // the page may have shown a few more tokens than the last write held

        await answer.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        answer = await WaitForAnswerAsync(page);
        string continued = (await answer.Locator(".reasoning-text").TextContentAsync())!;
        Assert.StartsWith(stored.TrimEnd(), continued);
        Assert.True(continued.Length > stored.Length);
        Assert.NotEmpty((await answer.Locator(".content").TextContentAsync())!.Trim());
        await Expect(page.Locator("article.message")).ToHaveCountAsync(2);

        await answer.GetByRole(AriaRole.Button, new() { Name = "Regenerate" }).ClickAsync();
        answer = await WaitForAnswerAsync(page);
        await Expect(page.Locator("article.message")).ToHaveCountAsync(2);
        Assert.NotEmpty((await answer.Locator(".content").TextContentAsync())!.Trim());
        await ShotAsync(page, "04-regenerated");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task EditAndResendReplacesTheQuestionAndItsAnswer()
    {
        var page = await fixture.OpenAsync();
        await AskAsync(page, "What is 12 + 30?");
        await WaitForAnswerAsync(page);
        await page.Locator("article.message.user").GetByRole(AriaRole.Button, new() { Name = "Edit" }).ClickAsync();
        await page.FillAsync("textarea.edit-input", "What is 25 + 17?");
        await page.PressAsync("textarea.edit-input", "Enter");
        var answer = await WaitForAnswerAsync(page);
        await Expect(page.Locator("article.message")).ToHaveCountAsync(2);
        await Expect(page.Locator("article.message.user .bubble")).ToHaveTextAsync("What is 25 + 17?");
        await Expect(answer.Locator(".content")).ToHaveTextAsync("42");
        await ShotAsync(page, "05-edited");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ReloadFindsTheConversation_ThenSearchRenameAndDelete()
    {
        var page = await fixture.OpenAsync();
        await AskAsync(page, "What is 101 + 202?");
        await WaitForAnswerAsync(page);
        string title = (await page.TextContentAsync("#chat-title"))!;
        Assert.Equal("What is 101 + 202?", title);

        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync(title);
        await Expect(page.Locator("article.message")).ToHaveCountAsync(2);
        await Expect(page.Locator(LastAnswer).Locator(".content")).ToHaveTextAsync("303");

        // Search by a word of the answer's question; then by something no conversation holds.
        await page.FillAsync("#search", "101 + 202");
        await Expect(page.Locator(".conversation", new() { HasText = title })).ToHaveCountAsync(1);
        await page.FillAsync("#search", "no conversation says this");
        await Expect(page.Locator(".conversation")).ToHaveCountAsync(0);
        await page.FillAsync("#search", "");

        await page.ClickAsync("#rename-button");
        await page.FillAsync("#rename-input", "Sums");
        await page.PressAsync("#rename-input", "Enter");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("Sums");
        await Expect(page.Locator(".conversation", new() { HasText = "Sums" })).ToHaveCountAsync(1);

        await page.ClickAsync("#delete-button");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("New chat");
        await Expect(page.Locator(".conversation", new() { HasText = "Sums" })).ToHaveCountAsync(0);
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-ready='true']");
        await Expect(page.Locator(".conversation", new() { HasText = "Sums" })).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ExportThenImportIntoAFreshDatabase()
    {
        var page = await fixture.OpenAsync();
        await AskAsync(page, "What is 64 + 36?");
        await WaitForAnswerAsync(page);
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#export-button"));
        string file = Path.Combine(fixture.Folder, "export.json");
        await download.SaveAsAsync(file);
        using var exported = JsonDocument.Parse(await File.ReadAllTextAsync(file));
        var messages = exported.RootElement.GetProperty("messages");
        Assert.Equal(2, messages.GetArrayLength());
        Assert.Equal("user", messages[0].GetProperty("role").GetString());
        Assert.Equal("What is 64 + 36?", messages[0].GetProperty("content").GetString());
        Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
        Assert.Equal("100", messages[1].GetProperty("content").GetString());
        string reasoning = messages[1].GetProperty("reasoning_content").GetString()!;
        Assert.Contains("4 + 6", reasoning);

        // Another server with an empty database takes the file through the page's Import button.
        await using var fresh = await AppServer.StartAsync(Path.Combine(fixture.Folder, "fresh.db"));
        var other = await fixture.OpenAsync(fresh);
        await Expect(other.Locator(".conversation")).ToHaveCountAsync(0);
        var chooser = await other.RunAndWaitForFileChooserAsync(() => other.ClickAsync("#import-button"));
        await chooser.SetFilesAsync(file);
        await Expect(other.Locator("#chat-title")).ToHaveTextAsync("What is 64 + 36?");
        await Expect(other.Locator("article.message.user .bubble")).ToHaveTextAsync("What is 64 + 36?");
        await Expect(other.Locator(LastAnswer).Locator(".content")).ToHaveTextAsync("100");
        await Expect(other.Locator(LastAnswer).Locator(".reasoning-text")).ToHaveTextAsync(reasoning);
        await ShotAsync(other, "06-imported");
        await other.Context.CloseAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task MarkdownCodeAndMathRender_AndTheModelsTextCannotRunScript()
    {
        // An answer as a larger model writes them, imported (the bundled model answers sums in plain text).
        const string Answer = """
            The **sum** of the first $n$ integers is
            $$\sum_{k=1}^{n} k = \frac{n(n+1)}{2}$$
            and in C#, with \(n = 10\):

            ```csharp
            int Sum(int n) => n * (n + 1) / 2; // 55 for n = 10
            ```

            | n | sum |
            |---|-----|
            | 10 | 55 |

            <img src="x" onerror="window.__pwned = true"><script>window.__pwned = true</script>
            [link](javascript:window.__pwned=true)
            """;
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        var body = new { title = "Markdown", messages = new object[] { new { role = "user", content = "Sum of 1..n?" }, new { role = "assistant", content = Answer, reasoning_content = "Gauss pairs the terms." } } };
        var imported = await (await http.PostAsync("app/api/import", new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync();
        string id = JsonDocument.Parse(imported).RootElement.GetProperty("imported")[0].GetProperty("id").GetString()!;

        var page = await fixture.OpenAsync();
        await page.GotoAsync($"{fixture.Server.BaseAddress}#c/{id}");
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-ready='true']");
        var content = page.Locator(LastAnswer).Locator(".content");
        await Expect(content.Locator("strong")).ToHaveTextAsync("sum");
        await Expect(content.Locator(".math-block .katex-display")).ToHaveCountAsync(1);   // $$…$$
        Assert.True(await content.Locator(".katex").CountAsync() >= 3);                   // and $n$, \(n = 10\)
        await Expect(content.Locator(".code-block .code-lang")).ToHaveTextAsync("csharp");
        await Expect(content.Locator("pre code .hljs-built_in").First).ToHaveTextAsync("int");
        await Expect(content.Locator("pre code .hljs-title")).ToHaveTextAsync("Sum");
        await Expect(content.Locator("pre code .hljs-comment")).ToHaveTextAsync("// 55 for n = 10");
        await Expect(content.Locator("table td").Last).ToHaveTextAsync("55");
        Assert.Equal(0, await content.Locator("script").CountAsync());
        Assert.Null(await content.Locator("img").First.GetAttributeAsync("onerror"));
        Assert.DoesNotContain("javascript:", await content.InnerHTMLAsync());
        await content.Locator("a", new() { HasText = "link" }).ClickAsync();
        Assert.False(await page.EvaluateAsync<bool>("() => window.__pwned === true"));
        await ShotAsync(page, "10-markdown");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task ThemeFollowsTheSystem_AndTheButtonSwitchesIt()
    {
        var light = await fixture.OpenAsync(scheme: ColorScheme.Light);
        var dark = await fixture.OpenAsync(scheme: ColorScheme.Dark);
        string Background(IPage p) => p.EvaluateAsync<string>("() => getComputedStyle(document.body).backgroundColor").Result;
        Assert.Equal("rgb(255, 255, 255)", Background(light));
        Assert.Equal("rgb(22, 24, 28)", Background(dark));

        await AskAsync(dark, "What is 58 + 67?");
        await WaitForAnswerAsync(dark);
        await dark.Locator(LastAnswer).Locator("summary").ClickAsync();
        await ShotAsync(dark, "07-answer-dark");

        // system → light → dark, remembered across reloads.
        await light.ClickAsync("#theme-button");
        await Expect(light.Locator("#theme-state")).ToHaveTextAsync("light");
        Assert.Equal("rgb(255, 255, 255)", Background(light));
        await light.ClickAsync("#theme-button");
        await Expect(light.Locator("#theme-state")).ToHaveTextAsync("dark");
        Assert.Equal("rgb(22, 24, 28)", Background(light));
        await light.ReloadAsync();
        await light.WaitForSelectorAsync("body[data-ready='true']");
        Assert.Equal("rgb(22, 24, 28)", Background(light));
        await light.ClickAsync("#theme-button");
        await Expect(light.Locator("#theme-state")).ToHaveTextAsync("system");
        Assert.Equal("rgb(255, 255, 255)", Background(light));
        await light.Context.CloseAsync();
        await dark.Context.CloseAsync();
    }

    [Fact]
    public async Task KeyboardOnly_AskReadTheReasoningAndFindTheConversation()
    {
        var page = await fixture.OpenAsync();
        // The first Tab reaches the skip link, which leads to the message box.
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("skip-link", await page.EvaluateAsync<string>("() => document.activeElement.className"));
        await AssertVisibleFocusAsync(page);
        await page.Keyboard.PressAsync("Enter");
        Assert.Equal("composer-input", await page.EvaluateAsync<string>("() => document.activeElement.id"));
        await page.Keyboard.TypeAsync("What is 45 + 55?");
        await page.Keyboard.PressAsync("Enter");
        var answer = await WaitForAnswerAsync(page);
        await Expect(answer.Locator(".content")).ToHaveTextAsync("100");

        // Back through the page to the folded reasoning: Shift+Tab from the message box reaches the answer's buttons and
        // its summary, which Enter opens.
        for (int i = 0; i < 12 && await page.EvaluateAsync<string>("() => document.activeElement.tagName") != "SUMMARY"; i++)
            await page.Keyboard.PressAsync("Shift+Tab");
        Assert.Equal("SUMMARY", await page.EvaluateAsync<string>("() => document.activeElement.tagName"));
        await AssertVisibleFocusAsync(page);
        await page.Keyboard.PressAsync("Enter");
        Assert.True(await answer.Locator("details").EvaluateAsync<bool>("d => d.open"));
        await ShotAsync(page, "08-keyboard");

        // Back (Shift+Tab) to "New chat" in the sidebar, start a new chat, then forward (Tab) through the search box to
        // this conversation in the list and open it again.
        await PressUntilAsync(page, "Shift+Tab", "() => document.activeElement.id === 'new-chat'");
        await AssertVisibleFocusAsync(page);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("New chat");
        await PressUntilAsync(page, "Tab", "() => document.activeElement.textContent === 'What is 45 + 55?'");
        await AssertVisibleFocusAsync(page);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#chat-title")).ToHaveTextAsync("What is 45 + 55?");
        await Expect(page.Locator("article.message")).ToHaveCountAsync(2);

        // Settings by keyboard: a dialog that takes focus, and Escape closes.
        await PressUntilAsync(page, "Tab", "() => document.activeElement.id === 'settings-button'");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#settings-dialog")).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => document.getElementById('settings-dialog').contains(document.activeElement)"));
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.Locator("#settings-dialog")).Not.ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    /// <summary>Presses <paramref name="key"/> until <paramref name="condition"/> holds, at most 60 times.</summary>
    static async Task PressUntilAsync(IPage page, string key, string condition)
    {
        for (int i = 0; i < 60; i++)
        {
            if (await page.EvaluateAsync<bool>(condition)) return;
            await page.Keyboard.PressAsync(key);
        }
        Assert.Fail($"{key} never reached: {condition}");
    }

    [Fact]
    public async Task SettingsApplyToTheConversationsNextAnswers()
    {
        var page = await fixture.OpenAsync();
        await AskAsync(page, "What is 11 + 22?");
        await WaitForAnswerAsync(page);
        await page.ClickAsync("#settings-button");
        await page.FillAsync("#setting-temperature", "0");
        await page.FillAsync("#setting-max-tokens", "8");
        await page.FillAsync("#setting-system", "You add numbers.");
        await page.ClickAsync("#settings-save");
        await Expect(page.Locator("#toast")).ToHaveTextAsync("Settings saved");
        var answer = page.Locator(LastAnswer);
        await answer.GetByRole(AriaRole.Button, new() { Name = "Regenerate" }).ClickAsync();
        answer = await WaitForAnswerAsync(page);
        // Eight tokens: cut in the reasoning.
        await Expect(answer.Locator(".meta")).ToContainTextAsync("8 tokens");
        string id = (await page.EvaluateAsync<string>("() => location.hash")).Split('/')[1];
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var detail = JsonDocument.Parse(await http.GetStringAsync($"app/api/conversations/{id}"));
        var settings = detail.RootElement.GetProperty("conversation").GetProperty("settings");
        Assert.Equal(0, settings.GetProperty("temperature").GetDouble());
        Assert.Equal(8, settings.GetProperty("maxTokens").GetInt32());
        Assert.Equal("You add numbers.", settings.GetProperty("systemPrompt").GetString());
        // The dialog shows them again.
        await page.ClickAsync("#settings-button");
        await Expect(page.Locator("#setting-max-tokens")).ToHaveValueAsync("8");
        await page.Keyboard.PressAsync("Escape");
        await page.Context.CloseAsync();
    }

    /// <summary>The focused element draws a focus outline (the page's :focus-visible style).</summary>
    static async Task AssertVisibleFocusAsync(IPage page)
    {
        var outline = await page.EvaluateAsync<JsonElement>("() => { const s = getComputedStyle(document.activeElement); return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) }; }");
        Assert.NotEqual("none", outline.GetProperty("style").GetString());
        Assert.True(outline.GetProperty("width").GetDouble() >= 2, outline.ToString());
    }

    static string Describe(List<ChatPage.AnswerState> trace) => string.Join(" | ", trace.Select(s => $"{s.Status} r{s.Reasoning} c{s.Content} {(s.Open ? "open" : "closed")} '{s.Summary}'"));

    [GeneratedRegex(@"^Thought for \d+ seconds?$")]
    private static partial Regex ThoughtFor();
}
