using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Stage;

namespace ComputeNet.Streams;

/// <summary>One group handed on by <see cref="QuietClosingGroups{T}"/>; <paramref name="Quiet"/> when it closed because upstream went quiet.</summary>
public sealed record ElementGroup<T>(List<T> Elements, bool Quiet);

/// <summary>
/// Groups elements as GroupedWithin does — a group closes when it holds <paramref name="maxElements"/> or
/// <paramref name="interval"/> after its first element — and also once upstream has sent nothing for
/// <paramref name="quiet"/>: a group that has stopped growing is handed on at once instead of waiting out the interval, and
/// says so (<see cref="ElementGroup{T}.Quiet"/>), so a step further down may act on it at once too. Under a steady load no
/// such gap occurs and groups close on the bound or the interval as before. A group due while downstream is busy keeps
/// taking elements (up to the bound) until downstream asks; it is then no longer quiet if any arrived meanwhile. When the
/// stream goes quiet just after a group closed on the bound or the interval, an empty group with
/// <see cref="ElementGroup{T}.Quiet"/> says so. <paramref name="quiet"/> of zero turns the quiet rule off.
/// </summary>
public sealed class QuietClosingGroups<T>(int maxElements, TimeSpan interval, TimeSpan quiet) : GraphStage<FlowShape<T, ElementGroup<T>>>
{
    private readonly int _maxElements = maxElements;
    private readonly TimeSpan _interval = interval, _quiet = quiet;
    private readonly Inlet<T> _in = new("QuietClosingGroups.in");
    private readonly Outlet<ElementGroup<T>> _out = new("QuietClosingGroups.out");

    public override FlowShape<T, ElementGroup<T>> Shape => new(_in, _out);

    protected override Attributes InitialAttributes => Attributes.CreateName("QuietClosingGroups");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes)
    {
        if (_maxElements < 1) throw new ArgumentOutOfRangeException(nameof(maxElements), _maxElements, "a group holds at least one element");
        if (_interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), _interval, "the interval must be positive");
        if (_quiet < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(quiet), _quiet, "the quiet time may not be negative");
        return new Logic(this);
    }

    private sealed class Logic : TimerGraphStageLogic
    {
        private const string IntervalTimer = "interval", QuietTimer = "quiet";
        private readonly QuietClosingGroups<T> _stage;
        private readonly long _quietTicks;
        private List<T> _group = [];
        private bool _closeDue, _closedByQuiet, _quietTimerArmed;
        // Whether downstream has heard that the stream went quiet since the last element (true before the first).
        private bool _quietSignalled = true;
        private long _lastElementAt, _silenceConfirmingSince = -1;

        public Logic(QuietClosingGroups<T> stage) : base(stage.Shape)
        {
            _stage = stage;
            _quietTicks = (long)(stage._quiet.TotalSeconds * Stopwatch.Frequency);
            SetHandler(stage._in, onPush: OnPush, onUpstreamFinish: () =>
            {
                if (_group.Count == 0)
                {
                    CompleteStage();
                    return;
                }
                _closeDue = true;
                TryEmit();
            });
            SetHandler(stage._out, onPull: TryEmit);
        }

        public override void PreStart() => Pull(_stage._in);

        private void OnPush()
        {
            if (_group.Count == 0) ScheduleOnce(IntervalTimer, _stage._interval);
            _group.Add(Grab(_stage._in));
            // Read the clock per element, but arm the quiet timer only once per quiet period: it re-arms itself for the rest.
            _lastElementAt = Stopwatch.GetTimestamp();
            (_closedByQuiet, _quietSignalled) = (false, false);
            if (_quietTicks > 0 && !_quietTimerArmed) ArmQuietTimer(_quietTicks);
            if (_group.Count >= _stage._maxElements) _closeDue = true;
            TryEmit();
            if (_group.Count < _stage._maxElements && !HasBeenPulled(_stage._in)) Pull(_stage._in);
        }

        protected override void OnTimer(object timerKey)
        {
            if (IntervalTimer.Equals(timerKey))
            {
                if (_group.Count == 0) return;
                _closeDue = true;
            }
            else
            {
                _quietTimerArmed = false;
                var silent = Stopwatch.GetTimestamp() - _lastElementAt;
                if (silent < _quietTicks)
                {
                    ArmQuietTimer(_quietTicks - silent);
                    return;
                }
                // A group that closed on the bound just before the stream went quiet did not say so: an empty quiet group does.
                if (_quietSignalled) return;
                // Confirm once, a moment later: after a pause of the whole process (a GC) this timer can run before the
                // elements that arrived meanwhile, and the gap would be the pause, not upstream's silence.
                if (_silenceConfirmingSince != _lastElementAt)
                {
                    _silenceConfirmingSince = _lastElementAt;
                    ArmQuietTimer(Math.Max(_quietTicks / 4, Stopwatch.Frequency / 100));
                    return;
                }
                (_closeDue, _closedByQuiet) = (true, true);
            }
            TryEmit();
        }

        // A flag rather than IsTimerActive: that looks the key up in a dictionary, once per element here.
        private void ArmQuietTimer(long ticks)
        {
            _quietTimerArmed = true;
            ScheduleOnce(QuietTimer, TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency));
        }

        private void TryEmit()
        {
            if (!_closeDue || (_group.Count == 0 && !_closedByQuiet) || !IsAvailable(_stage._out)) return;
            var group = new ElementGroup<T>(_group, _closedByQuiet);
            (_group, _closeDue, _closedByQuiet) = ([], false, false);
            _quietSignalled = group.Quiet;
            // The quiet timer stays: after a group closed on the bound or the interval it still watches for the silence.
            CancelTimer(IntervalTimer);
            Push(_stage._out, group);
            if (IsClosed(_stage._in)) CompleteStage();
            else if (!HasBeenPulled(_stage._in)) Pull(_stage._in);
        }
    }
}
