using NanoLlm.Config;
using NanoLlm.Inference;
using NanoLlm.Model;
using NanoLlm.Tokenization;
using NanoLlm.Training;

namespace NanoLlm.DocsTests.Tour;

/// <summary>The answers to the exercises of docs/13-serving.md.</summary>
public sealed class ServingExercises
{
    [Fact]
    public void A_chat_becomes_the_text_a_base_model_continues()
    {
        var prompt = ChatPrompt.Format(
        [
            new(ChatRole.System, "A play."),
            new(ChatRole.User, "ROMEO:"),
            new(ChatRole.Assistant, " Peace!"),
            new(ChatRole.User, "JULIET:"),
        ]);

        Assert.Equal("A play.\nROMEO: Peace!\nJULIET:", prompt);
    }

    [Fact]
    public async Task A_requests_text_does_not_depend_on_who_shares_the_steps()
    {
        var model = ModelRegistry.Create("gpt", 256, SettingsSection.FromJson("model", "exercise",
            """{"context_length":16,"embedding_size":32,"layers":2,"heads":2}"""));
        var random = new Random(5);
        model.Initialize(random);
        Initialization.Normal(model.Parameters.Values, 0.2, random);
        using var decoder = new BatchedDecoder(new Cortex(model, Tokenizer.ByteLevel), maxBatch: 4);
        string[] prompts = ["ROMEO:", "JULIET:", "The keeper", "A storm came"];
        var settings = new SamplingSettings(MaxNewTokens: 40, Temperature: 0.8, Seed: 7);

        var alone = new List<string>();
        foreach (var prompt in prompts)
        {
            alone.Add(await Read(decoder.Start(prompt, settings)));
        }
        var together = await Task.WhenAll(prompts.Select(p => Read(decoder.Start(p, settings))));

        Assert.Equal(alone, together);
    }

    private static async Task<string> Read(Generation generation)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var piece in generation.ReadTextAsync())
        {
            text.Append(piece);
        }
        return text.ToString();
    }
}
