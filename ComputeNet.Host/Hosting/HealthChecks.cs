using System.Data.Common;
using Akka.Actor;
using Akka.Cluster;
using Confluent.Kafka;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace ComputeNet.Host.Hosting;

/// <summary>Ready when this member of the Akka cluster is Up.</summary>
public sealed class ClusterUpCheck(ActorSystem system) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var self = Cluster.Get(system).SelfMember;
        return Task.FromResult(self.Status == MemberStatus.Up
            ? HealthCheckResult.Healthy($"{self.Address} is Up")
            : HealthCheckResult.Unhealthy($"{self.Address} is {self.Status}"));
    }
}

/// <summary>Ready when the journal's database answers a query.</summary>
public sealed class JournalCheck(PersistenceSetup.Resolved db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using DbConnection connection = db.IsSqlite
                ? new SqliteConnection(db.ConnectionString)
                : new NpgsqlConnection(db.ConnectionString);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await connection.OpenAsync(timeout.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy(db.Description);
        }
        catch (Exception e) when (e is DbException or OperationCanceledException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"{db.Description}: {e.Message}");
        }
    }
}

/// <summary>Ready when a Kafka broker returns cluster metadata. One admin client serves every probe.</summary>
public sealed class KafkaCheck(KafkaEndpoint kafka) : IHealthCheck, IDisposable
{
    private readonly Lazy<IAdminClient> _admin = new(kafka.Connection.BuildAdminClient);

    public void Dispose()
    {
        if (_admin.IsValueCreated) _admin.Value.Dispose();
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.Run(() =>
        {
            try
            {
                var metadata = _admin.Value.GetMetadata(TimeSpan.FromSeconds(3));
                return metadata.Brokers.Count > 0
                    ? HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s) at {kafka.BootstrapServers}")
                    : HealthCheckResult.Unhealthy($"no brokers at {kafka.BootstrapServers}");
            }
            catch (KafkaException e)
            {
                return HealthCheckResult.Unhealthy($"{kafka.BootstrapServers}: {e.Error.Reason}");
            }
        }, cancellationToken);
}
