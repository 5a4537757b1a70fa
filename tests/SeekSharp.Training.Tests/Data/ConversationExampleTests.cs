using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Training.Data;
using SeekSharp.Training.Model;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Data;

/// <summary>Multi-turn training examples: the history is what seek chat shows the model, the loss is on the last turn.</summary>
public class ConversationExampleTests
{
    static TaskMixSource Mix(int maxHistoryTurns) =>
        new([(new AdditionTask(), 2.0), (new SubtractionTask(), 1.0)], maxHistoryTurns);

    [Fact]
    public void WithoutHistoryTheSourceDrawsTheSingleQuestionsItAlwaysDid()
    {
        var source = Mix(0);
        var reference = Mix(0);
        var a = new TrainingRandom(5);
        var b = new TrainingRandom(5);
        for (int i = 0; i < 50; i++)
        {
            var ex = source.Next(a);
            var p = reference.NextProblem(b);
            Assert.Empty(ex.History);
            Assert.Equal((p.Prompt, p.Completion), (ex.User, ex.Completion));
        }
    }

    [Fact]
    public void HistoryLengthsCoverZeroToTheMaximumUniformly()
    {
        var source = Mix(3);
        var random = new TrainingRandom(9);
        var counts = new int[4];
        for (int i = 0; i < 4000; i++)
        {
            var ex = source.Next(random);
            counts[ex.History.Count]++;
            // Earlier answers are the problems' own correct answers, as a right reply leaves them in the history.
            Assert.All(ex.History, h => Assert.False(string.IsNullOrWhiteSpace(h.Answer)));
        }
        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }

    [Fact]
    public void AConversationIsEncodedExactlyAsSeekChatPromptsTheModelAndOnlyTheLastTurnCarriesLoss()
    {
        var tokenizer = DataFixture.Tokenizer;
        var encoder = new ExampleEncoder(tokenizer);
        var problems = ProblemSets.Generate(new AdditionTask(), ProblemSplit.Train, 21, 4).ToArray();
        var example = new ChatExample([.. problems[..3].Select(p => (p.Prompt, p.Answer))], problems[3].Prompt, problems[3].Completion);
        var ex = encoder.Encode(example);

        // What seek chat (and seek eval --turns) renders after the model answered the first three questions with these
        // completions: its reply is split into reasoning and content, and the template drops the reasoning.
        var formatter = new ChatPromptFormatter(R1ChatFormat.ChatTemplate, tokenizer);
        var history = new List<ChatMessage>();
        foreach (var p in problems[..3])
        {
            history.Add(ChatMessage.User(p.Prompt));
            var (reasoning, content) = ReasoningParser.Split(p.Completion, startsInReasoning: true);
            history.Add(ChatMessage.Assistant(content, reasoning));
        }
        history.Add(ChatMessage.User(problems[3].Prompt));
        int[] chatPrompt = formatter.Tokenize(formatter.Render(history, addGenerationPrompt: true));
        Assert.Equal(chatPrompt, ex.Tokens[..ex.PromptLength]);
        string promptText = tokenizer.Decode(chatPrompt, renderSpecial: true);
        Assert.All(problems[..3], p => Assert.Contains(R1ChatFormat.User + p.Prompt + R1ChatFormat.Assistant + p.Answer + R1ChatFormat.Eos, promptText));
        Assert.DoesNotContain("column by column", promptText); // earlier reasoning is not fed back

        var batch = new TokenBatch(1, 512);
        BatchBuilder.Fill(batch, () => ex, BatchLayout.PaddedCompletionOnly, 0);
        var weighted = new List<int>();
        for (int i = 0; i < batch.SeqLen; i++)
            if (batch.Weights[i] != 0f) weighted.Add(batch.Targets[i]);
        Assert.Equal(R1ChatText.AssistantTurn(problems[3].Completion), tokenizer.Decode(weighted.ToArray(), renderSpecial: true));
    }

