using ComputeNet.Host.Hosting;

// computenet: with no sub-command, runs the scheduler host on embedded defaults.
var app = ComputeNetHost.Build(args);
await app.RunAsync();
