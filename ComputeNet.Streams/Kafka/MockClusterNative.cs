using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// P/Invoke surface of librdkafka's mock cluster (rdkafka_mock.h, experimental API of librdkafka 2.16).
/// The library name is private to this assembly so our resolver never affects Confluent.Kafka's own loading.
/// </summary>
internal static class MockClusterNative
{
    private const string Library = "computenet-librdkafka";

    internal const int ProducerType = 0; // RD_KAFKA_PRODUCER
    internal const int ConfOk = 0;       // RD_KAFKA_CONF_OK

    static MockClusterNative() => NativeLibrary.SetDllImportResolver(typeof(MockClusterNative).Assembly, Resolve);

    /// <summary>Which file was loaded; for diagnostics.</summary>
    internal static string? LoadedFrom { get; private set; }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return IntPtr.Zero;
        foreach (var candidate in Candidates())
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                LoadedFrom = candidate;
                return handle;
            }
        }
        throw new DllNotFoundException(
            $"librdkafka could not be loaded from any of: {string.Join(", ", Candidates())}");
    }

    // Same order Confluent.Kafka uses on Linux: the regular build first; on Debian 12 it lacks
    // libsasl2.so.3, so the CentOS 8 build (statically linked SASL) is next.
    private static IEnumerable<string> Candidates()
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeId(), "native");
        if (OperatingSystem.IsWindows())
        {
            yield return Path.Combine(native, "librdkafka.dll");
            yield return "librdkafka.dll";
        }
        else if (OperatingSystem.IsMacOS())
        {
            yield return Path.Combine(native, "librdkafka.dylib");
            yield return "librdkafka.dylib";
        }
        else
        {
            yield return Path.Combine(native, "librdkafka.so");
            yield return Path.Combine(native, "centos8-librdkafka.so");
            yield return Path.Combine(native, "alpine-librdkafka.so");
            yield return "librdkafka.so.1";
        }
    }

    private static string RuntimeId()
    {
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        return $"{os}-{arch}";
    }

    [DllImport(Library)] internal static extern IntPtr rd_kafka_conf_new();
    [DllImport(Library)] internal static extern void rd_kafka_conf_destroy(IntPtr conf);

    [DllImport(Library, CharSet = CharSet.Ansi, BestFitMapping = false)]
    internal static extern int rd_kafka_conf_set(IntPtr conf, string name, string value, StringBuilder errstr, UIntPtr errstrSize);

    [DllImport(Library)]
    internal static extern IntPtr rd_kafka_new(int type, IntPtr conf, StringBuilder errstr, UIntPtr errstrSize);

    [DllImport(Library)] internal static extern void rd_kafka_destroy(IntPtr rk);

    [DllImport(Library)] internal static extern IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
    [DllImport(Library)] internal static extern void rd_kafka_mock_cluster_destroy(IntPtr mcluster);
    [DllImport(Library)] internal static extern IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    [DllImport(Library, CharSet = CharSet.Ansi, BestFitMapping = false)]
    internal static extern int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor);

    [DllImport(Library)] internal static extern int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);
    [DllImport(Library)] internal static extern int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);
    [DllImport(Library)] internal static extern int rd_kafka_mock_broker_set_rtt(IntPtr mcluster, int brokerId, int rttMs);

    // The array variant, because the C variadic rd_kafka_mock_push_request_errors cannot be P/Invoked portably.
    [DllImport(Library)]
    internal static extern void rd_kafka_mock_push_request_errors_array(IntPtr mcluster, short apiKey, UIntPtr count, int[] errors);

    [DllImport(Library)] internal static extern void rd_kafka_mock_clear_request_errors(IntPtr mcluster, short apiKey);

    [DllImport(Library)] internal static extern void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mcluster, int delayMs);

    [DllImport(Library)] internal static extern IntPtr rd_kafka_err2str(int err);

    internal static string ErrorText(int err) => Marshal.PtrToStringAnsi(rd_kafka_err2str(err)) ?? $"error {err}";
}