    [Fact]
    public void PromptNoiseAddsOneOrTwoWordsBetweenTheQuestionsWords()
    {
        string[] question = "What is 12 + 30?".Split(' ');
        var random = new TrainingRandom(1);
        for (int i = 0; i < 200; i++)
        {
            string[] words = PromptNoise.Insert(string.Join(' ', question), random).Split(' ');
            Assert.InRange(words.Length - question.Length, 1, 2);
            // The question's words are a subsequence: every added word sits between words, never inside one.
            int at = 0;
            foreach (string w in words)
                if (at < question.Length && w == question[at]) at++;
            Assert.Equal(question.Length, at);
        }
    }

    [Fact]
    public void NoiseWordsNameNoOperationAndNoWordOnlyHeldOutSentencesHave()
    {
        var tasks = TaskRegistry.Names.Select(n => TaskRegistry.Create(n)).ToList();
        static IEnumerable<string> WordsOf(string sentence) =>
            sentence.Split(' ').Select(w => w.Trim('.', ',', '?', '!', ':').ToLowerInvariant()).Where(w => w.Length > 0);
        var trainedWords = AllSentences(PhrasingSet.Trained).SelectMany(WordsOf).ToHashSet();
        var heldOutOnly = AllSentences(PhrasingSet.HeldOut).SelectMany(WordsOf).Where(w => !trainedWords.Contains(w)).ToHashSet();
        Assert.Contains("result", heldOutOnly);
        string[] operations = ["plus", "minus", "times", "add", "subtract", "multiply", "sum", "difference", "product"];

        string question = "What is 12 + 30?";
        var inserted = new HashSet<string>();
        var random = new TrainingRandom(5);
        for (int i = 0; i < 3000; i++)
            foreach (string w in PromptNoise.Insert(question, random).Split(' ').Except(question.Split(' ')))
                inserted.Add(w);
        Assert.Empty(inserted.Intersect(heldOutOnly));
        Assert.Empty(inserted.Intersect(operations));
        // All three kinds are drawn: filler, words of other tasks' sentences, made-up strings.
        Assert.Contains("really", inserted);
        Assert.Contains("out", inserted);
        Assert.Contains("numbers", inserted);
        Assert.Contains(inserted, w => !trainedWords.Contains(w) && !PromptNoise.TaskWords.Contains(w) && w.Length >= 3);
        Assert.Subset(trainedWords, PromptNoise.TaskWords.ToHashSet());

        static IEnumerable<string> AllSentences(PhrasingSet set) =>
            new[] { AdditionTask.Sentences, SubtractionTask.Sentences, MultiplicationTask.Sentences, CountdownTask.Sentences }
                .SelectMany(s => s.Of(set));
    }

    [Fact]
    public void WithNoiseEveryMessageStillAsksItsOwnProblem()
    {
        var source = new TaskMixSource([(new AdditionTask(), 1.0)], maxHistoryTurns: 2, promptNoise: 1);
        var random = new TrainingRandom(13);
        for (int i = 0; i < 300; i++)
        {
            var ex = source.Next(random);
            // The reasoning ends "a + b = s": both operands are in the (noisy) question.
            string reasoning = ex.Completion[..ex.Completion.IndexOf("\n</think>", StringComparison.Ordinal)];
            string[] last = reasoning[(reasoning.LastIndexOf('\n') + 1)..].Split(' ');
            Assert.Contains(last[0], ex.User);
            Assert.Contains(last[2], ex.User);
        }
    }

    [Fact]
    public void ASingleQuestionRendersAsBefore()
    {
        var tokenizer = DataFixture.Tokenizer;
        var encoder = new ExampleEncoder(tokenizer);
        var p = new AdditionTask().Generate(new Random(3));
        Assert.Equal(encoder.Encode(p.Prompt, p.Completion).Tokens, encoder.Encode(new ChatExample([], p.Prompt, p.Completion)).Tokens);
        Assert.Equal(R1ChatText.Prompt(p.Prompt), R1ChatFormat.RenderConversation([], p.Prompt));
    }
}
