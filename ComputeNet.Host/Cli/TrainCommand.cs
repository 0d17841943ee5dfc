using System.Diagnostics;
using System.Text.Json;
using ComputeNet.Actors.Placement;
using ComputeNet.Actors.Placement.Benchmark;
using ComputeNet.Actors.Placement.Generation;
using ComputeNet.Actors.Placement.Learning;
using Spectre.Console;

namespace ComputeNet.Host.Cli;

/// <summary>
/// computenet train: behaviour cloning of the greedy objective step (--imitation-episodes, skipped
/// with --resume), then PPO on placement episodes from the training topologies, with periodic
/// evaluation of the shipped policy form (network + search skeleton) against the best heuristic
/// on held-out topologies and apps, a checkpoint at each evaluation, the best evaluated model
/// written to --out, and the curve written beside it (FILE.curve.json).
/// </summary>
public static class TrainCommand
{
    public sealed record CurvePoint(int Episode, double Minutes, double MeanEpisodeReward, double RejectionRate, double Entropy);

    public sealed record EvaluationPoint(int Episode, double Minutes, PolicyComparison Comparison, double RisingLoadAcceptance, double HeuristicRisingLoadAcceptance);

    public sealed record TrainingReport(
        string Model, int Episodes, double Minutes, int Seed, int TrainingTopologies, int HeldOutTopologies,
        int EvaluationProblems, string RisingLoadTopology, int BestEpisode, EvaluationPoint Best, IReadOnlyList<EvaluationPoint> Evaluations,
        IReadOnlyList<CurvePoint> Curve);

    private static double DoubleOption(CliArgs args, string name, double fallback) =>
        args.Option(name) is not { } text ? fallback
        : double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= 0 ? value
        : throw new CliException($"--{name} must be a non-negative number, got '{text}'");

