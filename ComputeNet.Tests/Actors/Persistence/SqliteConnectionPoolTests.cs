using ComputeNet.Host.Hosting;
using ComputeNet.Tests.TestSupport;
using Microsoft.Data.Sqlite;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Persistence;

/// <summary>
/// Microsoft.Data.Sqlite before 10.0.12 could hand one pooled native connection to two connections opened at the
/// same moment (dotnet/efcore#39008): the second BEGIN then failed with "SQL logic error" (cannot start a
/// transaction within a transaction). In bench ingest that failed a node's recovery while 10,000 nodes registered,
/// and the registration was lost. This pins the fixed package: with 10.0.0 and the host's connection string, 14 of 3,000 rounds here shared a handle.
/// </summary>
public sealed class SqliteConnectionPoolTests : IDisposable
{
    private const int Rounds = 3000;
    private const int ConcurrentOpens = 16;
    private readonly TempDirectory _dir = new("computenet-sqlite-pool");

    [Fact]
    public void Connections_opened_at_the_same_moment_never_share_a_pooled_native_connection()
    {
        var db = PersistenceSetup.Resolve(new PersistenceOptions { Provider = "sqlite" }, _dir.Path);
        using (var first = new SqliteConnection(db.ConnectionString)) first.Open();

        var shared = 0;
        for (var round = 0; round < Rounds; round++)
        {
            // An empty pool each round: the race is between opens that all find no idle connection.
            using (var probe = new SqliteConnection(db.ConnectionString)) SqliteConnection.ClearPool(probe);
            var connections = Enumerable.Range(0, ConcurrentOpens).Select(_ => new SqliteConnection(db.ConnectionString)).ToArray();
            using var start = new Barrier(ConcurrentOpens);
            var threads = connections.Select(c => new Thread(() =>
            {
                start.SignalAndWait();
                c.Open();
            })).ToArray();
            foreach (var thread in threads) thread.Start();
            foreach (var thread in threads) thread.Join();

            var handles = connections.Select(c => c.Handle!.DangerousGetHandle()).ToArray();
            if (handles.Distinct().Count() != handles.Length) shared++;
            foreach (var connection in connections) connection.Dispose();
        }

        shared.ShouldBe(0, $"{shared} of {Rounds} rounds lent one native connection to two owners");
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
