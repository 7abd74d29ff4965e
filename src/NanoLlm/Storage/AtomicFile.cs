namespace NanoLlm.Storage;

/// <summary>
/// Writes a file so that readers see either the old file or the whole new one, never a half-written file: the
/// content goes to a temporary file beside the target, is flushed to disk, then renamed over the target. A process
/// killed before the rename leaves its temporary file behind; the next write of the same target removes it.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        var name = Path.GetFileName(fullPath);
        Directory.CreateDirectory(folder);
        RemoveLeftovers(folder, name);
        var temporary = Path.Combine(folder, TemporaryName(name, Guid.NewGuid()));
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            RemoveQuietly(temporary);
            throw;
        }
    }

    /// <summary>
    /// Removes the temporary files a killed write of <paramref name="path"/> left, for a process that owns the file but
    /// may not write it again (a resumed run that finds itself finished).
    /// </summary>
    public static void RemoveLeftovers(string path)
    {
        var fullPath = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(fullPath)!;
        if (Directory.Exists(folder))
        {
            RemoveLeftovers(folder, Path.GetFileName(fullPath));
        }
    }

    private static string TemporaryName(string name, Guid id) => $".{name}.{id:N}.tmp";

    // One process writes a given target at a time (a run owns its weights and checkpoint), so any temporary file of
    // this target is a leftover.
    private static void RemoveLeftovers(string folder, string name)
    {
        var prefix = $".{name}.";
        foreach (var file in Directory.EnumerateFiles(folder, "*.tmp"))
        {
            var candidate = Path.GetFileName(file);
            if (candidate.StartsWith(prefix, StringComparison.Ordinal)
                && Guid.TryParseExact(candidate.AsSpan(prefix.Length, candidate.Length - prefix.Length - ".tmp".Length), "N", out _))
            {
                File.Delete(file);
            }
        }
    }

    // Cleaning up after a failed write must not hide why it failed (a read-only disk refuses the delete too).
    private static void RemoveQuietly(string temporary)
    {
        try
        {
            File.Delete(temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
