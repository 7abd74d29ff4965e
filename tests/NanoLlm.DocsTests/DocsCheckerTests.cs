using NanoLlm.DocsTests.Checker;
using NanoLlm.DocsTests.Support;

namespace NanoLlm.DocsTests;

/// <summary>
/// The checker on a small repository of its own: a sound chapter passes every check, and each deliberately broken
/// reference, command, figure, snippet or section is reported with its line.
/// </summary>
public sealed class DocsCheckerTests : IDisposable
{
    private const string Chapter = "docs/01-things.md";

    private const string SoundChapter = """
        # Things

        ## The math

        A thing runs: t ← t + 1.

        ## The code

        [`Thing.Run`](../src/Lib/Thing.cs) runs it; `Thing.Count` counts. The run file is `configs/bigram.toml`.

        ```csharp from=src/Lib/Thing.cs
        public static void Run()
        …
        Count++;
        ```

        ## The proof

        [`ThingTests.Run_counts`](../tests/Lib.Tests/ThingTests.cs) checks it; a thing takes
        [175.1 GFLOP/s](../BENCHMARKS.md#kernels "Forward | 1024") and [11,175 tokens/s](../BENCHMARKS.md#generation), [33 crashes](../RELIABILITY.md#fuzzing "run-file").

        ```csharp run
        Console.WriteLine($"loss {1.0 / 3:F4}, twice {2}");
        ```

        ```text output
        loss 0.3333, twice 2
        ```

        ## Run it

        ```sh
        make train CONFIG=configs/bigram.toml ARGS="--set training.steps=5"
        dotnet src/NanoLlm.Train/bin/Release/net10.0/NanoLlm.Train.dll configs/bigram.toml --resume
        ```

        ```text
        trained
        ```

        ## Exercises

        Check them with `dotnet test tests/Lib.Tests --filter FullyQualifiedName~ThingTests`.

        1. Why? Because [`ThingTests.Run_counts`](../tests/Lib.Tests/ThingTests.cs).
        2. How? See [`ThingTests`](../tests/Lib.Tests/ThingTests.cs).
        """;

    private readonly string _root = Directory.CreateTempSubdirectory("nanollm-docs-").FullName;

