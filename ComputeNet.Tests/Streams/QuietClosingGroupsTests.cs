using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Streams;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams;

public sealed class QuietClosingGroupsTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private ActorSystem _system = null!;

    public ValueTask InitializeAsync()
    {
        _system = ActorSystem.Create("quiet-closing-groups");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    /// <summary>Runs the stage behind a queue; every group handed on is recorded with when it came.</summary>
    private (ISourceQueueWithComplete<int> Queue, Task Done, List<(ElementGroup<int> Group, TimeSpan At)> Groups) Run(
        int max, TimeSpan interval, TimeSpan quiet, TimeSpan downstreamDelay = default)
    {
        var groups = new List<(ElementGroup<int>, TimeSpan)>();
        var clock = Stopwatch.StartNew();
        var (queue, done) = Source.Queue<int>(64, OverflowStrategy.Backpressure)
            .Via(new QuietClosingGroups<int>(max, interval, quiet))
            .SelectAsync(1, async group =>
            {
                lock (groups) groups.Add((group, clock.Elapsed));
                if (downstreamDelay > TimeSpan.Zero) await Task.Delay(downstreamDelay);
                return group;
            })
            .ToMaterialized(Sink.Ignore<ElementGroup<int>>(), Keep.Both)
            .Run(_system.Materializer());
        return (queue, done, groups);
    }

    private static async Task AwaitCount(List<(ElementGroup<int> Group, TimeSpan At)> groups, int count, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            lock (groups) if (groups.Count >= count) return;
            if (deadline.Elapsed > timeout) throw new TimeoutException($"{groups.Count} of {count} groups within {timeout}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Groups_close_on_the_bound_behind_a_slow_downstream_and_the_rest_on_completion()
    {
        var (queue, done, groups) = Run(max: 10, Long, quiet: TimeSpan.Zero, downstreamDelay: TimeSpan.FromMilliseconds(100));
        for (var i = 0; i < 25; i++) await queue.OfferAsync(i);
        queue.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(10));

        groups.Select(g => g.Group.Elements.Count).ShouldBe([10, 10, 5]);
        groups.SelectMany(g => g.Group.Elements).ShouldBe(Enumerable.Range(0, 25));
        groups.ShouldAllBe(g => !g.Group.Quiet);
    }

    [Fact]
    public async Task A_group_that_stops_growing_closes_after_the_quiet_time_and_says_so_long_before_the_interval()
    {
        var quiet = TimeSpan.FromMilliseconds(200);
        var (queue, done, groups) = Run(max: 1000, Long, quiet);
        var sent = Stopwatch.StartNew();
        foreach (var i in new[] { 1, 2, 3 }) await queue.OfferAsync(i);
        await AwaitCount(groups, 1, TimeSpan.FromSeconds(10));
        foreach (var i in new[] { 4, 5 }) await queue.OfferAsync(i);
        await AwaitCount(groups, 2, TimeSpan.FromSeconds(10));

        groups.Select(g => g.Group.Elements).ShouldBe([[1, 2, 3], [4, 5]]);
        groups.ShouldAllBe(g => g.Group.Quiet);
        groups[0].At.ShouldBeGreaterThanOrEqualTo(quiet - TimeSpan.FromMilliseconds(20)); // not before the silence
        sent.Elapsed.ShouldBeLessThan(Long / 3);
        queue.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Under_a_steady_stream_groups_close_on_the_interval_and_then_an_empty_group_marks_the_silence()
    {
        var (queue, done, groups) = Run(max: 1000, interval: TimeSpan.FromMilliseconds(300), quiet: TimeSpan.FromSeconds(1));
        var sending = Stopwatch.StartNew();
        var sent = 0;
        while (sending.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            await queue.OfferAsync(sent++);
            await Task.Delay(20);
        }
        // The last partial group closes on the interval, before the (longer) quiet time is up; the silence comes after it.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            lock (groups) if (groups.Any(g => g.Group.Quiet)) break;
            await Task.Delay(20);
        }

        groups.Count.ShouldBeGreaterThanOrEqualTo(5); // about 1.5 s / 300 ms, then the marker
        groups.SkipLast(1).ShouldAllBe(g => !g.Group.Quiet && g.Group.Elements.Count > 0);
        groups[^1].Group.Quiet.ShouldBeTrue();
        groups[^1].Group.Elements.ShouldBeEmpty();
        groups.SelectMany(g => g.Group.Elements).ShouldBe(Enumerable.Range(0, sent));
        queue.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_group_closed_on_the_bound_just_before_the_silence_is_followed_by_one_empty_quiet_group()
    {
        var quiet = TimeSpan.FromMilliseconds(150);
        var (queue, done, groups) = Run(max: 5, Long, quiet);
        for (var i = 0; i < 5; i++) await queue.OfferAsync(i);
        await AwaitCount(groups, 2, TimeSpan.FromSeconds(10));
        await Task.Delay(quiet * 4); // silence goes on: no further marker

        groups.Count.ShouldBe(2);
        groups[0].Group.Elements.ShouldBe([0, 1, 2, 3, 4]);
        groups[0].Group.Quiet.ShouldBeFalse();
        groups[1].Group.Elements.ShouldBeEmpty();
        groups[1].Group.Quiet.ShouldBeTrue();
        queue.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(10));
        groups.Count.ShouldBe(2); // completing after the marker hands on nothing more
    }
}
