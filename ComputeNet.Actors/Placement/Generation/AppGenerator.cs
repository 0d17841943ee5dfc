using ComputeNet.Actors.Model;

namespace ComputeNet.Actors.Placement.Generation;

/// <param name="PinToUserShare">Chance that the first (user-facing) subtask is small and pinned to the user's access node.</param>
/// <param name="CloudPinShare">Chance that a subtask is pinned to the cloud tier (e.g. a database).</param>
/// <param name="GroupShare">Chance that a subtask joins an anti-affinity or co-location pair.</param>
public sealed record AppGeneratorOptions(
    double EdgeProbability = 0.3,
    double PinToUserShare = 0.3,
    double CloudPinShare = 0.1,
    double GroupShare = 0.1,
    double DemandScale = 1.0);

/// <summary>
/// Random application DAGs with demands in realistic ranges: fractional to a few cores, up to 8 GB
/// of memory, 5% GPU users, 5–50 ms of work at 2,000 MIPS/core with a threshold 2–4× that, 10 kb–2 Mb
/// per request at 0.5–20 Mbps, and transfer deadlines of 10–100 ms plus the request's time on a 100 Mbps link. Data enters from the user at the
/// first subtask and results return to the user from the last one.
/// </summary>
public static class AppGenerator
{
    public static AppSpec RandomDag(Random random, int subtaskCount, string name, AppGeneratorOptions? options = null)
    {
        options ??= new AppGeneratorOptions();
        double Between(double low, double high) => low + random.NextDouble() * (high - low);
        var subtasks = new List<Subtask>(subtaskCount);
        for (var k = 0; k < subtaskCount; k++)
        {
            var tiny = k == 0 && random.NextDouble() < options.PinToUserShare;
            var cores = tiny ? 0.25 : Math.Round(Between(0.25, 4) * 4) / 4 * options.DemandScale;
            var demand = tiny
                ? new Resources(0.25, 0.25, 0.5, 0)
                : new Resources(cores, Math.Round(Between(0.25, 8) * options.DemandScale, 2), Math.Round(Between(0.1, 20), 1),
                    random.NextDouble() < 0.05 ? 1 : 0);
            var executionMs = Between(5, 50);
            var work = demand.CpuCores * 2000 * executionMs / 1000;
            var pinning = tiny ? new Pinning { AtUserAccessNode = true }
                : random.NextDouble() < options.CloudPinShare ? new Pinning { Tier = NodeTier.Cloud } : Pinning.None;
            // The user-side client runs on the user's own device: it must cope with a slow core
            // (500 MIPS) and takes the device's reliability as it is.
            subtasks.Add(new Subtask($"{name}-s{k}", demand)
            {
                WorkMi = Math.Round(work, 1),
                ExecutionTimeThresholdMs = Math.Round(executionMs * Between(2, 4) * (tiny ? 4 : 1), 1),
                ReliabilityThreshold = tiny ? 0 : Math.Round(Between(0.85, 0.99), 3),
                Pinning = pinning,
                ImageId = $"img-{random.Next(20)}",
                ImageSizeGb = Math.Round(Between(0.1, 2), 2),
                StateSizeGb = Math.Round(Between(0, 1), 2),
            });
        }
        for (var k = 1; k + 1 < subtaskCount; k += 2)
        {
            if (random.NextDouble() >= options.GroupShare) continue;
            var group = $"{name}-g{k}";
            var pinnedPair = !subtasks[k].Pinning.IsNone || !subtasks[k + 1].Pinning.IsNone;
            if (random.NextDouble() < 0.5 && !pinnedPair)
            {
                subtasks[k] = subtasks[k] with { ColocationGroup = group };
                subtasks[k + 1] = subtasks[k + 1] with { ColocationGroup = group };
            }
            else
            {
                subtasks[k] = subtasks[k] with { AntiAffinityGroup = group };
                subtasks[k + 1] = subtasks[k + 1] with { AntiAffinityGroup = group };
            }
        }

        var edges = new List<SubtaskEdge> { Edge(random, SubtaskEdge.User, 0) };
        for (var k = 1; k < subtaskCount; k++)
        {
            // Every subtask gets at least one predecessor, so the DAG is connected.
            var parents = new HashSet<int> { random.Next(k) };
            for (var j = 0; j < k; j++)
                if (random.NextDouble() < options.EdgeProbability / Math.Max(1, k / 4.0)) parents.Add(j);
            foreach (var j in parents) edges.Add(Edge(random, j, k));
        }
        edges.Add(Edge(random, subtaskCount - 1, SubtaskEdge.User));
        return new AppSpec(name, subtasks, edges);
    }

    private static SubtaskEdge Edge(Random random, int from, int to)
    {
        double Between(double low, double high) => low + random.NextDouble() * (high - low);
        var dataMb = Math.Round(Between(0.01, 2), 3);
        return new SubtaskEdge(from, to)
        {
            DataPerRequestMb = dataMb,
            DataRateMbps = Math.Round(Between(0.5, 20), 2),
            // A 10–100 ms network budget on top of the time to push one request through a 100 Mbps access link.
            TransferDelayThresholdMs = Math.Round(Between(10, 100) + dataMb / 100 * 1000, 1),
        };
    }
}
