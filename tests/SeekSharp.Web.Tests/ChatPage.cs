using System.Text.Json;
using Microsoft.Playwright;

namespace SeekSharp.Web.Tests;

/// <summary>What the tests do on the chat page, in the words of its controls.</summary>
public static class ChatPage
{
    public const string LastAnswer = "article.message.assistant >> nth=-1";

    public static async Task AskAsync(IPage page, string question)
    {
        await page.FillAsync("#composer-input", question);
        await page.PressAsync("#composer-input", "Enter");
    }

    /// <summary>Waits until no answer streams and the last answer shows <paramref name="status"/>.</summary>
    public static async Task<ILocator> WaitForAnswerAsync(IPage page, string status = "complete")
    {
        await page.WaitForSelectorAsync("#send-button:not([hidden])");
        var answer = page.Locator(LastAnswer);
        await Microsoft.Playwright.Assertions.Expect(answer).ToHaveAttributeAsync("data-status", status);
        return answer;
    }

    /// <summary>A full-page screenshot in artifacts/web/.</summary>
    public static Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Paths.Artifacts, name + ".png"), FullPage = true });

    /// <summary>
    /// Records, from now on, every state the last answer passes through (status, reasoning length, whether the reasoning
    /// block is open, answer text length, the summary's words), however fast the model is: a mutation observer in the page.
    /// </summary>
    public static Task TraceAnswersAsync(IPage page) => page.EvaluateAsync("""
        () => {
          window.__trace = [];
          const record = () => {
            const a = [...document.querySelectorAll('article.message.assistant')].at(-1);
            if (!a) return;
            const s = {
              status: a.dataset.status,
              reasoning: a.querySelector('.reasoning-text')?.textContent.length ?? 0,
              open: a.querySelector('details')?.open ?? false,
              hidden: a.querySelector('details')?.hidden ?? true,
              content: a.querySelector('.content')?.textContent.length ?? 0,
              summary: a.querySelector('summary')?.textContent ?? '',
            };
            const last = window.__trace.at(-1);
            if (!last || JSON.stringify(last) !== JSON.stringify(s)) window.__trace.push(s);
          };
          new MutationObserver(record).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true, attributes: true });
        }
        """);

    public sealed record AnswerState(string Status, int Reasoning, bool Open, bool Hidden, int Content, string Summary);

    public static async Task<List<AnswerState>> TraceAsync(IPage page)
    {
        var json = await page.EvaluateAsync<JsonElement>("() => window.__trace");
        return json.EnumerateArray().Select(s => new AnswerState(s.GetProperty("status").GetString()!, s.GetProperty("reasoning").GetInt32(),
            s.GetProperty("open").GetBoolean(), s.GetProperty("hidden").GetBoolean(), s.GetProperty("content").GetInt32(),
            s.GetProperty("summary").GetString()!)).ToList();
    }
}
