using SeekSharp.Chat;
using SeekSharp.Training.Data;
using SeekSharp.Training.Rewards;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Data;

public class R1ChatTextTests
{
    [Fact]
    public void PromptIsWhatTheChatTemplateRendersWithTheGenerationPrompt()
    {
        var formatter = new ChatPromptFormatter(R1ChatFormat.ChatTemplate, DataFixture.Tokenizer);
        string rendered = formatter.Render([ChatMessage.User("What is 12 + 30?")], addGenerationPrompt: true);
        Assert.Equal(rendered, R1ChatText.Prompt("What is 12 + 30?"));
        string withSystem = formatter.Render([ChatMessage.System("Be brief."), ChatMessage.User("Hi")], addGenerationPrompt: true);
        Assert.Equal(withSystem, R1ChatText.Prompt("Hi", "Be brief."));
    }

    [Fact]
    public void TaskCompletionsInTheTrainedFormatEarnFullRewards()
    {
        // The text after the prompt, minus EOS, is what the model generates; the rewards must accept it.
        var problem = new AdditionTask().Generate(new Random(3));
        string turn = R1ChatText.AssistantTurn(problem.Completion);
        Assert.EndsWith(R1ChatFormat.Eos, turn);
        string generated = turn[..^R1ChatFormat.Eos.Length];
        Assert.Equal(1.0, new FormatReward().Score(problem, generated));
        Assert.Equal(1.0, new AnswerReward().Score(problem, generated));
    }

    [Fact]
    public void AssistantTurnDropsAnOpeningThinkTagThatThePromptAlreadyHolds()
    {
        Assert.Equal("a\n</think>\n\n5" + R1ChatFormat.Eos, R1ChatText.AssistantTurn("<think>\na\n</think>\n\n5"));
        Assert.Equal("a\n</think>\n\n5" + R1ChatFormat.Eos, R1ChatText.AssistantTurn("a\n</think>\n\n5"));
    }
}
