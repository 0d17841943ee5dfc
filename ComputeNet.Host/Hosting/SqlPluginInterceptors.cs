using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Installs linq2db interceptors (tests use them to watch or hold back the snapshot store's and the read journal's SQL)
/// on the SQL plugins. On SQLite the events themselves are written by <see cref="SqliteJournal"/>, outside linq2db.
/// </summary>
public static class SqlPluginInterceptors
{
    public static MultiDataOptionsSetup Setup(PersistenceSetup.Resolved db, IReadOnlyList<IInterceptor> interceptors)
    {
        var options = new DataOptions().UseConnectionString(db.ProviderName, db.ConnectionString).UseInterceptors(interceptors);
        var setup = new MultiDataOptionsSetup();
        foreach (var pluginId in new[] { "akka.persistence.journal.sql", "akka.persistence.snapshot-store.sql", "akka.persistence.query.journal.sql" })
            setup.AddDataOptions(pluginId, options);
        return setup;
    }
}
