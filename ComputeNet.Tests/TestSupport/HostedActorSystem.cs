using Akka.Actor;
using Akka.Hosting;
using ComputeNet.Host.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// An actor system wired as the host wires it (ComputeNet serialization plus what <c>configure</c> adds, usually the
/// persistence), started for one step of a test and stopped after it, so a second call is a restart on the same store.
/// </summary>
public static class HostedActorSystem
{
    public static async Task<T> RunAsync<T>(string name, Action<AkkaConfigurationBuilder> configure, Func<ActorSystem, Task<T>> use)
    {
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka($"{name}-{Guid.NewGuid():N}", (akka, _) => configure(akka.WithComputeNetSerialization())))
            .Build();
        await host.StartAsync();
        try
        {
            return await use(host.Services.GetRequiredService<ActorSystem>());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    public static Task RunAsync(string name, Action<AkkaConfigurationBuilder> configure, Func<ActorSystem, Task> use) =>
        RunAsync(name, configure, async system =>
        {
            await use(system);
            return true;
        });

    /// <summary>With the host's persistence on <paramref name="db"/> and nothing else.</summary>
    public static Task<T> RunAsync<T>(string name, PersistenceSetup.Resolved db, Func<ActorSystem, Task<T>> use) =>
        RunAsync(name, akka => akka.WithComputeNetPersistence(db), use);
}
