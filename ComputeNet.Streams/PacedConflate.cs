using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Stage;

namespace ComputeNet.Streams;

/// <summary>
/// Folds everything upstream sends into one aggregate (upstream is never back-pressured) and hands the aggregate on
/// no sooner than <paramref name="interval"/> after downstream last asked for one — at once for the first request and
/// when the upstream completes. An expensive downstream step (a checkpoint) so runs at most once per interval plus its own
/// duration, and each run covers every element that arrived up to the moment it starts: the wait happens here, before the
/// aggregate is handed over, not inside the step with an aggregate taken earlier. An element for which
/// <paramref name="handOverAtOnce"/> holds (upstream has gone quiet: nothing more is coming to fold in) lets the aggregate
/// go as soon as downstream asks, without waiting out the interval.
/// </summary>
public sealed class PacedConflate<TIn, TAggregate>(
    Func<TIn, TAggregate> seed, Func<TAggregate, TIn, TAggregate> aggregate, TimeSpan interval, Func<TIn, bool>? handOverAtOnce = null)
    : GraphStage<FlowShape<TIn, TAggregate>>
{
    private readonly Func<TIn, bool>? _handOverAtOnce = handOverAtOnce;
    private readonly Func<TIn, TAggregate> _seed = seed;
    private readonly Func<TAggregate, TIn, TAggregate> _aggregate = aggregate;
    private readonly TimeSpan _interval = interval;
    private readonly Inlet<TIn> _in = new("PacedConflate.in");
    private readonly Outlet<TAggregate> _out = new("PacedConflate.out");

    public override FlowShape<TIn, TAggregate> Shape => new(_in, _out);

    protected override Attributes InitialAttributes => Attributes.CreateName("PacedConflate");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string TimerKey = "paced";
        private readonly PacedConflate<TIn, TAggregate> _stage;
        private TAggregate? _pending;
        private bool _hasPending, _firstRequest = true, _handOverAtOnce;
        private long _mayEmitAt;

        public Logic(PacedConflate<TIn, TAggregate> stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage._in, onPush: () =>
            {
                var element = Grab(stage._in);
                _pending = _hasPending ? stage._aggregate(_pending!, element) : stage._seed(element);
                _hasPending = true;
                _handOverAtOnce |= stage._handOverAtOnce?.Invoke(element) ?? false;
                Pull(stage._in);
                TryEmit();
            }, onUpstreamFinish: () =>
            {
                if (!_hasPending) CompleteStage();
                else if (IsAvailable(stage._out)) EmitAndComplete();
                // else: the pull that comes next takes the rest (see onPull).
            });
            SetHandler(stage._out, onPull: () =>
            {
                if (IsClosed(stage._in))
                {
                    EmitAndComplete();
                    return;
                }
                _mayEmitAt = Stopwatch.GetTimestamp() + (_firstRequest ? 0 : (long)(stage._interval.TotalSeconds * Stopwatch.Frequency));
                _firstRequest = false;
                TryEmit();
            });
        }

        public override void PreStart() => Pull(_stage._in);

        protected override void OnTimer(object timerKey) => TryEmit();

        private void TryEmit()
        {
            if (!_hasPending || !IsAvailable(_stage._out)) return;
            var wait = _mayEmitAt - Stopwatch.GetTimestamp();
            if (wait > 0 && !_handOverAtOnce)
            {
                if (!IsTimerActive(TimerKey)) ScheduleOnce(TimerKey, TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                return;
            }
            Push(_stage._out, TakePending());
        }

        private void EmitAndComplete()
        {
            if (_hasPending) Push(_stage._out, TakePending());
            CompleteStage();
        }

        private TAggregate TakePending()
        {
            var pending = _pending!;
            (_pending, _hasPending, _handOverAtOnce) = (default, false, false);
            return pending;
        }
    }
}
