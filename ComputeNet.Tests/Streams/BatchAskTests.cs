using Akka.Actor;
using ComputeNet.Streams;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Streams;

public sealed class BatchAskTests : IAsyncLifetime
{
    private sealed record Work(string EntityId, int Payload);

    private sealed record Done(string EntityId, int Payload);

    /// <summary>Answers each entity's requests in order, like a shard region of entities, but entities out of order with each other.</summary>
    private sealed class Entities : ReceiveActor
    {
        public Entities()
        {
            Receive<Work>(work =>
            {
                var sender = Sender;
                if (work.Payload < 0) sender.Tell(new Status.Failure(new InvalidOperationException($"entity {work.EntityId} refused")));
                else if (work.Payload == 0) { } // never answers
                else Context.System.Scheduler.ScheduleTellOnce(TimeSpan.FromMilliseconds(work.EntityId == "slow" ? 50 : 0), sender,
                    new Done(work.EntityId, work.Payload * 10), Self);
            });
        }
    }

    private ActorSystem _system = null!;
    private IActorRef _entities = null!;

    public ValueTask InitializeAsync()
    {
        _system = ActorSystem.Create("batch-ask");
        _entities = _system.ActorOf(Props.Create(() => new Entities()));
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    private Task<Done[]> Ask(params Work[] work) =>
        BatchAsk.AskAll<Work, Done>(_entities, work, w => w.EntityId, d => d.EntityId, TimeSpan.FromSeconds(3));

    [Fact]
    public async Task Replies_come_back_in_message_order_also_when_one_entity_is_asked_twice_and_answers_late()
    {
        var replies = await Ask(new Work("slow", 1), new Work("a", 2), new Work("b", 3), new Work("a", 4));

        replies.Select(r => (r.EntityId, r.Payload)).ShouldBe([("slow", 10), ("a", 20), ("b", 30), ("a", 40)]);
    }

    [Fact]
    public async Task A_failure_reply_fails_the_batch()
    {
        var failure = await Should.ThrowAsync<InvalidOperationException>(() => Ask(new Work("a", 1), new Work("b", -1)));

        failure.Message.ShouldBe("entity b refused");
    }

    [Fact]
    public async Task A_missing_reply_times_out_and_says_how_many_are_missing()
    {
        var timeout = await Should.ThrowAsync<TimeoutException>(() => Ask(new Work("a", 1), new Work("b", 0), new Work("c", 0)));

        timeout.Message.ShouldStartWith("2 of 3 Work replies not received");
    }

    [Fact]
    public async Task An_empty_batch_completes_at_once()
    {
        (await Ask()).ShouldBeEmpty();
    }
}
