namespace NanoLlm.IntegrationTests;

public sealed class TokenizeProgramTests
{
    [Fact]
    public void The_gpt2_run_file_tokenizes_hello_world_as_15496_995()
    {
        var result = ProgramRunner.Tokenize(ProgramRunner.RepositoryRoot, "configs/gpt2.toml", "--text", "Hello world");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Contains("ids (2): 15496 995", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\" world\"", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_tokenizer_key_exits_2_with_one_line_naming_it()
    {
        var result = ProgramRunner.Tokenize(ProgramRunner.RepositoryRoot, "configs/gpt2.toml", "--text", "x", "--set", "tokenizer.split=gpt3");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("[tokenizer] split", result.StandardError, StringComparison.Ordinal);
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }
}
