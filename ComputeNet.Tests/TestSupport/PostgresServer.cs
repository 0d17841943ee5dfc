using Xunit;

namespace ComputeNet.Tests.TestSupport;

/// <summary>
/// Finds the PostgreSQL server that .ci/run starts (COMPUTENET_TEST_POSTGRES). In CI its absence is a
/// failure; on a developer machine the test is skipped with a message saying how to provide one.
/// </summary>
public static class PostgresServer
{
    public const string Variable = "COMPUTENET_TEST_POSTGRES";

    public static string ConnectionString()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        if (!string.IsNullOrWhiteSpace(connectionString)) return connectionString;

        const string message = $"PostgreSQL tests need a server: set {Variable} to a connection string " +
                               "(e.g. Host=127.0.0.1;Port=55432;Username=postgres;Database=postgres), as .ci/run does.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail(message);
        Assert.Skip(message);
        return "";
    }

    /// <summary>
    /// A new, empty database on that server, so a test never sees another test's (or an earlier run's) journal:
    /// hosts wake every node their journal last saw up, so a shared database makes each test pay for all the others.
    /// </summary>
    public static string FreshDatabase()
    {
        var server = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString());
        var name = $"computenet_test_{Guid.NewGuid():N}"[..32];
        using (var connection = new Npgsql.NpgsqlConnection(server.ConnectionString))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = $"CREATE DATABASE {name}";
            create.ExecuteNonQuery();
        }
        server.Database = name;
        return server.ConnectionString;
    }
}