    public DocsCheckerTests()
    {
        Write("Makefile", """
            CONFIG ?= configs/bigram.toml
            BIN_TRAIN = src/NanoLlm.Train/bin/Release/net10.0/NanoLlm.Train.dll

            .PHONY: train test

            train:
            	dotnet $(BIN_TRAIN) $(CONFIG) $(ARGS)

            test:
            	dotnet test
            """);
        Write("src/NanoLlm.Train/Program.cs", """
            public static class Program
            {
                private const string Usage = "train CONFIG [--resume] [--set section.key=value ...]";

                public static int Main(string[] args) => args.Contains("--resume") ? 1 : 0;
            }
            """);
        Write("src/Lib/Thing.cs", """
            namespace Lib;

            public static class Thing
            {
                public static int Count { get; private set; }

                public static void Run()
                {
                    Count++;
                }
            }
            """);
        Write("tests/Lib.Tests/ThingTests.cs", """
            public sealed class ThingTests
            {
                public void Run_counts() { }
            }
            """);
        Write("configs/bigram.toml", File.ReadAllText(Repository.PathOf("configs/bigram.toml")));
        Write("BENCHMARKS.md", """
            # Benchmarks

            ## Kernels

            | form | size | GFLOP/s |
            |---|---|--:|
            | Forward | 1024 | 175.1 |
            | Backward | 1024 | 168.2 |

            ## Generation

            11,175 tokens/s with the cache.
            """);
        Write("RELIABILITY.md", """
            # Reliability

            ## Fuzzing

            | target | crashes |
            |---|--:|
            | run-file | 33 |
            | weights | 0 |
            """);
        Write("README.md", "# Lib\n\n[Learn how it works](docs/README.md)\n");
        Write("docs/README.md", $"# The tour\n\n1. [Things](01-things.md)\n");
        Write(Chapter, SoundChapter);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_sound_chapter_passes_every_check()
    {
        Assert.Empty(AllProblems());
    }

    [Theory]
    [InlineData("(../src/Lib/Thing.cs) runs", "(../src/Lib/Thingy.cs) runs", "docs/01-things.md:9: link to ../src/Lib/Thingy.cs: no such file or folder")]
    [InlineData("`Thing.Run`](", "`Thing.Walk`](", "docs/01-things.md:9: `Thing.Walk` is not declared in src/Lib/Thing.cs")]
    [InlineData("`Thing.Count` counts", "`Thing.Total` counts", "docs/01-things.md:9: `Thing.Total`: Thing declares no Total")]
    [InlineData("`configs/bigram.toml`", "`configs/bigrams.toml`", "docs/01-things.md:9: `configs/bigrams.toml`: no such file or folder")]
    [InlineData("`ThingTests.Run_counts`](", "`ThingTests.Run_counts_twice`](", "`ThingTests.Run_counts_twice` is not declared in tests/Lib.Tests/ThingTests.cs")]
    [InlineData("[`ThingTests`](../tests/Lib.Tests/ThingTests.cs)", "[`ThingTests`](../tests/Lib.Tests/ThingTests.cs#nowhere)", "")]
    [InlineData("(../BENCHMARKS.md#generation)", "(../BENCHMARKS.md#speed)", "BENCHMARKS.md has no heading #speed")]
    public void A_stale_reference_is_reported_with_its_line(string sound, string broken, string expected)
    {
        Break(sound, broken);

        var problems = new DocsChecker(_root).CheckReferences(Chapter).ToList();

        if (expected.Length == 0)
        {
            // A fragment on a link to a source file is not a heading: GitHub reads it as a line anchor, left alone.
            Assert.Empty(problems);
        }
        else
        {
            Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("make train CONFIG", "make trian CONFIG", "docs/01-things.md:33: make target trian is not in the Makefile")]
    [InlineData("CONFIG=configs/bigram.toml ARGS", "CONFG=configs/bigram.toml ARGS", "make variable CONFG is not in the Makefile")]
    [InlineData("CONFIG=configs/bigram.toml ARGS", "CONFIG=configs/bigrams.toml ARGS", "run file configs/bigrams.toml does not exist")]
    [InlineData("--set training.steps=5", "--sets training.steps=5", "--sets is not an option of src/NanoLlm.Train")]
    [InlineData("--set training.steps=5", "--set training.stepz=5", "training.stepz")]
    [InlineData("--set training.steps=5", "--set model.context_length=5", "context_length")]
    [InlineData("configs/bigram.toml --resume", "configs/bigram.toml --restart", "docs/01-things.md:34: --restart is not an option of src/NanoLlm.Train")]
    [InlineData("--filter FullyQualifiedName~ThingTests", "--filter FullyQualifiedName~OtherTests", "no test class or method named OtherTests under tests/")]
    [InlineData("dotnet test tests/Lib.Tests", "dotnet test tests/Lib.Test", "tests/Lib.Test does not exist")]
    [InlineData("```text\ntrained", "```sh\ntrained", "`trained` in a sh block: only make and dotnet commands go there")]
    public void A_command_that_is_not_real_is_reported(string sound, string broken, string expected)
    {
        Break(sound, broken);

        var problems = new DocsChecker(_root).CheckCommands(Chapter).ToList();

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("[175.1 GFLOP/s]", "[175.2 GFLOP/s]", "docs/01-things.md:20: figure 175.2 GFLOP/s: 175.2 is not in BENCHMARKS.md#kernels on the line of \"Forward | 1024\"")]
    [InlineData("[175.1 GFLOP/s]", "[168.2 GFLOP/s]", "168.2 is not in BENCHMARKS.md#kernels on the line of \"Forward | 1024\"")]
    [InlineData("\"Forward | 1024\"", "\"Forward | 2048\"", "no line of BENCHMARKS.md#kernels holds \"Forward | 2048\"")]
    [InlineData("[11,175 tokens/s]", "[11,176 tokens/s]", "11,176 is not in BENCHMARKS.md#generation")]
    [InlineData("[11,175 tokens/s]", "[1,175 tokens/s]", "1,175 is not in BENCHMARKS.md#generation")]
    [InlineData("(../BENCHMARKS.md#generation)", "(../BENCHMARKS.md)", "the link names no section of BENCHMARKS.md")]
    [InlineData("[33 crashes]", "[34 crashes]", "34 is not in RELIABILITY.md#fuzzing on the line of \"run-file\"")]
    [InlineData("\"run-file\")", "\"weights\")", "33 is not in RELIABILITY.md#fuzzing on the line of \"weights\"")]
    public void A_figure_that_no_longer_matches_the_benchmarks_is_reported(string sound, string broken, string expected)
    {
        Break(sound, broken);

        var problems = new DocsChecker(_root).CheckFigures(Chapter).ToList();

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Console.WriteLine($\"loss", "Console.WriteLin($\"loss", "docs/01-things.md:22: the snippet fails: line 1:")]
    [InlineData("Console.WriteLine($\"loss", "throw new InvalidOperationException(\"stale\"); Console.WriteLine($\"loss", "it threw InvalidOperationException: stale")]
    [InlineData("loss 0.3333, twice 2", "loss 0.3333, thrice 2", "docs/01-things.md:26: the chapter shows \"thrice\" where the program printed \"twice\"")]
    [InlineData("loss 0.3333, twice 2", "loss 0.3400, twice 2", "the chapter shows \"0.3400\" where the program printed \"0.3333\"")]
    [InlineData("Count++;\n```", "Count += 2;\n```", "excerpt line `Count += 2;` is not in src/Lib/Thing.cs")]
    [InlineData("```csharp from=src/Lib/Thing.cs", "```csharp", "a csharp block is ```csharp run")]
    public void A_snippet_that_fails_or_prints_something_else_is_reported(string sound, string broken, string expected)
    {
        Break(sound, broken);

        var problems = new DocsChecker(_root).CheckSnippets(Chapter).ToList();

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Numbers_within_a_tenth_of_a_percent_count_as_the_same_output()
    {
        Break("loss 0.3333, twice 2", "loss 0.3334, twice 2");

        Assert.Empty(new DocsChecker(_root).CheckSnippets(Chapter));
    }

    [Theory]
    [InlineData("## Exercises", "## Questions", "no \"## Exercises\" section")]
    [InlineData("[`Thing.Run`](../src/Lib/Thing.cs)", "`Thing.Run`", "\"The code\" links no type or method under src/")]
    [InlineData("```text\ntrained\n```", "", "\"Run it\" has no ```text block")]
    [InlineData("2. How? See [`ThingTests`](../tests/Lib.Tests/ThingTests.cs).", "2. How? Think.", "docs/01-things.md:46: this exercise links no test under tests/")]
    [InlineData("2. How? See [`ThingTests`](../tests/Lib.Tests/ThingTests.cs).", "", "\"Exercises\" has 1 numbered exercises")]
    public void A_chapter_missing_a_part_is_reported(string sound, string broken, string expected)
    {
        Break(sound, broken);

        var problems = new DocsChecker(_root).CheckChapterShape(Chapter).ToList();

        Assert.Contains(problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_new_chapter_is_picked_up_and_must_be_listed_in_the_index()
    {
        Write("docs/02-more-things.md", SoundChapter.Replace("# Things", "# More things", StringComparison.Ordinal));
        var checker = new DocsChecker(_root);

        Assert.Equal([Chapter, "docs/02-more-things.md"], checker.Chapters);
        Assert.Equal(["docs/README.md: does not list docs/02-more-things.md"], checker.CheckIndex());
    }

    [Fact]
    public void A_readme_without_a_link_to_the_tour_is_reported()
    {
        Write("README.md", "# Lib\n");

        Assert.Equal(["README.md: does not link the tour (docs/README.md)"], new DocsChecker(_root).CheckIndex());
    }

    private IEnumerable<string> AllProblems()
    {
        var checker = new DocsChecker(_root);
        return
        [
            .. checker.CheckReferences(Chapter), .. checker.CheckCommands(Chapter), .. checker.CheckFigures(Chapter),
            .. checker.CheckSnippets(Chapter), .. checker.CheckChapterShape(Chapter), .. checker.CheckIndex(),
        ];
    }

    private void Break(string sound, string broken)
    {
        Assert.Contains(sound, SoundChapter, StringComparison.Ordinal);
        Write(Chapter, SoundChapter.Replace(sound, broken, StringComparison.Ordinal));
    }

    private void Write(string relativePath, string text)
    {
        var path = Path.Combine(_root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
