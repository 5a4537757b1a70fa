using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using System.Text.Json;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Training.Recipes.Distill;
using SeekSharp.Training.Recipes.Grpo;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Recipes.Pretrain;
using SeekSharp.Training.Recipes.Sft;
using Xunit.Abstractions;

namespace SeekSharp.Training.Tests.Recipes;

/// <summary>
/// The four recipes end to end on a tiny model (pretrain from nothing, SFT on conversations with noise words, GRPO with
/// a KL reference, distillation's traces and student), then inference on the SFT model: every loss and metric each step reported, every
/// exported weight and the logits of one prompt, hashed bit for bit. The hashes were recorded before issue 17's
/// refactoring (one description of a model's shape and tensor names, one settings type per recipe), so that change and
/// any later one that claims to change no result is held to the same bits.
/// </summary>
/// <remarks>
/// Floating-point sums depend on the vector width the kernels take, so each instruction-set tier has its hashes,
/// recorded on this project's machine with AVX-512 on, with <c>DOTNET_EnableAVX512=0</c> (AVX2; .NET 10 ignores <c>DOTNET_EnableAVX512F</c>) and with
/// <c>DOTNET_EnableAVX2=0</c> as well. One thread throughout, so no sum depends on how work is split.
/// Set <c>SEEK_PRINT_GOLDEN=1</c> to print the hashes of this machine's tier.
/// </remarks>
public sealed class RecipeGoldenTests(ITestOutputHelper output) : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("seek-golden-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static string Tier => Vector512.IsHardwareAccelerated ? "avx512" : Avx2.IsSupported ? "avx2" : "sse";

    // Recorded before issue 17 (on f178f90 and its config-comment commit), per tier: pretrain, sft, grpo, distill
    // (teacher traces + student), logits.
    static readonly Dictionary<string, string[]> Golden = new()
    {
        ["avx512"] = ["02AC6C064CC6B68A", "8A356D3E5A7DBD64", "85499C18611B3609", "4AB577D14F11224C51EA7F8EE8FB529F", "57E9E04894394F8D"],
        ["avx2"] = ["75F8D7E757E6F3D2", "046AF6B0DA6B2BFB", "1967B2B7E20CAE1E", "4AB577D14F11224C97B3A6D204750DB1", "EF04884D92964020"],
        ["sse"] = ["DA07E0B5E5C77E20", "DC4C4E764BF0C235", "D891535169843728", "4AB577D14F11224C9D8C39071F6BC4FA", "CD7B30C8F5D252FB"],
    };

    TrainConfig Base(string name) => new()
    {
        Tasks = [new("addition", 2), new("subtraction", 1)], BatchSize = 2, SeqLen = 96, WarmupSteps = 1, LearningRate = 3e-3f,
        CheckpointEvery = 100, Threads = 1, Seed = 7, OutputDir = Path.Combine(dir, name), ModelFile = name + ".gguf",
    };

    [Fact]
    public void EveryRecipeAndInferenceGiveTheBitsRecordedBeforeTheRefactoring()
    {
        var hashes = new List<string>();
        var metrics = new List<double>();
        void Progress(TrainingProgress p) { foreach (var (_, v) in p.Metrics) metrics.Add(v); }
        string Hash(string model)
        {
            var bytes = new List<byte>();
            foreach (double m in metrics) bytes.AddRange(BitConverter.GetBytes(m));
            metrics.Clear();
            float[] weights = TransformerGguf.Load(model, 1, 8).Parameters;
            bytes.AddRange(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()).ToArray());
            return Convert.ToHexString(SHA256.HashData(bytes.ToArray()))[..16];
        }

        var pretrain = PretrainRecipe.Run(Base("pretrain") with
        {
            Model = SeekSharp.Models.ModelConfig.Llama(vocabSize: 1, contextLength: 128, embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64),
            Tokenizer = new() { VocabSize = 300, ExamplesPerTask = 40 }, Steps = 3,
        }, progress: Progress);
        hashes.Add(Hash(pretrain.ModelPath));

        var sft = SftRecipe.Run(Base("sft") with { InitFrom = pretrain.ModelPath, Steps = 3, MaxHistoryTurns = 2, PromptNoise = 0.5 },
            progress: Progress);
        hashes.Add(Hash(sft.ModelPath));

        var grpo = GrpoRecipe.Run(Base("grpo") with
        {
            InitFrom = sft.ModelPath, Steps = 2,
            Grpo = new()
            {
                GroupSize = 2, PromptsPerStep = 2, MaxCompletionTokens = 12, Temperature = 1f, Iterations = 1, ClipEpsilon = 0.2f,
                KlBeta = 0.1f, DrGrpo = false,
            },
        }, progress: Progress);
        hashes.Add(Hash(grpo.ModelPath));

        // Distillation's two halves: the teacher's traces (every one kept: the tiny teacher answers nothing right), and a
        // new student trained on traces as distill trains it.
        string all = Path.Combine(dir, "traces.jsonl");
        var sampling = SamplingOptions.Greedy with { Temperature = 1f, TopK = 0, TopP = 1, MinP = 0 };
        DistillRecipe.GenerateTraces(sft.ModelPath, TaskRegistry.Create("addition"), 3, 11, all, sampling, 24, verify: null, keepIncorrect: true, threads: 1);
        string correct = Path.Combine(dir, "correct.jsonl");
        var rng = new Random(4);
        File.WriteAllLines(correct, Enumerable.Range(0, 6).Select(_ => TaskRegistry.Create("addition").Generate(rng))
            .Select(p => JsonSerializer.Serialize(new { prompt = p.Prompt, completion = p.Completion })));
        var distill = SftRecipe.Run(Base("distill") with
        {
            Model = SeekSharp.Models.ModelConfig.Llama(vocabSize: 1, contextLength: 128, embeddingLength: 16, blockCount: 1, headCount: 2, headCountKv: 1, feedForwardLength: 32), Steps = 2,
            Traces = correct, Tokenizer = new() { FromGguf = sft.ModelPath },
        }, progress: Progress);
        hashes.Add(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(all)))[..16] + Hash(distill.ModelPath));

        using (var model = SeekSharp.Models.Model.Load(sft.ModelPath))
        using (var context = model.CreateContext(new ContextOptions { ContextLength = 64, Threads = 1, KvCacheType = Kernels.GgmlType.F32 }))
        {
            context.Prefill(model.Tokenizer.Encode("What is 12 + 345?"));
            float[] logits = context.Logits(0).ToArray();
            hashes.Add(Convert.ToHexString(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(logits.AsSpan()))).ToString()[..16]);
        }

        if (Environment.GetEnvironmentVariable("SEEK_PRINT_GOLDEN") == "1")
            output.WriteLine($"[\"{Tier}\"] = [\"{string.Join("\", \"", hashes)}\"],");
        string[] names = ["pretrain", "sft", "grpo", "distill", "logits"];
        for (int i = 0; i < names.Length; i++)
            Assert.True(Golden[Tier][i] == hashes[i], $"{names[i]} on {Tier}: hash {hashes[i]}, recorded {Golden[Tier][i]}");
    }
}
