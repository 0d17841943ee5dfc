namespace ComputeNet.Tests.TestSupport;

/// <summary>Finds the shared data folder (…/shared/data) by walking up from the test binaries.</summary>
public static class SharedDataForecast
{
    public static string? FindDataFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "shared", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Path of a usage trace (shared/data/usage/NAME), or null when the data is not on this machine.</summary>
    public static string? UsageTrace(string fileName)
    {
        var folder = FindDataFolder();
        if (folder is null) return null;
        var path = Path.Combine(folder, "usage", fileName);
        return File.Exists(path) ? path : null;
    }
}
