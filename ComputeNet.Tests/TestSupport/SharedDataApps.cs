namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// Finds the shared real data sets (../shared/data, outside the repository; licences vary, so they are read by
/// path and never copied in) by walking up from the test binaries.
/// </summary>
public static class SharedDataApps
{
    private static readonly Lazy<string?> DataDirectory = new(() => WalkUp(dir => Path.Combine(dir, "shared", "data")));

    /// <summary>shared/data, or null on a machine without it.</summary>
    public static string? Root => DataDirectory.Value;

    /// <summary>shared/data/apps, or null on a machine without it.</summary>
    public static string? AppsDirectory => Root is { } root ? Path.Combine(root, "apps") : null;

    public static string App(string relativePath) =>
        Path.Combine(AppsDirectory ?? throw new DirectoryNotFoundException("shared/data was not found above " + AppContext.BaseDirectory), relativePath);

    internal static string? WalkUp(Func<string, string> candidate)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = candidate(dir.FullName);
            if (Directory.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}

/// <summary>Files of this repository (samples, schemas) found from the test binaries, so tests read what ships.</summary>
public static class RepositoryFiles
{
    private static readonly Lazy<string> RootDirectory = new(() =>
        Path.GetDirectoryName(SharedDataApps.WalkUp(dir => Path.Combine(dir, "ComputeNet.Host", "samples"))
            ?? throw new DirectoryNotFoundException("ComputeNet.Host/samples was not found above " + AppContext.BaseDirectory))!);

    /// <summary>A path under ComputeNet.Host.</summary>
    public static string Host(string relativePath) => Path.Combine(RootDirectory.Value, relativePath);
}
