using System.Text;
using ComputeNet.Streams;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams;

public sealed class Utf8StringPoolTests
{
    [Fact]
    public void The_same_bytes_give_the_same_string_instance_and_decode_like_utf8()
    {
        var pool = new Utf8StringPool(capacity: 10);
        var first = pool.Get("edge-1"u8);
        var again = pool.Get(Encoding.UTF8.GetBytes("edge-" + 1));
        first.ShouldBe("edge-1");
        ReferenceEquals(first, again).ShouldBeTrue();
        pool.Get("节点-é"u8).ShouldBe("节点-é");
        byte[] invalid = [0x61, 0xFF, 0x62];
        pool.Get(invalid).ShouldBe(Encoding.UTF8.GetString(invalid));
        pool.Get([]).ShouldBe("");
        pool.Count.ShouldBe(4);
    }

    [Fact]
    public void It_holds_at_most_its_capacity_and_values_too_long_to_pool_are_still_decoded()
    {
        var pool = new Utf8StringPool(capacity: 100);
        for (var i = 0; i < 1_000; i++) pool.Get(Encoding.UTF8.GetBytes($"node-{i}")).ShouldBe($"node-{i}");
        pool.Count.ShouldBeLessThanOrEqualTo(100);

        var long1 = new string('x', Utf8StringPool.MaxPooledBytes + 1);
        var decoded = pool.Get(Encoding.UTF8.GetBytes(long1));
        decoded.ShouldBe(long1);
        ReferenceEquals(decoded, pool.Get(Encoding.UTF8.GetBytes(long1))).ShouldBeFalse();
    }
}
