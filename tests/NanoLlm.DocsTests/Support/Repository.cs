namespace NanoLlm.DocsTests.Support;

/// <summary>The repository the tests were built from, found from the test assembly's location.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "NanoLlm.slnx")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException("NanoLlm.slnx not found above " + AppContext.BaseDirectory);
    }
}