    public static Task<int> RunAsync(CliArgs args)
    {
        var episodes = args.IntOption("episodes", 800);
        var appsPerEpisode = args.IntOption("apps-per-episode", 24);
        var imitationEpisodes = args.IntOption("imitation-episodes", args.Option("resume") is null ? 960 : 0);
        var seed = args.IntOption("seed", 7);
        var batch = args.IntOption("batch", 2);
        var imitationBatch = 16;
        var evaluateEvery = args.IntOption("eval-every", 40);
        var evaluationCount = args.IntOption("eval-problems", 60);
        var minutesLimit = args.IntOption("minutes", 0);
        var output = args.Option("out") ?? DrlPlacementPolicy.DefaultModelFileName;
        var checkpoint = output + ".checkpoint";
        if (episodes <= 0 || batch <= 0 || evaluateEvery <= 0) throw new CliException("--episodes, --batch and --eval-every must be positive");

        var (training, heldOut) = PlacementTrainingData.Topologies(args);
        var model = PlacementGnn.Create(seed);
        if (args.Option("resume") is { } resume)
        {
            if (!File.Exists(resume)) throw new CliException($"no such model file: {resume}");
            model.LoadWeights(resume);
        }
        var defaults = new TrainingOptions();
        var shaping = StepShaping.Default with
        {
            ReserveWeight = DoubleOption(args, "reserve-weight", StepShaping.Default.ReserveWeight),
            LatencyWeight = DoubleOption(args, "latency-weight", StepShaping.Default.LatencyWeight),
        };
        using var trainer = new PpoTrainer(model, defaults with
        {
            Seed = seed,
            LearningRate = DoubleOption(args, "learning-rate", defaults.LearningRate),
            EntropyCoefficient = DoubleOption(args, "entropy", defaults.EntropyCoefficient),
            Environment = (defaults.Environment ?? EnvironmentOptions.Default) with { Shaping = shaping },
        });
        var instances = new TrainingInstances(training, seed);
        var evaluation = new TrainingInstances(heldOut, seed + 1, PlacementTrainingData.HeldOutApps()).Take(evaluationCount);
        var heuristic = PolicyRegistry.CreateDefault().Get(DrlPlacementPolicy.FallbackPolicyName);
        // Acceptance under rising load on a held-out network other than the benchmark's, so that model selection never sees the benchmark.
        var loadTopology = heldOut.First(t => t.Name != PlacementTrainingData.BenchmarkTopology && t.Nodes.Count >= 30);
        var loadFleet = InstanceGenerator.BuildFleet(loadTopology, new GeneratorOptions(Seed: seed + 2, TargetNodeCount: 300, BackgroundLoad: 0));
        var submissions = PlacementBenchmark.RisingLoadSubmissions(seed + 3, 400, loadFleet.Nodes.Count);
        var heuristicLoad = PlacementBenchmark.RisingLoad(heuristic, loadFleet, submissions).Ratio;
        AnsiConsole.MarkupLine($"training on {training.Count} topologies; evaluating on {evaluation.Count} problems from {heldOut.Count} held-out topologies " +
                               $"and under rising load on {loadTopology.Name} (300 nodes) against [bold]{heuristic.Name}[/]");

        var curve = new List<CurvePoint>();
        var evaluations = new List<EvaluationPoint>();
        var clock = Stopwatch.StartNew();
        var bestScore = double.NegativeInfinity;
        var bestEpisode = 0;
        EvaluationPoint? best = null;
        var done = 0;

        void Evaluate()
        {
            var policy = new DrlPlacementPolicy(model, $"training episode {done}");
            var comparison = PolicyComparison.Measure(policy, heuristic, evaluation);
            var load = PlacementBenchmark.RisingLoad(policy, loadFleet, submissions).Ratio;
            var point = new EvaluationPoint(done, clock.Elapsed.TotalMinutes, comparison, load, heuristicLoad);
            evaluations.Add(point);
            model.save(checkpoint);
            // Acceptance first (a rejected app is the costlier failure), then the objective.
            var score = load - heuristicLoad + comparison.Acceptance - comparison.HeuristicAcceptance + comparison.MeanRelativeImprovement;
            var marker = "";
            if (score > bestScore)
            {
                (bestScore, best, bestEpisode) = (score, point, done);
                model.save(output);
                marker = " [green]best[/]";
            }
            AnsiConsole.MarkupLine(
                $"episode {done,5}  {clock.Elapsed.TotalMinutes,5:F1} min  rising load {load:F3} vs {heuristicLoad:F3}  acceptance {comparison.Acceptance:F3} vs {comparison.HeuristicAcceptance:F3}  " +
                $"objective {comparison.MeanObjective:F5} vs {comparison.HeuristicMeanObjective:F5}  improvement {comparison.MeanRelativeImprovement:+0.0000;-0.0000}  " +
                $"infeasible {comparison.InfeasiblePlans}{marker}");
        }

        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var imitation = context.AddTask("imitation", maxValue: Math.Max(1, imitationEpisodes));
                for (var imitated = 0; imitated < imitationEpisodes; imitated += imitationBatch)
                {
                    var loss = trainer.Imitate(instances.Take(imitationBatch));
                    imitation.Description = $"imitation loss {loss:F3}";
                    imitation.Value = imitated + imitationBatch;
                }
                imitation.StopTask();
                var task = context.AddTask("training", maxValue: episodes);
                Evaluate();
                while (done < episodes && (minutesLimit <= 0 || clock.Elapsed.TotalMinutes < minutesLimit))
                {
                    var update = trainer.Update(instances.TakeArrivals(Math.Min(batch, episodes - done), appsPerEpisode));
                    done += update.Episodes;
                    curve.Add(new CurvePoint(done, clock.Elapsed.TotalMinutes, update.MeanEpisodeReward, update.RejectionRate, update.Entropy));
                    var recent = curve.TakeLast(10).ToArray();
                    task.Description = $"reward {recent.Average(c => c.MeanEpisodeReward):F3} rejected {recent.Average(c => c.RejectionRate):F2}";
                    task.Value = done;
                    if (done % evaluateEvery < update.Episodes || done >= episodes) Evaluate();
                }
                task.StopTask();
            });

        var report = new TrainingReport(output, done, clock.Elapsed.TotalMinutes, seed, training.Count, heldOut.Count, evaluation.Count,
            loadTopology.Name, bestEpisode, best!, evaluations, curve);
        File.WriteAllText(output + ".curve.json", JsonSerializer.Serialize(report, BenchCommands.JsonOptions));

        var table = new Table().AddColumns("held out", "drl (best)", heuristic.Name);
        var c = best!.Comparison;
        table.AddRow($"acceptance, rising load on {loadTopology.Name}", $"{best.RisingLoadAcceptance:F3}", $"{best.HeuristicRisingLoadAcceptance:F3}");
        table.AddRow("acceptance, single apps", $"{c.Acceptance:F3}", $"{c.HeuristicAcceptance:F3}");
        table.AddRow("mean objective (both placed)", $"{c.MeanObjective:F5}", $"{c.HeuristicMeanObjective:F5}");
        table.AddRow("mean relative improvement", $"{c.MeanRelativeImprovement:+0.0000;-0.0000}", "0");
        table.AddRow("infeasible plans", $"{c.InfeasiblePlans}", "0");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{done} episodes in {clock.Elapsed.TotalMinutes:F1} min; best at episode {bestEpisode} written to {output} " +
                               $"({new FileInfo(output).Length / 1024} KiB); curve in {output}.curve.json; last weights in {checkpoint}");
        return Task.FromResult(0);
    }
}
