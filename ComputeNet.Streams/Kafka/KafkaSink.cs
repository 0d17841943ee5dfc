using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.Stage;
using Confluent.Kafka;

namespace ComputeNet.Streams.Kafka;

/// <summary>A record to produce. A null <see cref="Partition"/> lets the partitioner choose (by key).</summary>
public sealed record ProducerRecord(string Topic, string? Key, byte[] Value)
{
    public Headers? Headers { get; init; }
    public int? Partition { get; init; }

    internal Message<string?, byte[]> ToMessage() => new() { Key = Key, Value = Value, Headers = Headers };
}

public static class KafkaSink
{
    /// <summary>
    /// Produces every record; back-pressures when <see cref="ProducerSettings.MaxInFlight"/> deliveries are
    /// outstanding. The task completes when upstream has completed and every record is acknowledged, and
    /// fails on the first failed delivery.
    /// </summary>
    public static Sink<ProducerRecord, Task> Plain(ProducerSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxInFlight, 1);
        return Sink.FromGraph(new ProducerSinkStage(settings));
    }
}

internal sealed class ProducerSinkStage(ProducerSettings settings) : GraphStageWithMaterializedValue<SinkShape<ProducerRecord>, Task>
{
    private readonly Inlet<ProducerRecord> _in = new("KafkaSink.in");

    public override SinkShape<ProducerRecord> Shape => new(_in);

    protected override Attributes InitialAttributes => Attributes.CreateName("KafkaPlainSink");

    public override ILogicAndMaterializedValue<Task> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return new LogicAndMaterializedValue<Task>(new Logic(this, completion), completion.Task);
    }

    private sealed class Logic : GraphStageLogic
    {
        private readonly ProducerSinkStage _stage;
        private readonly TaskCompletionSource _completion;
        private IProducer<string?, byte[]>? _producer;
        private Action<DeliveryReport<string?, byte[]>> _onDelivery = _ => { };
        private int _inFlight;
        private bool _upstreamFinished;

        public Logic(ProducerSinkStage stage, TaskCompletionSource completion) : base(stage.Shape)
        {
            _stage = stage;
            _completion = completion;
            SetHandler(stage._in,
                onPush: OnPush,
                onUpstreamFinish: () =>
                {
                    _upstreamFinished = true;
                    CompleteWhenDone();
                },
                onUpstreamFailure: Fail);
        }

        public override void PreStart()
        {
            _producer = _stage.Settings.Build();
            // Delivery reports arrive on the client's poll thread; the callback brings them into the stage.
            _onDelivery = GetAsyncCallback<DeliveryReport<string?, byte[]>>(OnDelivery);
            // Outstanding delivery reports must still arrive after upstream (our only port) has closed.
            SetKeepGoing(true);
            Pull(_stage._in);
        }

        private void OnPush()
        {
            var record = Grab(_stage._in);
            try
            {
                if (record.Partition is { } partition)
                    _producer!.Produce(new TopicPartition(record.Topic, partition), record.ToMessage(), _onDelivery);
                else
                    _producer!.Produce(record.Topic, record.ToMessage(), _onDelivery);
            }
            catch (KafkaException e)
            {
                Fail(e); // e.g. a record too large for the client: refused before it is queued
                return;
            }
            _inFlight++;
            if (_inFlight < _stage.Settings.MaxInFlight) Pull(_stage._in);
        }

        private void OnDelivery(DeliveryReport<string?, byte[]> report)
        {
            _inFlight--;
            if (report.Error.IsError)
            {
                Fail(new ProduceException<string?, byte[]>(report.Error, report));
                return;
            }
            if (CompleteWhenDone()) return;
            if (!_upstreamFinished && !HasBeenPulled(_stage._in)) Pull(_stage._in);
        }

        private bool CompleteWhenDone()
        {
            if (!_upstreamFinished || _inFlight > 0) return false;
            _completion.TrySetResult();
            CompleteStage();
            return true;
        }

        private void Fail(Exception cause)
        {
            _completion.TrySetException(cause);
            FailStage(cause);
        }

        public override void PostStop()
        {
            if (_producer is not null)
            {
                // Whatever is still queued gets its chance to be delivered before the client goes away.
                var undelivered = _producer.Flush(_stage.Settings.FlushTimeout);
                _producer.Dispose();
                if (undelivered > 0)
                    _completion.TrySetException(new KafkaException(new Error(ErrorCode.Local_TimedOut, $"{undelivered} record(s) not delivered before the sink stopped")));
            }
            _completion.TrySetException(new AbruptStageTerminationException(this));
        }
    }

    internal ProducerSettings Settings => settings;
}
