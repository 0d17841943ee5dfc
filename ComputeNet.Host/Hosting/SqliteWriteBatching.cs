using System.Data.Common;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Lets the SQL journal batch SQLite writes. The journal queues writes and folds those that arrive while one is in
/// flight into the next transaction, but Microsoft.Data.Sqlite runs its "async" calls synchronously, so a write
/// completes inside the queue's own stream step, nothing is ever in flight when the next write arrives, and every
/// event becomes its own transaction and its own fsync (41,345 fsyncs for ~45,000 events in bench ingest). Yielding
/// once as a connection opens moves the write onto the thread pool; writes arriving meanwhile then share a
/// transaction, durable as before.
/// </summary>
public static class SqliteWriteBatching
{
    /// <param name="observers">More interceptors, e.g. to trace the SQL.</param>
    public static MultiDataOptionsSetup Setup(PersistenceSetup.Resolved db, IReadOnlyList<IInterceptor> observers)
    {
        var options = new DataOptions().UseConnectionString(db.ProviderName, db.ConnectionString)
            .UseInterceptors([new YieldBeforeOpening(), .. observers]);
        var setup = new MultiDataOptionsSetup();
        foreach (var pluginId in new[] { "akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql", "akka.persistence.query.journal.sql" })
            setup.AddDataOptions(pluginId, options);
        return setup;
    }

    private sealed class YieldBeforeOpening : IConnectionInterceptor
    {
        public void ConnectionOpening(ConnectionEventData eventData, DbConnection connection) { }

        public async Task ConnectionOpeningAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken) =>
            await Task.Yield();

        public void ConnectionOpened(ConnectionEventData eventData, DbConnection connection) { }

        public Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
