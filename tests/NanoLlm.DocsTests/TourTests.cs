using NanoLlm.DocsTests.Checker;
using NanoLlm.DocsTests.Support;

namespace NanoLlm.DocsTests;

/// <summary>The tour (docs/) and the README checked against the code: each chapter is picked up from docs/ by its name.</summary>
public sealed class TourTests
{
    private static readonly DocsChecker Checker = new(Repository.Root);

    public static TheoryData<string> Chapters => [.. Checker.Chapters];

    public static TheoryData<string> Documents => ["README.md", "docs/README.md", .. Checker.Chapters];

    [Theory]
    [MemberData(nameof(Documents))]
    public void Links_resolve_and_code_names_are_declared_where_they_point(string document) =>
        AssertNoProblems(Checker.CheckReferences(document));

    [Theory]
    [MemberData(nameof(Documents))]
    public void Commands_name_real_targets_variables_options_run_files_and_keys(string document) =>
        AssertNoProblems(Checker.CheckCommands(document));

    [Theory]
    [MemberData(nameof(Documents))]
    public void Figures_quoted_from_the_benchmarks_match_them(string document) =>
        AssertNoProblems(Checker.CheckFigures(document));

    [Theory]
    [MemberData(nameof(Documents))]
    public void Snippets_compile_run_and_print_what_the_page_shows(string document) =>
        AssertNoProblems(Checker.CheckSnippets(document));

    [Theory]
    [MemberData(nameof(Chapters))]
    public void A_chapter_has_the_math_the_code_the_proof_a_command_and_exercises(string chapter) =>
        AssertNoProblems(Checker.CheckChapterShape(chapter));

    [Fact]
    public void The_index_lists_every_chapter_and_the_readme_links_the_index() =>
        AssertNoProblems(Checker.CheckIndex());

    private static void AssertNoProblems(IEnumerable<string> problems)
    {
        var list = problems.ToList();
        Assert.True(list.Count == 0, string.Join(Environment.NewLine, list));
    }
}
