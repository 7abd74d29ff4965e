using System.Text;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace NanoLlm.DocsTests.Checker;

/// <summary>A link or image as written: its text (a code span's content when <see cref="IsCode"/>), target and title.</summary>
/// <param name="Line">1-based, as an editor shows it.</param>
public sealed record MarkdownLink(string Text, bool IsCode, string Url, string? Title, int Line);

/// <summary>An inline code span that is not a link's text.</summary>
public sealed record MarkdownCode(string Text, int Line);

/// <summary>A fenced block: its info string split into the language and the rest (<c>```csharp run</c>: csharp, run).</summary>
/// <param name="Line">The line of the opening fence.</param>
public sealed record MarkdownBlock(string Language, string Arguments, IReadOnlyList<string> Lines, int Line);

public sealed record MarkdownHeading(int Level, string Text, string Slug, int Line);

/// <summary>A list item, with the lines it spans (up to the next item of its list).</summary>
public sealed record MarkdownListItem(int FirstLine, int LastLine);

/// <summary>
/// One markdown file parsed as GitHub renders it (CommonMark and pipe tables, by Markdig): what the checker reads.
/// </summary>
public sealed class MarkdownFile
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().Build();

    private MarkdownFile(string relativePath, string text)
    {
        RelativePath = relativePath;
        Text = text;
        var document = Markdown.Parse(text, Pipeline);
        var headings = new List<MarkdownHeading>();
        var slugs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var heading in document.Descendants<HeadingBlock>())
        {
            var title = PlainText(heading.Inline);
            headings.Add(new MarkdownHeading(heading.Level, title, UniqueSlug(title, slugs), heading.Line + 1));
        }
        Headings = headings;
        Links = [.. document.Descendants<LinkInline>().Where(l => !l.IsAutoLink).Select(ToLink)];
        Code =
        [
            .. document.Descendants<CodeInline>()
                .Where(c => c.Parent is not LinkInline)
                .Select(c => new MarkdownCode(c.Content, c.Line + 1)),
        ];
        Blocks =
        [
            .. document.Descendants<FencedCodeBlock>().Select(b => new MarkdownBlock(
                b.Info ?? "", b.Arguments ?? "", [.. (b.Lines.Lines ?? []).Take(b.Lines.Count).Select(l => l.ToString())], b.Line + 1)),
        ];
        ListItems =
        [
            .. document.Descendants<ListBlock>()
                .Where(l => l.Parent is MarkdownDocument)
                .SelectMany(l => l.OfType<ListItemBlock>())
                .Select(i => new MarkdownListItem(i.Line + 1, LastLineOf(i))),
        ];
    }

    /// <summary>The path from the repository root, with forward slashes: how problems name the file.</summary>
    public string RelativePath { get; }

    public string Text { get; }

    public IReadOnlyList<MarkdownHeading> Headings { get; }

    public IReadOnlyList<MarkdownLink> Links { get; }

    public IReadOnlyList<MarkdownCode> Code { get; }

    public IReadOnlyList<MarkdownBlock> Blocks { get; }

    /// <summary>The items of the top-level lists (a list inside a list item is part of that item).</summary>
    public IReadOnlyList<MarkdownListItem> ListItems { get; }

    public static MarkdownFile Read(string path, string relativePath) => new(relativePath, File.ReadAllText(path));

    /// <summary>The lines under the <c>##</c> heading <paramref name="title"/>, up to the next heading of level 2 or less.</summary>
    public (int First, int Last)? Section(string title)
    {
        var heading = Headings.FirstOrDefault(h => h.Level == 2 && h.Text == title);
        if (heading is null)
        {
            return null;
        }
        var next = Headings.FirstOrDefault(h => h.Line > heading.Line && h.Level <= 2);
        return (heading.Line, next is null ? int.MaxValue : next.Line - 1);
    }

    /// <summary>
    /// GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, spaces, hyphens and underscores
    /// kept), spaces turned into hyphens; a repeated heading gets -1, -2 … appended.
    /// </summary>
    public static string Slug(string heading)
    {
        var slug = new StringBuilder();
        foreach (var character in heading.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(character) || character is '-' or '_')
            {
                slug.Append(character);
            }
            else if (character == ' ')
            {
                slug.Append('-');
            }
        }
        return slug.ToString();
    }

    private static string UniqueSlug(string heading, Dictionary<string, int> seen)
    {
        var slug = Slug(heading);
        if (seen.TryGetValue(slug, out var count))
        {
            seen[slug] = count + 1;
            return $"{slug}-{count}";
        }
        seen[slug] = 1;
        return slug;
    }

    private static MarkdownLink ToLink(LinkInline link)
    {
        var children = link.ToList();
        var isCode = children is [CodeInline];
        var text = isCode ? ((CodeInline)children[0]).Content : PlainText(link);
        return new MarkdownLink(text, isCode, link.Url ?? "", string.IsNullOrEmpty(link.Title) ? null : link.Title, link.Line + 1);
    }

    private static string PlainText(ContainerInline? container)
    {
        var text = new StringBuilder();
        foreach (var inline in container?.Descendants<Inline>() ?? [])
        {
            switch (inline)
            {
                case LiteralInline literal:
                    text.Append(literal.Content.ToString());
                    break;
                case CodeInline code:
                    text.Append(code.Content);
                    break;
            }
        }
        return text.ToString();
    }

    private static int LastLineOf(ListItemBlock item)
    {
        var last = item.Line;
        foreach (var block in item.Descendants<Block>())
        {
            last = Math.Max(last, block is LeafBlock { Lines.Count: > 0 } leaf ? block.Line + leaf.Lines.Count - 1 : block.Line);
        }
        return last + 1;
    }
}
