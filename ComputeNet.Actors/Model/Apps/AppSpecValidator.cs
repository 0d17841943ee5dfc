using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ComputeNet.Actors.Model.Apps;

/// <summary>One problem with a spec, located by a JSON path such as <c>$.components[2].cpuCores</c>.</summary>
public sealed record ValidationError(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The outcome of validation; <see cref="Spec"/> is the template-expanded spec whenever the JSON parsed.</summary>
public sealed record AppSpecValidationResult(AppSpec? Spec, IReadOnlyList<ValidationError> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Checks an application spec before anything is decomposed or placed: shape, references, cycles the kind
/// forbids, impossible numbers, and needs that no node class in the catalog could ever meet.
/// All errors are collected, not just the first, so a user fixes a spec in one round.
/// </summary>
public static class AppSpecValidator
{
    public const int MaxSpecChars = 2_000_000;
    public const int MaxComponents = 2_000;
    public const int MaxDependencies = 20_000;
    public const int MaxAccessPoints = 1_000;
    public const int MaxMobilitySteps = 10_000;

    // Bounds beyond which a number is a typo rather than a need ("absurd"); reachability is checked separately.
    private const double MaxCpuCores = 4_096;
    private const double MaxMemoryGb = 65_536;
    private const double MaxStorageGb = 1_000_000;
    private const int MaxGpus = 64;
    private const double MaxWorkMiPerRequest = 1e9;
    private const double MaxRequestsPerSecond = 1e7;
    private const double MaxThresholdMs = 86_400_000;
    private const double MaxDataRateMbps = 1_000_000;
    private const double MaxBytesPerRequest = 1e11;
    private const int MaxPlayers = 1_000;

    public static AppSpecValidationResult Validate(string json, NodeClassCatalog catalog)
    {
        if (json.Length > MaxSpecChars)
        {
            return new(null, [new("$", $"the spec is {json.Length} characters; the limit is {MaxSpecChars}")]);
        }

        AppSpec spec;
        try
        {
            spec = AppSpecJson.Parse(json);
        }
        catch (JsonException e)
        {
            // JsonException positions are zero-based; people count from one.
            var where = e.LineNumber is { } line ? $" at line {line + 1}, position {(e.BytePositionInLine ?? 0) + 1}" : "";
            return new(null, [new(e.Path ?? "$", $"malformed JSON{where}: {FirstSentence(e.Message)}")]);
        }

        return Validate(spec, catalog);
    }

    public static AppSpecValidationResult Validate(AppSpec spec, NodeClassCatalog catalog)
    {
        var errors = new List<ValidationError>();
        if (catalog.Classes.Count == 0)
        {
            throw new ArgumentException("The node class catalog is empty.", nameof(catalog));
        }

        if (spec.Components.Count > MaxComponents)
        {
            errors.Add(new("$.components", $"{spec.Components.Count} components; the limit is {MaxComponents}"));
        }

        if (spec.Dependencies.Count > MaxDependencies)
        {
            errors.Add(new("$.dependencies", $"{spec.Dependencies.Count} dependencies; the limit is {MaxDependencies}"));
        }

        if (spec.AccessPoints.Count > MaxAccessPoints)
        {
            errors.Add(new("$.accessPoints", $"{spec.AccessPoints.Count} access points; the limit is {MaxAccessPoints}"));
        }

        if (spec.Mobility.Count > MaxMobilitySteps)
        {
            errors.Add(new("$.mobility", $"{spec.Mobility.Count} mobility steps; the limit is {MaxMobilitySteps}"));
        }

        if (errors.Count > 0)
        {
            return new(spec, errors);
        }

        if (string.IsNullOrWhiteSpace(spec.Name))
        {
            errors.Add(new("$.name", "the application needs a name"));
        }

        var explicitComponents = spec.Components.Count;
        var explicitDependencies = spec.Dependencies.Count;
        if (spec.Template is { } template)
        {
            var before = errors.Count;
            CheckTemplate(template, spec.Kind, errors);
            if (errors.Count > before)
            {
                return new(spec, errors);
            }
        }

        var expanded = AppTemplates.Expand(spec);
        // Generated parts have no place in the user's JSON; their errors point at the template that made them.
        string ComponentPath(int i) => i < explicitComponents ? $"$.components[{i}]" : "$.template";
        string DependencyPath(int i) => i < explicitDependencies ? $"$.dependencies[{i}]" : "$.template";

        if (expanded.Components.Count == 0)
        {
            errors.Add(new("$.components", "the application has no components (give components or a template)"));
        }

        var componentIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var componentOk = new bool[expanded.Components.Count];
        for (var i = 0; i < expanded.Components.Count; i++)
        {
            var before = errors.Count;
            CheckComponent(expanded, i, ComponentPath(i), componentIndex, errors);
            componentOk[i] = errors.Count == before;
        }

        CheckDependencies(expanded, DependencyPath, componentIndex, errors);
        CheckAccessAndMobility(expanded, ComponentPath, errors);
        for (var i = 0; i < expanded.Components.Count; i++)
        {
            if (componentOk[i])
            {
                CheckReachable(expanded.Components[i], ComponentPath(i), catalog, errors);
            }
        }

        CheckGroups(expanded, ComponentPath, catalog, errors);
        if (expanded.Kind is AppKind.Content or AppKind.Communication)
        {
            CheckAcyclic(expanded, DependencyPath, componentIndex, errors);
        }

        return new(expanded, errors);
    }

    private static void CheckTemplate(AppTemplateParameters t, AppKind kind, List<ValidationError> errors)
    {
        const string p = "$.template";
        CheckRange(errors, $"{p}.cpuCores", t.CpuCores, 0, MaxCpuCores, exclusiveMin: true);
        CheckRange(errors, $"{p}.memoryGb", t.MemoryGb, 0, MaxMemoryGb);
        CheckRange(errors, $"{p}.storageGb", t.StorageGb, 0, MaxStorageGb);
        CheckRange(errors, $"{p}.dataRateMbps", t.DataRateMbps, 0, MaxDataRateMbps);
        CheckRange(errors, $"{p}.resultRateMbps", t.ResultRateMbps, 0, MaxDataRateMbps);
        CheckRange(errors, $"{p}.latencyMs", t.LatencyMs, 0, MaxThresholdMs, exclusiveMin: true);
        CheckRange(errors, $"{p}.workMiPerRequest", t.WorkMiPerRequest, 0, MaxWorkMiPerRequest);
        CheckRange(errors, $"{p}.requestsPerSecond", t.RequestsPerSecond, 0, MaxRequestsPerSecond);
        CheckRange(errors, $"{p}.executionTimeThresholdMs", t.ExecutionTimeThresholdMs, 0, MaxThresholdMs, exclusiveMin: true);
        CheckReliability(errors, $"{p}.reliabilityThreshold", t.ReliabilityThreshold);
        if (t.Players is { } players && (players < 1 || players > MaxPlayers))
        {
            errors.Add(new($"{p}.players", $"players must be between 1 and {MaxPlayers}, got {players}"));
        }

        if (t.Players is not null && kind != AppKind.Complex)
        {
            errors.Add(new($"{p}.players", $"players belongs to the complex (AR game) template, not to {Lower(kind)}"));
        }
    }

    private static void CheckComponent(AppSpec spec, int i, string path, Dictionary<string, int> componentIndex, List<ValidationError> errors)
    {
        var c = spec.Components[i];
        if (string.IsNullOrWhiteSpace(c.Id))
        {
            errors.Add(new($"{path}.id", "a component needs an id"));
        }
        else if (componentIndex.TryGetValue(c.Id, out var first))
        {
            errors.Add(new($"{path}.id", $"duplicate component id '{c.Id}' (first used at $.components[{first}])"));
        }
        else
        {
            componentIndex[c.Id] = i;
        }

        if (string.IsNullOrWhiteSpace(c.Image))
        {
            errors.Add(new($"{path}.image", "a component needs a container image"));
        }

        CheckRange(errors, $"{path}.cpuCores", c.CpuCores, 0, MaxCpuCores, exclusiveMin: true);
        CheckRange(errors, $"{path}.memoryGb", c.MemoryGb, 0, MaxMemoryGb);
        CheckRange(errors, $"{path}.storageGb", c.StorageGb, 0, MaxStorageGb);
        if (c.Gpus < 0 || c.Gpus > MaxGpus)
        {
            errors.Add(new($"{path}.gpus", $"gpus must be between 0 and {MaxGpus}, got {c.Gpus}"));
        }

        CheckRange(errors, $"{path}.workMiPerRequest", c.WorkMiPerRequest, 0, MaxWorkMiPerRequest);
        CheckRange(errors, $"{path}.requestsPerSecond", c.RequestsPerSecond, 0, MaxRequestsPerSecond);
        CheckRange(errors, $"{path}.executionTimeThresholdMs", c.ExecutionTimeThresholdMs, 0, MaxThresholdMs, exclusiveMin: true);
        CheckReliability(errors, $"{path}.reliabilityThreshold", c.ReliabilityThreshold);
        if (c.Pinning is { } pin)
        {
            CheckPinning(pin, $"{path}.pinning", errors);
        }
    }

    private static void CheckPinning(Pinning pin, string path, List<ValidationError> errors)
    {
        switch (pin.Kind)
        {
            case PinningKind.Region or PinningKind.Node when string.IsNullOrWhiteSpace(pin.Target):
                errors.Add(new($"{path}.target", $"pinning to a {Lower(pin.Kind)} needs a target"));
                break;
            case PinningKind.Tier when !Enum.TryParse<NodeTier>(pin.Target, ignoreCase: true, out _):
                errors.Add(new($"{path}.target", $"unknown tier '{pin.Target}' (device, edge or cloud)"));
                break;
            case PinningKind.None when pin.Target is not null:
                errors.Add(new($"{path}.target", "an unpinned component takes no target"));
                break;
        }
    }

    private static void CheckDependencies(AppSpec spec, Func<int, string> pathOf, Dictionary<string, int> componentIndex, List<ValidationError> errors)
    {
        var seen = new Dictionary<(string, string), int>();
        for (var j = 0; j < spec.Dependencies.Count; j++)
        {
            var d = spec.Dependencies[j];
            var path = pathOf(j);
            var known = true;
            if (!componentIndex.ContainsKey(d.From))
            {
                errors.Add(new($"{path}.from", $"unknown component '{d.From}'"));
                known = false;
            }

            if (!componentIndex.ContainsKey(d.To))
            {
                errors.Add(new($"{path}.to", $"unknown component '{d.To}'"));
                known = false;
            }

            if (known && d.From == d.To)
            {
                errors.Add(new($"{path}.to", $"'{d.From}' depends on itself"));
            }
            else if (known && !seen.TryAdd((d.From, d.To), j))
            {
                errors.Add(new(path, $"duplicate dependency {d.From} → {d.To} (first at $.dependencies[{seen[(d.From, d.To)]}])"));
            }

            if (d.DataRateMbps is not null && d.BytesPerRequest is not null)
            {
                errors.Add(new($"{path}.bytesPerRequest", "give either dataRateMbps or bytesPerRequest, not both"));
            }
            else if (d.BytesPerRequest > 0 && componentIndex.TryGetValue(d.From, out var sender) && spec.Components[sender].RequestsPerSecond <= 0)
            {
                // Bytes per request become a rate through the sender's request rate; without one the traffic would silently be zero.
                errors.Add(new($"{path}.bytesPerRequest", $"bytes per request need '{d.From}' to state requestsPerSecond"));
            }

            CheckRange(errors, $"{path}.dataRateMbps", d.DataRateMbps, 0, MaxDataRateMbps);
            CheckRange(errors, $"{path}.bytesPerRequest", d.BytesPerRequest, 0, MaxBytesPerRequest);
            CheckRange(errors, $"{path}.transferDelayThresholdMs", d.TransferDelayThresholdMs, 0, MaxThresholdMs, exclusiveMin: true);
            CheckRange(errors, $"{path}.bandwidthFloorMbps", d.BandwidthFloorMbps, 0, MaxDataRateMbps);
        }
    }

    private static void CheckAccessAndMobility(AppSpec spec, Func<int, string> componentPath, List<ValidationError> errors)
    {
        var accessPoints = new HashSet<string>(StringComparer.Ordinal);
        for (var a = 0; a < spec.AccessPoints.Count; a++)
        {
            if (string.IsNullOrWhiteSpace(spec.AccessPoints[a]))
            {
                errors.Add(new($"$.accessPoints[{a}]", "an access point needs a node id"));
            }
            else if (!accessPoints.Add(spec.AccessPoints[a]))
            {
                errors.Add(new($"$.accessPoints[{a}]", $"duplicate access point '{spec.AccessPoints[a]}'"));
            }
        }

        var pinnedToUser = spec.Components.Select((c, i) => (c, i)).FirstOrDefault(x => x.c.Pinning?.Kind == PinningKind.AccessNode);
        if (pinnedToUser.c is not null && accessPoints.Count == 0)
        {
            errors.Add(new("$.accessPoints", $"'{pinnedToUser.c.Id}' ({componentPath(pinnedToUser.i)}) is pinned to the user's access node, but no access point is given"));
        }

        var previous = double.NegativeInfinity;
        for (var m = 0; m < spec.Mobility.Count; m++)
        {
            var step = spec.Mobility[m];
            // Movement is between declared access points: the scheduler pre-stages near those only.
            if (!accessPoints.Contains(step.AccessNode))
            {
                errors.Add(new($"$.mobility[{m}].accessNode", $"unknown access point '{step.AccessNode}' (not in $.accessPoints)"));
            }

            if (!double.IsFinite(step.FromSecond) || step.FromSecond < 0)
            {
                errors.Add(new($"$.mobility[{m}].fromSecond", $"fromSecond must be a finite number ≥ 0, got {Num(step.FromSecond)}"));
            }
            else if (step.FromSecond <= previous)
            {
                errors.Add(new($"$.mobility[{m}].fromSecond", $"mobility steps must be in ascending time; {Num(step.FromSecond)} s follows {Num(previous)} s"));
            }

            if (double.IsFinite(step.FromSecond))
            {
                previous = Math.Max(previous, step.FromSecond);
            }
        }
    }

    /// <summary>A component is never split, so some single node class must meet all its needs at once.</summary>
    private static void CheckReachable(ComponentSpec c, string path, NodeClassCatalog catalog, List<ValidationError> errors)
    {
        var candidates = catalog.Classes.ToList();
        var where = "the node classes";
        if (c.Pinning is { Kind: PinningKind.Tier, Target: { } tierName } && Enum.TryParse<NodeTier>(tierName, true, out var tier))
        {
            candidates = catalog.InTier(tier).ToList();
            where = $"the {Lower(tier)} classes";
            if (candidates.Count == 0)
            {
                errors.Add(new($"{path}.pinning.target", $"no node class is in tier {Lower(tier)}"));
                return;
            }
        }

        var before = errors.Count;
        var biggest = candidates.MaxBy(k => k.CpuCores)!;
        if (c.CpuCores > biggest.CpuCores)
        {
            errors.Add(new($"{path}.cpuCores", $"needs {Num(c.CpuCores)} cores but the largest of {where} ({biggest.Name}) has {Num(biggest.CpuCores)}"));
        }

        biggest = candidates.MaxBy(k => k.MemoryGb)!;
        if (c.MemoryGb > biggest.MemoryGb)
        {
            errors.Add(new($"{path}.memoryGb", $"needs {Num(c.MemoryGb)} GB of memory but the largest of {where} ({biggest.Name}) has {Num(biggest.MemoryGb)}"));
        }

        biggest = candidates.MaxBy(k => k.StorageGb)!;
        if (c.StorageGb > biggest.StorageGb)
        {
            errors.Add(new($"{path}.storageGb", $"needs {Num(c.StorageGb)} GB of storage but the largest of {where} ({biggest.Name}) has {Num(biggest.StorageGb)}"));
        }

        biggest = candidates.MaxBy(k => k.Gpus)!;
        if (c.Gpus > biggest.Gpus)
        {
            errors.Add(new($"{path}.gpus", $"needs {c.Gpus} GPUs but the largest of {where} ({biggest.Name}) has {biggest.Gpus}"));
        }

        var mostReliable = candidates.MaxBy(k => k.Reliability)!;
        if (c.ReliabilityThreshold > mostReliable.Reliability)
        {
            errors.Add(new($"{path}.reliabilityThreshold", $"needs reliability {Num(c.ReliabilityThreshold)} but the most reliable of {where} ({mostReliable.Name}) offers {Num(mostReliable.Reliability)}"));
        }

        var fastest = candidates.MaxBy(k => k.SpeedMipsPerCore)!;
        if (c.ExecutionTimeThresholdMs is { } threshold && c.ExecutionTimeMs(fastest.SpeedMipsPerCore) > threshold)
        {
            errors.Add(new($"{path}.executionTimeThresholdMs", $"{Num(c.WorkMiPerRequest)} MI per request within {Num(threshold)} ms is out of reach: the fastest of {where} ({fastest.Name}, {Num(fastest.SpeedMipsPerCore)} MIPS per core) takes {Num(c.ExecutionTimeMs(fastest.SpeedMipsPerCore))} ms"));
        }

        if (errors.Count == before && !candidates.Any(k => Fits(c, k)))
        {
            errors.Add(new(path, $"each need is met by some node class, but none of {where} meets all of them at once"));
        }
    }

    private static bool Fits(ComponentSpec c, NodeClass k) =>
        c.CpuCores <= k.CpuCores && c.MemoryGb <= k.MemoryGb && c.StorageGb <= k.StorageGb && c.Gpus <= k.Gpus
        && c.ReliabilityThreshold <= k.Reliability
        && (c.ExecutionTimeThresholdMs is not { } t || c.ExecutionTimeMs(k.SpeedMipsPerCore) <= t);

    private static void CheckGroups(AppSpec spec, Func<int, string> componentPath, NodeClassCatalog catalog, List<ValidationError> errors)
    {
        var groups = spec.Components.Select((c, i) => (c, i)).Where(x => !string.IsNullOrWhiteSpace(x.c.ColocationGroup)).GroupBy(x => x.c.ColocationGroup!);
        foreach (var group in groups)
        {
            var members = group.ToList();
            var first = members[0];
            foreach (var (c, i) in members.Skip(1))
            {
                if (!c.EffectivePinning.IsCompatibleWith(first.c.EffectivePinning))
                {
                    errors.Add(new($"{componentPath(i)}.pinning", $"co-location group '{group.Key}' joins '{first.c.Id}' ({first.c.EffectivePinning}) and '{c.Id}' ({c.EffectivePinning}), which cannot run on one node"));
                }

                var clash = members.FirstOrDefault(o => o.i < i && o.c.AntiAffinityGroup is { } g && g == c.AntiAffinityGroup);
                if (clash.c is not null)
                {
                    errors.Add(new($"{componentPath(i)}.antiAffinityGroup", $"'{c.Id}' and '{clash.c.Id}' must share a node (co-location group '{group.Key}') and must not (anti-affinity group '{c.AntiAffinityGroup}')"));
                }
            }

            if (members.Count > 1)
            {
                var cpu = members.Sum(x => x.c.CpuCores);
                var memory = members.Sum(x => x.c.MemoryGb);
                var storage = members.Sum(x => x.c.StorageGb);
                var gpus = members.Sum(x => x.c.Gpus);
                if (!catalog.Classes.Any(k => cpu <= k.CpuCores && memory <= k.MemoryGb && storage <= k.StorageGb && gpus <= k.Gpus))
                {
                    errors.Add(new($"{componentPath(first.i)}.colocationGroup", $"co-location group '{group.Key}' needs {Num(cpu)} cores, {Num(memory)} GB memory, {Num(storage)} GB storage and {gpus} GPUs on one node, which no node class offers"));
                }
            }
        }
    }

    /// <summary>Reports the dependency that closes each cycle a depth-first search finds, with the cycle.</summary>
    private static void CheckAcyclic(AppSpec spec, Func<int, string> pathOf, Dictionary<string, int> componentIndex, List<ValidationError> errors)
    {
        var n = spec.Components.Count;
        var outgoing = new List<int>[n];
        var dependencyOf = new List<int>[n];
        for (var i = 0; i < n; i++)
        {
            outgoing[i] = [];
            dependencyOf[i] = [];
        }

        for (var j = 0; j < spec.Dependencies.Count; j++)
        {
            var d = spec.Dependencies[j];
            if (componentIndex.TryGetValue(d.From, out var from) && componentIndex.TryGetValue(d.To, out var to) && from != to)
            {
                outgoing[from].Add(to);
                dependencyOf[from].Add(j);
            }
        }

        DirectedDepthFirst.ReversePostOrder(outgoing, back =>
        {
            var text = string.Join(" → ", back.Cycle.Append(back.To).Select(c => spec.Components[c].Id));
            errors.Add(new(pathOf(dependencyOf[back.From][back.EdgeIndex]),
                $"dependency {spec.Components[back.From].Id} → {spec.Components[back.To].Id} closes the cycle {text}; {Lower(spec.Kind)} apps must be acyclic"));
        });
    }

    private static void CheckRange(List<ValidationError> errors, string path, double? value, double min, double max, bool exclusiveMin = false)
    {
        if (value is not { } v)
        {
            return;
        }

        var name = path[(path.LastIndexOf('.') + 1)..];
        if (!double.IsFinite(v))
        {
            errors.Add(new(path, $"{name} must be a finite number, got {Num(v)}"));
        }
        else if (v < min || (exclusiveMin && v <= min))
        {
            errors.Add(new(path, $"{name} must be {(exclusiveMin ? ">" : "≥")} {Num(min)}, got {Num(v)}"));
        }
        else if (v > max)
        {
            errors.Add(new(path, $"{name} of {Num(v)} is beyond any real need (limit {Num(max)})"));
        }
    }

    private static void CheckReliability(List<ValidationError> errors, string path, double? value)
    {
        if (value is not { } v)
        {
            return;
        }

        if (!double.IsFinite(v) || v < 0 || v >= 1)
        {
            errors.Add(new(path, $"reliabilityThreshold must be in [0, 1) — no node is perfectly reliable — got {Num(v)}"));
        }
    }

    private static string Num(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Lower<T>(T value) where T : struct, Enum
    {
        var text = value.ToString();
        return new StringBuilder(text.Length).Append(char.ToLowerInvariant(text[0])).Append(text, 1, text.Length - 1).ToString();
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut].TrimEnd() : message;
    }
}
