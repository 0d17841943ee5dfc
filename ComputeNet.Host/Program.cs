using ComputeNet.Host.Cli;
using ComputeNet.Host.Hosting;

// computenet [run] runs the scheduler host (embedded defaults unless configured);
// the other sub-commands talk to a running instance or run benchmarks.
var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
var rest = new CliArgs(args.Skip(command == "run" && (args.Length == 0 || args[0].StartsWith('-')) ? 0 : 1));
try
{
    return command switch
    {
        "run" => await RunHost(args.Length > 0 && args[0] == "run" ? args[1..] : args),
        "submit" => await AppCommandsCli.SubmitAsync(rest),
        "apps" => await AppCommandsCli.ListAsync(rest),
        "app" => await AppCommandsCli.ShowAsync(rest),
        "stop" => await AppCommandsCli.StopAsync(rest),
        "plan" => await AppCommandsCli.PlanAsync(rest),
        "bench" => await BenchCommands.RunAsync(rest),
        "simulate" => await SimulateCommand.RunAsync(rest),
        "train" => await TrainCommand.RunAsync(rest),
        "help" or "--help" => Usage(0),
        _ => Usage(2, $"unknown command '{command}'"),
    };
}
catch (CliException e)
{
    Console.Error.WriteLine($"computenet {command}: {e.Message}");
    return 2;
}

static async Task<int> RunHost(string[] hostArgs)
{
    var app = ComputeNetHost.Build(hostArgs);
    try
    {
        await app.RunAsync();
        return 0;
    }
    catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
    {
        Console.Error.WriteLine($"computenet: {e.Message} Is another ComputeNet running? Choose another address with --urls.");
        return 1;
    }
}

static int Usage(int exitCode, string? problem = null)
{
    if (problem is not null) Console.Error.WriteLine(problem);
    Console.WriteLine("""
        usage: computenet [run] [--data DIR] [--kafka HOST:PORT] [--kafka-port N] [--urls URL] [--postgres CONN]
               computenet submit APP.json [--api URL | --data DIR]
               computenet apps | app ID | plan ID | stop ID [--api URL | --data DIR]
               computenet simulate [--kafka HOST:PORT | --data DIR] [--topology FILE.graphml] [--nodes N] [--interval-ms MS] [--duration S] [--trace CPU.csv]
               computenet bench SUITE [--json FILE]      suites: ingest [--nodes N] [--records R] [--persistence sqlite|memory],
                                                          decompose, place, reschedule, forecast, drift,
                                                          drl [--model FILE] [--topology FILE.graphml]
               computenet train [--episodes N] [--out FILE] [--resume FILE] [--seed S] [--minutes M] [--eval-every N]
                                [--learning-rate R] [--entropy C] [--imitation-episodes N]
        """);
    return exitCode;
}
