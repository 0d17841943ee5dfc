using System.Diagnostics;
using Xunit;

namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// kcat, a Kafka client this project did not write, driven as a user would from a shell.
/// Absent kcat fails the test in CI and skips it elsewhere, with a message saying how to install it.
/// </summary>
public static class Kcat
{
    public static void Require()
    {
        if (File.Exists("/usr/bin/kcat") || File.Exists("/usr/local/bin/kcat")) return;
        const string message = "kcat is not installed: apt-get install -y kcat (as .ci/run does)";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)) Assert.Fail(message);
        Assert.Skip(message);
    }

    /// <summary>Produces "key|value" lines, as `kcat -P -K '|'` does.</summary>
    public static async Task ProduceAsync(string bootstrap, string topic, IEnumerable<string> keyedLines)
    {
        Require();
        var start = new ProcessStartInfo("kcat") { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-P", "-b", bootstrap, "-t", topic, "-K", "|" }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        foreach (var line in keyedLines) await process.StandardInput.WriteLineAsync(line);
        process.StandardInput.Close();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"kcat -P exited {process.ExitCode}: {stderr}");
    }

    /// <summary>Reads a topic from the beginning to its current end: one "key|value" string per record.</summary>
    public static async Task<IReadOnlyList<string>> ConsumeAllAsync(string bootstrap, string topic)
    {
        Require();
        var start = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k|%s\n" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0) throw new InvalidOperationException($"kcat -C exited {process.ExitCode}: {await stderr}");
        return (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
