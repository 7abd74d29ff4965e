using System.Diagnostics;

namespace NanoLlm.Tests.Support;

/// <summary>
/// A small tmpfs mounted on a fresh folder (root only), to make the faults a disk has: full (its size is the limit)
/// or read-only (<see cref="MakeReadOnly"/>; permission bits do not stop root). Unmounted and removed on dispose.
/// </summary>
public sealed class MountedFolder : IDisposable
{
    private MountedFolder(string path) => Path = path;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Whether this process may mount file systems; the tests that need it are skipped otherwise.</summary>
    public static bool CanMount => OperatingSystem.IsLinux() && Environment.IsPrivilegedProcess;

    public static MountedFolder Tmpfs(int kilobytes)
    {
        var path = Directory.CreateTempSubdirectory("nanollm-mount-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", path);
        return new MountedFolder(path);
    }

    public void MakeReadOnly() => Run("mount", "-o", "remount,ro", Path);

    public void Dispose()
    {
        Run("umount", Path);
        Directory.Delete(Path);
    }

    private static void Run(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed: {error}");
        }
    }
}

/// <summary>A fact that needs <see cref="MountedFolder"/>: skipped, saying why, where this process may not mount.</summary>
public sealed class MountFactAttribute : FactAttribute
{
    public MountFactAttribute()
    {
        if (!MountedFolder.CanMount)
        {
            Skip = "needs root on Linux to mount a small tmpfs (a full or read-only disk)";
        }
    }
}
