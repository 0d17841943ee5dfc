using ComputeNet.Host.Hosting;
using Microsoft.Data.Sqlite;

namespace ComputeNet.Tests.TestSupport;

/// <summary>One value read straight from a test's SQLite database, beside the plugins (what they wrote, not what they say).</summary>
public static class SqliteScalar
{
    public static object? Of(PersistenceSetup.Resolved db, string sql)
    {
        using var connection = new SqliteConnection(db.ConnectionString);
        connection.Open();
        using var command = new SqliteCommand(sql, connection);
        return command.ExecuteScalar();
    }
}
