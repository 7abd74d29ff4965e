using NanoLlm.Storage;
using NanoLlm.Tests.Support;

namespace NanoLlm.Tests.Storage;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Readers_never_see_a_half_written_file()
    {
        var path = _folder.Write("out.bin", "old");

        AtomicFile.Write(path, stream =>
        {
            stream.Write("new"u8);
            Assert.Equal("old", File.ReadAllText(path));
        });

        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact]
    public void A_write_that_throws_keeps_the_old_file_and_removes_the_temporary_one()
    {
        var path = _folder.Write("out.bin", "old");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("partial"u8);
            throw new InvalidOperationException("disk full");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_folder.Path));
    }

    [Fact]
    public void Temporary_files_left_by_a_killed_writer_are_removed_by_the_next_write()
    {
        var path = _folder.Write("out.bin", "old");
        var leftover = _folder.Write($".out.bin.{Guid.NewGuid():N}.tmp", "half");
        var otherFiles = _folder.Write($".other.bin.{Guid.NewGuid():N}.tmp", "not ours");

        AtomicFile.Write(path, stream => stream.Write("new"u8));

        Assert.False(File.Exists(leftover));
        Assert.True(File.Exists(otherFiles));
        Assert.Equal("new", File.ReadAllText(path));
    }
}
