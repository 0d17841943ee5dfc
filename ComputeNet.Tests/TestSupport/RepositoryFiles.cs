namespace ComputeNet.Tests.TestSupport;

/// <summary>Files of this repository (samples, schemas) found from the test binaries, so tests read what ships.</summary>
public static class RepositoryFiles
{
    /// <summary>A path under ComputeNet.Host.</summary>
    public static string Host(string relativePath) => Path.Combine(HostProcess.RepositoryRoot(), "ComputeNet.Host", relativePath);
}
