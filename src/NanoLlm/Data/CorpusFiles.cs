namespace NanoLlm.Data;

/// <summary>
/// The files a corpus setting names: one file, every file of a directory (not its subdirectories), or a glob whose
/// last part has <c>*</c> and <c>?</c> wildcards (<c>shards/train_*.bin</c>). Always in ordinal order of their paths,
/// so a corpus reads the same on every machine. Hidden files are skipped.
/// </summary>
public static class CorpusFiles
{
    // Hidden files (on Unix, names starting with a dot) are left out: a shard being written is one.
    private static readonly EnumerationOptions Visible = new() { MatchType = MatchType.Simple, AttributesToSkip = FileAttributes.Hidden };

    /// <exception cref="FileNotFoundException">Nothing matches; the message says what was looked for.</exception>
    public static string[] Resolve(string pattern)
    {
        if (File.Exists(pattern))
        {
            return [pattern];
        }
        string[] files;
        if (Directory.Exists(pattern))
        {
            files = Directory.GetFiles(pattern, "*", Visible);
        }
        else
        {
            var folder = Path.GetDirectoryName(pattern);
            var name = Path.GetFileName(pattern);
            folder = string.IsNullOrEmpty(folder) ? "." : folder;
            if (folder.AsSpan().IndexOfAny('*', '?') >= 0)
            {
                throw new FileNotFoundException($"{pattern}: wildcards are read in the file name only, not in folder names");
            }
            if (name.AsSpan().IndexOfAny('*', '?') < 0 || !Directory.Exists(folder))
            {
                throw new FileNotFoundException($"{pattern}: no such file or directory");
            }
            files = Directory.GetFiles(folder, name, Visible);
        }
        if (files.Length == 0)
        {
            throw new FileNotFoundException($"{pattern}: no file matches");
        }
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}
