namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// Finds the shared data sets (`shared/data`, a sibling of the repository) by walking up from the
/// test's base directory, so tests run from any checkout location. The product never reads it.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> Root = new(Locate);

    /// <summary>True when the data folder exists on this machine.</summary>
    public static bool Available => Root.Value is not null;

    /// <summary>The absolute path of a file or folder under shared/data.</summary>
    public static string Path(params string[] parts) =>
        System.IO.Path.Combine([Root.Value ?? throw new DirectoryNotFoundException("shared/data was not found next to the repository."), .. parts]);

    private static string? Locate()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = System.IO.Path.Combine(directory.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}
