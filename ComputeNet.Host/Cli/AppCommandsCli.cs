using System.Text.Json.Nodes;

namespace ComputeNet.Host.Cli;

/// <summary>computenet submit | apps | app | stop: the application API from a shell.</summary>
public static class AppCommandsCli
{
    public static async Task<int> SubmitAsync(CliArgs args)
    {
        var file = args.Required(0, "the application spec file: computenet submit app.json");
        if (!File.Exists(file)) throw new CliException($"no such file: {file}");
        using var api = new ApiClient(args);
        var (status, body) = await api.SendAsync(HttpMethod.Post, "/api/apps", await File.ReadAllTextAsync(file));
        if (status == 202)
        {
            Console.WriteLine($"submitted: {body?["id"]}  (computenet app {body?["id"]})");
            return 0;
        }
        Console.Error.WriteLine($"refused ({status}): {body?["title"] ?? ""}");
        foreach (var error in body?["errors"]?.AsArray() ?? [])
            Console.Error.WriteLine($"  {error?["path"]}: {error?["message"]}");
        if (body?["detail"] is { } detail) Console.Error.WriteLine($"  {detail}");
        return 1;
    }

    public static async Task<int> ListAsync(CliArgs args)
    {
        using var api = new ApiClient(args);
        var (status, body) = await api.SendAsync(HttpMethod.Get, "/api/apps");
        if (status != 200) return Fail(status, body);
        Console.WriteLine($"{"ID",-40} {"NAME",-24} {"STATE",-12} SUBMITTED");
        foreach (var app in body?["apps"]?.AsArray() ?? [])
            Console.WriteLine($"{app?["appId"],-40} {app?["name"],-24} {app?["lifecycle"],-12} {app?["submittedAt"]}");
        return 0;
    }

    public static async Task<int> ShowAsync(CliArgs args)
    {
        var id = args.Required(0, "the app id: computenet app ID");
        using var api = new ApiClient(args);
        var (status, body) = await api.SendAsync(HttpMethod.Get, $"/api/apps/{Uri.EscapeDataString(id)}");
        if (status != 200) return Fail(status, body);

        Console.WriteLine($"{body!["id"]}  {body["name"]}  [{body["lifecycle"]}]");
        foreach (var step in body["history"]?.AsArray() ?? [])
            Console.WriteLine($"  {step?["at"]}  {step?["lifecycle"],-11} {step?["reason"]}");
        foreach (var granularity in body["decomposition"]?["granularities"]?.AsArray() ?? [])
        {
            var infeasible = granularity?["infeasibilities"]?.AsArray() ?? [];
            Console.WriteLine();
            Console.WriteLine($"granularity {granularity?["granularity"]} ({granularity?["method"]}): " +
                              (infeasible.Count > 0 ? "not possible — " + string.Join("; ", infeasible) : $"{granularity?["subtasks"]?.AsArray().Count} subtask(s)"));
            foreach (var subtask in granularity?["subtasks"]?.AsArray() ?? [])
            {
                Console.WriteLine($"  {subtask?["id"]}  rank {subtask?["rank"]}, grade {subtask?["grade"]}: " +
                                  $"{string.Join(" + ", subtask?["componentIds"]?.AsArray().Select(c => c?.ToString()) ?? [])}  " +
                                  $"({subtask?["cpuCores"]} cores, {subtask?["memoryGb"]} GB)");
                foreach (var reason in subtask?["reasons"]?.AsArray() ?? [])
                    Console.WriteLine($"      why: {reason}");
            }
        }
        return 0;
    }

    /// <summary>computenet plan ID: where each subtask went, why (objective terms, runners-up), and how far deployment got.</summary>
    public static async Task<int> PlanAsync(CliArgs args)
    {
        var id = args.Required(0, "the app id: computenet plan ID");
        using var api = new ApiClient(args);
        var (status, body) = await api.SendAsync(HttpMethod.Get, $"/api/apps/{Uri.EscapeDataString(id)}/plan");
        if (status != 200) return Fail(status, body);

        Console.WriteLine($"{body!["id"]}  [{body["lifecycle"]}]");
        if (body["placed"]?.GetValue<bool>() != true)
        {
            Console.WriteLine("  not placed");
            foreach (var step in body["history"]?.AsArray() ?? [])
                Console.WriteLine($"  {step?["at"]}  {step?["lifecycle"],-11} {step?["reason"]}");
            return 0;
        }
        var objective = body["objective"];
        Console.WriteLine($"policy {body["policy"]}, granularity {body["granularity"]}, {body["planningRounds"]} planning round(s), " +
                          $"{body["replacements"]} re-placement(s)");
        Console.WriteLine($"objective {objective?["total"]}: node imbalance {objective?["nodeImbalance"]}, " +
                          $"dimension imbalance {objective?["dimensionImbalance"]}, energy {objective?["energyW"]} W");
        Console.WriteLine($"{"SUBTASK",-28} {"NODE",-28} {"DEPLOYED",-9} RUNNERS-UP (score, lower is better)");
        foreach (var subtask in body["subtasks"]?.AsArray() ?? [])
        {
            var runnersUp = string.Join(", ", subtask?["runnersUp"]?.AsArray().Select(r => $"{r?["nodeId"]} ({r?["score"]})") ?? []);
            Console.WriteLine($"{subtask?["subtaskId"],-28} {subtask?["nodeId"],-28} {(subtask?["deployed"]?.GetValue<bool>() == true ? "yes" : "no"),-9} " +
                              (runnersUp.Length > 0 ? runnersUp : "-"));
        }
        return 0;
    }

    public static async Task<int> StopAsync(CliArgs args)
    {
        var id = args.Required(0, "the app id: computenet stop ID");
        using var api = new ApiClient(args);
        var (status, body) = await api.SendAsync(HttpMethod.Delete, $"/api/apps/{Uri.EscapeDataString(id)}");
        if (status != 202) return Fail(status, body);
        Console.WriteLine($"{id}: {body?["lifecycle"]}");
        return 0;
    }

    private static int Fail(int status, JsonNode? body)
    {
        Console.Error.WriteLine($"error {status}: {body?["detail"] ?? body?["title"] ?? body}");
        return 1;
    }
}
