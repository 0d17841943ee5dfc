namespace ComputeNet.Host.Hosting;

/// <summary>
/// Builds the Akka.Persistence.Sql configuration (journal, snapshot store, query journal) for SQLite
/// or PostgreSQL. Written as HOCON because Akka.Persistence.Sql.Hosting is not available here.
/// </summary>
public static class PersistenceSetup
{
    public sealed record Resolved(string ProviderName, string ConnectionString, string Description);

    public static Resolved Resolve(PersistenceOptions options, string dataDir)
    {
        switch (options.Provider.Trim().ToLowerInvariant())
        {
            case "sqlite":
                var path = Path.Combine(dataDir, "computenet.db");
                var sqlite = options.ConnectionString ?? $"Data Source={path};Cache=Shared;Pooling=True";
                return new Resolved("SQLite.MS", sqlite, $"SQLite {options.ConnectionString ?? path}");
            case "postgresql" or "postgres":
                var pg = options.ConnectionString
                         ?? throw new InvalidOperationException("ComputeNet:Persistence:ConnectionString is required for PostgreSQL");
                return new Resolved("PostgreSQL.15", pg, "PostgreSQL " + RedactPassword(pg));
            default:
                throw new InvalidOperationException(
                    $"Unknown ComputeNet:Persistence:Provider '{options.Provider}'; expected sqlite or postgresql");
        }
    }

    public static string Hocon(Resolved db) => $$"""
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.sql"
            sql {
              connection-string = {{Quote(db.ConnectionString)}}
              provider-name = "{{db.ProviderName}}"
              auto-initialize = true
              event-adapters { tagger = "ComputeNet.Actors.Persistence.EventTagger, ComputeNet.Actors" }
              event-adapter-bindings { "ComputeNet.Actors.Persistence.IComputeNetEvent, ComputeNet.Actors" = tagger }
            }
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.sql"
            sql {
              connection-string = {{Quote(db.ConnectionString)}}
              provider-name = "{{db.ProviderName}}"
              auto-initialize = true
            }
          }
          query.journal.sql {
            connection-string = {{Quote(db.ConnectionString)}}
            provider-name = "{{db.ProviderName}}"
            refresh-interval = 500ms
          }
        }
        """;

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string RedactPassword(string connectionString) =>
        string.Join(';', connectionString.Split(';').Select(part =>
            part.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase) ? "Password=***" : part));
}
