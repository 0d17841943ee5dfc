using Akka.Actor;
using Akka.Event;
using ComputeNet.Actors.Nodes;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Topology;
using static ComputeNet.Actors.Nodes.ReservationCommands;
using static ComputeNet.Actors.Nodes.ReservationReplies;
using static ComputeNet.Actors.Scheduling.SchedulerProtocol;

namespace ComputeNet.Actors.Scheduling;

/// <param name="DefaultPolicy">used when the app names none; greedy-objective is the best heuristic of `bench place`.</param>
/// <param name="ReservationTtl">how long a reservation waits for its commit.</param>
/// <param name="MaxPlanningRounds">plans tried when reservations are refused (the fleet moved under the plan) before the app is rejected.</param>
/// <param name="FleetRefreshInterval">how old the fleet view may be when a plan starts.</param>
public sealed record SchedulerSettings(
    string DefaultPolicy = "greedy-objective",
    TimeSpan? ReservationTtl = null,
    int MaxPlanningRounds = 5,
    TimeSpan? FleetRefreshInterval = null,
    TimeSpan? AskTimeout = null)
{
    public TimeSpan Ttl => ReservationTtl ?? TimeSpan.FromSeconds(30);

    public TimeSpan Refresh => FleetRefreshInterval ?? TimeSpan.FromSeconds(2);

    public TimeSpan Timeout => AskTimeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>
/// The scheduling shell (泛在调度): keeps a view of the fleet (nodes from the directory, their capacity
/// from their NodeActors, links from the topology), plans with the pure <see cref="SchedulingPlanner"/>,
/// and reserves on every chosen node. Plans made while earlier reservations are in flight see those
/// demands as taken; a refusal (another member's plan won the capacity) aborts the round, refreshes the
/// refusing node's numbers and plans again, a bounded number of times. The NodeActors stay the authority:
/// this view is only a good guess.
/// </summary>
public sealed class SchedulerActor : ReceiveActor, IWithUnboundedStash
{
    private sealed record FleetRefreshed(PlanningFleet Fleet, Resources[] Available);
    private sealed record FleetRefreshFailed(Exception Cause);
    private sealed record RoundDone(PlanRequest Request, IActorRef ReplyTo, string ReservationId, PlanOutcome.Planned Plan,
        int Round, IReadOnlyList<(string NodeId, object Reply)> Replies);

    private readonly IActorRef _nodeRegion;
    private readonly IActorRef _nodeDirectory;
    private readonly IActorRef _topology;
    private readonly PolicyRegistry _policies;
    private readonly SchedulerSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PlanningFleet _fleet = PlanningFleet.Empty;
    private Resources[] _available = [];
    private DateTime _fleetAt = DateTime.MinValue;

    public SchedulerActor(IActorRef nodeRegion, IActorRef nodeDirectory, IActorRef topology, PolicyRegistry policies, SchedulerSettings settings)
    {
        _nodeRegion = nodeRegion;
        _nodeDirectory = nodeDirectory;
        _topology = topology;
        _policies = policies;
        _settings = settings;
        Ready();
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef nodeRegion, IActorRef nodeDirectory, IActorRef topology, PolicyRegistry policies, SchedulerSettings settings) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(nodeRegion, nodeDirectory, topology, policies, settings));

    private void Ready()
    {
        Receive<PlaceApp>(place =>
        {
            if (DateTime.UtcNow - _fleetAt > _settings.Refresh)
            {
                Stash.Stash();
                RefreshFleet();
                return;
            }
            PlanAndReserve(place.Request, Sender, round: 1);
        });
        Receive<RoundDone>(OnRoundDone);
    }

    private void Refreshing()
    {
        Receive<FleetRefreshed>(refreshed =>
        {
            _fleet = refreshed.Fleet;
            _available = refreshed.Available;
            _fleetAt = DateTime.UtcNow;
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<FleetRefreshFailed>(failed =>
        {
            _log.Warning(failed.Cause, "Refreshing the fleet view failed; planning on the previous view");
            _fleetAt = DateTime.UtcNow;
            Become(Ready);
            Stash.UnstashAll();
        });
        Receive<RoundDone>(OnRoundDone);
        ReceiveAny(_ => Stash.Stash());
    }

    private void RefreshFleet()
    {
        Become(Refreshing);
        var timeout = _settings.Timeout;
        var region = _nodeRegion;
        var directory = _nodeDirectory;
        var topology = _topology;
        LoadFleet(region, directory, topology, timeout).PipeTo(Self, success: fleet => fleet, failure: e => new FleetRefreshFailed(e));
    }

    private static async Task<FleetRefreshed> LoadFleet(IActorRef region, IActorRef directory, IActorRef topology, TimeSpan timeout)
    {
        var list = await directory.Ask<NodeDirectoryProtocol.NodeList>(new NodeDirectoryProtocol.ListNodes(), timeout);
        var candidates = list.Nodes.Where(n => n.Health != Model.NodeHealth.Down).ToList();
        var views = await Task.WhenAll(candidates.Select(n => region.Ask<object>(new GetNodeCapacity(n.Spec.NodeId), timeout)));
        var nodes = new List<Model.NodeSpec>(candidates.Count);
        var available = new List<Resources>(candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (views[i] is not NodeCapacityView { Schedulable: true } view) continue;
            nodes.Add(candidates[i].Spec);
            available.Add(view.Available);
        }
        var links = await topology.Ask<TopologyReplies.TopologyView>(new TopologyQueries.GetTopology(), timeout);
        var fleet = new PlanningFleet(nodes, links.Links
            .Where(l => l is { Up: true, Latest: not null })
            .Select(l => new FleetLink(l.Src, l.Dst, l.Latest!.CapacityMbps, l.Latest.AvailableMbps, l.Latest.LatencyMs))
            .ToList());
        return new FleetRefreshed(fleet, [.. available]);
    }

    private void PlanAndReserve(PlanRequest request, IActorRef replyTo, int round)
    {
        var policyName = string.IsNullOrWhiteSpace(request.Policy) ? _settings.DefaultPolicy : request.Policy;
        if (!_policies.TryGet(policyName, out var policy))
        {
            replyTo.Tell(new PlacementImpossible(request.AppId,
                $"unknown placement policy '{policyName}' (known: {string.Join(", ", _policies.Names)})"));
            return;
        }

        var outcome = SchedulingPlanner.Plan(_fleet, _available, request, policy);
        if (outcome is PlanOutcome.Impossible impossible)
        {
            replyTo.Tell(new PlacementImpossible(request.AppId, impossible.Reason));
            return;
        }

        var plan = (PlanOutcome.Planned)outcome;
        // Later plans must see this one's demands as taken while its reservations are in flight.
        foreach (var (nodeId, demands) in plan.DemandsByNode) Adjust(nodeId, Resources.Zero - Total(demands));

        var reservationId = $"{request.AppId}:{Guid.NewGuid().ToString("N")[..12]}";
        var region = _nodeRegion;
        var ttl = _settings.Ttl;
        var timeout = _settings.Timeout;
        Task.WhenAll(plan.DemandsByNode.Select(async pair =>
            {
                try
                {
                    return (pair.Key, await region.Ask<object>(new ReserveCapacity(pair.Key, reservationId, request.AppId, pair.Value, ttl), timeout));
                }
                catch (Exception e)
                {
                    return (pair.Key, (object)new ReservationRefused(pair.Key, reservationId, $"no answer from node '{pair.Key}': {e.Message}", Resources.Zero));
                }
            }))
            .PipeTo(Self, success: replies => new RoundDone(request, replyTo, reservationId, plan, round, replies));
    }

    private void OnRoundDone(RoundDone done)
    {
        var refusals = done.Replies.Select(r => r.Reply).OfType<ReservationRefused>().ToList();
        if (refusals.Count == 0)
        {
            foreach (var (nodeId, reply) in done.Replies)
                if (reply is ReservationGranted granted) Set(nodeId, granted.AvailableAfter);
            done.ReplyTo.Tell(new PlacementReserved(done.Request.AppId, done.ReservationId,
                done.Plan.Decision with { PlanningRounds = done.Round }, [.. done.Plan.DemandsByNode.Keys]) { Replaced = done.Request.Replace });
            return;
        }

        foreach (var (nodeId, reply) in done.Replies)
        {
            switch (reply)
            {
                case ReservationGranted:
                    _nodeRegion.Tell(new AbortReservation(nodeId, done.ReservationId));
                    Adjust(nodeId, Total(done.Plan.DemandsByNode[nodeId]));
                    break;
                case ReservationRefused refused:
                    Set(nodeId, refused.Available);
                    break;
            }
        }

        var reason = string.Join("; ", refusals.Select(r => r.Reason));
        if (done.Round >= _settings.MaxPlanningRounds)
        {
            done.ReplyTo.Tell(new PlacementImpossible(done.Request.AppId,
                $"reservations were refused in {done.Round} planning round(s); last: {reason}"));
            return;
        }
        _log.Debug("Reservations for {0} refused ({1}); planning again", done.Request.AppId, reason);
        PlanAndReserve(done.Request, done.ReplyTo, done.Round + 1);
    }

    private void Adjust(string nodeId, Resources delta)
    {
        if (_fleet.IndexById.TryGetValue(nodeId, out var v)) _available[v] = Resources.Max(_available[v] + delta, Resources.Zero);
    }

    private void Set(string nodeId, Resources available)
    {
        if (_fleet.IndexById.TryGetValue(nodeId, out var v)) _available[v] = available;
    }

    private static Resources Total(IEnumerable<SubtaskDemand> demands) => demands.Aggregate(Resources.Zero, (sum, d) => sum + d.Demand);
}
