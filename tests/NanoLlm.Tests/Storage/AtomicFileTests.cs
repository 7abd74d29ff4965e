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
}
