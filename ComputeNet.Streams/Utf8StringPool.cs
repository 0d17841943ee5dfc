using System.Collections.Concurrent;
using System.Text;

namespace ComputeNet.Streams;

/// <summary>
/// Strings decoded from UTF-8 that every record repeats — node ids, agent tokens, record keys — decoded into a stack
/// buffer and looked up, so each distinct value is one string however many records carry it (a telemetry window holds up
/// to 100,000 records: without it, three new strings per record were the pipeline's largest allocation). Bounded: when
/// <c>capacity</c> distinct values are held it starts over, so a stream of ever-new ids costs lookups, not memory.
/// </summary>
public sealed class Utf8StringPool
{
    /// <summary>Longer values are decoded as they are: ids are at most 128 characters, tokens 256.</summary>
    public const int MaxPooledBytes = 512;

    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _capacity;

    public Utf8StringPool(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Shared by the telemetry parsers: one entry per node id, token and link key of the fleet.</summary>
    public static Utf8StringPool Shared { get; } = new(200_000);

    /// <summary>How many distinct values are held.</summary>
    public int Count => _strings.Count;

    /// <summary>The string <paramref name="utf8"/> decodes to (invalid sequences become U+FFFD, as with <see cref="Encoding.UTF8"/>).</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxPooledBytes) return Encoding.UTF8.GetString(utf8);
        Span<char> buffer = stackalloc char[MaxPooledBytes];
        var chars = buffer[..Encoding.UTF8.GetChars(utf8, buffer)];
        if (_lookup.TryGetValue(chars, out var pooled)) return pooled;
        var decoded = new string(chars);
        if (_strings.Count >= _capacity) _strings.Clear();
        return _strings.GetOrAdd(decoded, decoded);
    }
}
