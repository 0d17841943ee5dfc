using System.Diagnostics;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using ComputeNet.Streams;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams;

public sealed class PacedConflateTests : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public ValueTask InitializeAsync()
    {
        _system = ActorSystem.Create("paced-conflate");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    [Fact]
    public async Task Elements_that_arrive_while_the_interval_runs_join_the_next_aggregate_and_the_rest_is_flushed_on_completion()
    {
        var interval = TimeSpan.FromSeconds(1);
        var handedOver = new List<(List<int> Elements, TimeSpan At)>();
        var clock = Stopwatch.StartNew();
        var (queue, done) = Source.Queue<int>(16, OverflowStrategy.Backpressure)
            .Via(new PacedConflate<int, List<int>>(first => [first], (list, next) => { list.Add(next); return list; }, interval))
            .SelectAsync(1, async aggregate =>
            {
                lock (handedOver) handedOver.Add((aggregate, clock.Elapsed));
                await Task.Delay(50);
                return aggregate;
            })
            .ToMaterialized(Sink.Ignore<List<int>>(), Keep.Both)
            .Run(_system.Materializer());

        await queue.OfferAsync(1);                       // first request: handed over at once
        await Task.Delay(200);
        await queue.OfferAsync(2);                       // waits for the interval ...
        await Task.Delay(300);
        await queue.OfferAsync(3);                       // ... and 3, arriving meanwhile, goes with it
        while (true)
        {
            lock (handedOver) if (handedOver.Count == 2) break;
            await Task.Delay(20);
        }
        await queue.OfferAsync(4);
        queue.Complete();                                // completion hands 4 over without waiting
        await done.WaitAsync(TimeSpan.FromSeconds(10));

        handedOver.Select(h => h.Elements).ShouldBe([[1], [2, 3], [4]]);
        (handedOver[1].At - handedOver[0].At).ShouldBeGreaterThanOrEqualTo(interval);
        (handedOver[2].At - handedOver[1].At).ShouldBeLessThan(interval);
    }

    [Fact]
    public async Task An_element_marked_for_hand_over_at_once_does_not_wait_out_the_interval()
    {
        var interval = TimeSpan.FromSeconds(30);
        var handedOver = new List<List<int>>();
        var (queue, done) = Source.Queue<int>(16, OverflowStrategy.Backpressure)
            .Via(new PacedConflate<int, List<int>>(first => [first], (list, next) => { list.Add(next); return list; }, interval,
                handOverAtOnce: element => element < 0))
            .Select(aggregate =>
            {
                lock (handedOver) handedOver.Add(aggregate);
                return aggregate;
            })
            .ToMaterialized(Sink.Ignore<List<int>>(), Keep.Both)
            .Run(_system.Materializer());

        async Task AwaitHandedOver(int count)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                lock (handedOver) if (handedOver.Count >= count) return;
                if (clock.Elapsed > interval / 3) throw new TimeoutException($"{handedOver.Count} of {count} aggregates handed over");
                await Task.Delay(20);
            }
        }

        await queue.OfferAsync(1);                       // the first request: at once
        await AwaitHandedOver(1);
        await queue.OfferAsync(2);                       // waits for the interval ...
        await Task.Delay(300);
        lock (handedOver) handedOver.Count.ShouldBe(1);
        await queue.OfferAsync(-3);                      // ... until an element that may go at once takes it along
        await AwaitHandedOver(2);
        await queue.OfferAsync(4);                       // the next one waits again
        await Task.Delay(300);
        lock (handedOver) handedOver.Count.ShouldBe(2);
        queue.Complete();
        await done.WaitAsync(TimeSpan.FromSeconds(10));

        handedOver.ShouldBe([[1], [2, -3], [4]]);
    }
}
