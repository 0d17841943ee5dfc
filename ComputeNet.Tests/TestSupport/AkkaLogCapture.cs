using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Event;
using Xunit;

namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// An Akka logger that keeps an in-process actor system's log in memory, so a test that fails can show what its
/// actors did (an in-process harness has no process output to keep). Lines are kept per actor system.
/// </summary>
public sealed class AkkaLogCapture : ReceiveActor, Akka.Dispatch.IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private const int Kept = 5_000;

    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Logs = new(StringComparer.Ordinal);

    public AkkaLogCapture()
    {
        var lines = Logs.GetOrAdd(Context.System.Name, _ => new ConcurrentQueue<string>());
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e =>
        {
            lines.Enqueue($"{e.Timestamp:HH:mm:ss.fff} {e.LogLevel().ToString().Replace("Level", "")} {e.LogSource}: {e.Message}"
                          + (e.Cause is null ? "" : $" ({e.Cause.GetType().Name}: {e.Cause.Message})"));
            while (lines.Count > Kept) lines.TryDequeue(out _);
        });
    }

    /// <summary>
    /// Hands the system's log to the running test's output (shown when it fails) and, with
    /// COMPUTENET_TEST_HOST_LOGS=DIR (as for host processes), to a file there; then forgets it.
    /// </summary>
    public static async Task FlushAsync(string systemName)
    {
        if (!Logs.TryRemove(systemName, out var lines)) return;
        var text = string.Join(Environment.NewLine, lines);
        TestContext.Current.TestOutputHelper?.WriteLine($"--- Akka log of {systemName} ---{Environment.NewLine}{text}");
        if (Environment.GetEnvironmentVariable("COMPUTENET_TEST_HOST_LOGS") is { Length: > 0 } dir)
            await File.WriteAllTextAsync(Path.Combine(dir, $"harness-{DateTime.UtcNow:HHmmss.fff}-{systemName}.log"), text);
    }
}
