using Akka.Actor;
using Microsoft.Data.Sqlite;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// Builds the Akka.Persistence.Sql configuration (journal, snapshot store, query journal) for SQLite
/// or PostgreSQL. Written as HOCON because Akka.Persistence.Sql.Hosting is not available here.
/// </summary>
public static class PersistenceSetup
{
    public sealed record Resolved(string ProviderName, string ConnectionString, string Description)
    {
        /// <summary>linq2db's name for Microsoft.Data.Sqlite.</summary>
        public const string SqliteProvider = "SQLite.MS";

        public bool IsSqlite => ProviderName == SqliteProvider;

        /// <summary>
        /// How long one journal write may take (the journal's circuit-breaker call timeout). SQLite has one writer: when
        /// 10,000 nodes come up in the same window their events queue behind each other for longer than Akka's default
        /// 10 s, and a timed-out write stops the node. Whoever waits on persisted effects waits longer than this.
        /// </summary>
        public TimeSpan WriteTimeout => IsSqlite ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(10);
    }

    public static Resolved Resolve(PersistenceOptions options, string dataDir)
    {
        switch (options.Provider.Trim().ToLowerInvariant())
        {
            case "sqlite":
                var path = Path.Combine(dataDir, "computenet.db");
                var sqlite = options.ConnectionString ?? $"Data Source={path};Cache=Shared;Pooling=True";
                return new Resolved(Resolved.SqliteProvider, sqlite, $"SQLite {options.ConnectionString ?? path}");
            case "postgresql" or "postgres":
                var pg = options.ConnectionString
                         ?? throw new InvalidOperationException("ComputeNet:Persistence:ConnectionString is required for PostgreSQL");
                return new Resolved("PostgreSQL.15", pg, "PostgreSQL " + RedactPassword(pg));
            default:
                throw new InvalidOperationException(
                    $"Unknown ComputeNet:Persistence:Provider '{options.Provider}'; expected sqlite or postgresql");
        }
    }

    /// <summary>
    /// Puts a SQLite database in write-ahead-log mode (a setting stored in the file). In the default rollback
    /// mode every write transaction costs several fsyncs; WAL costs one. Then moves an older journal's tag table into
    /// the journal (<see cref="MoveTagTableIntoJournal"/>). A no-op for PostgreSQL.
    /// </summary>
    public static void Prepare(Resolved db)
    {
        if (!db.IsSqlite) return;
        using var connection = new SqliteConnection(db.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        var mode = command.ExecuteScalar() as string;
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"SQLite at {db.Description} refused write-ahead-log mode (journal_mode is '{mode}')");
        MoveTagTableIntoJournal(connection);
    }

    /// <summary>
    /// A SQLite journal written with the tag table (before tags moved into the journal, see <see cref="TagStorage"/>) gets
    /// the <c>tags</c> column, every event's tags copied into it in the plugin's format, and loses the tag table, in one
    /// transaction: without this the journal could not be written (no such column) and tag queries would miss every older event.
    /// </summary>
    private static void MoveTagTableIntoJournal(SqliteConnection connection)
    {
        if (Count(connection, null, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'tags'") == 0) return;
        using var transaction = connection.BeginTransaction();
        if (Count(connection, transaction, "SELECT count(*) FROM pragma_table_info('journal') WHERE name = 'tags'") == 0)
            Execute(connection, transaction, "ALTER TABLE journal ADD COLUMN tags NVarChar(100) NULL");
        Execute(connection, transaction, """
            UPDATE journal SET tags = ';' || (SELECT group_concat(t.tag, ';') FROM tags t WHERE t.ordering_id = journal.ordering) || ';'
            WHERE (tags IS NULL OR tags = '') AND ordering IN (SELECT ordering_id FROM tags)
            """);
        Execute(connection, transaction, "DROP TABLE tags");
        transaction.Commit();
    }

    private static long Count(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = new SqliteCommand(sql, connection, transaction);
        return (long)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = new SqliteCommand(sql, connection, transaction);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Waits until the write journal has created its tables and answers. The SQL read journal's constructor
    /// gives the journal a fixed 5 seconds, which a busy machine can miss; a replay request waits in the
    /// journal's stash until it is ready, so asking for one first (with a generous timeout) avoids that race.
    /// </summary>
    public static void WaitForJournal(ActorSystem system, TimeSpan timeout)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
        var reply = journal.Ask<object>(replyTo => new Akka.Persistence.ReplayMessages(0, 0, 0, "computenet-startup-probe", replyTo), timeout,
            CancellationToken.None).GetAwaiter().GetResult();
        if (reply is Akka.Persistence.ReplayMessagesFailure failure)
            throw new InvalidOperationException("The journal does not answer: " + failure.Cause.Message, failure.Cause);
    }

    public static string Hocon(Resolved db) => $$"""
        akka.persistence {
          journal {
            plugin = "{{(db.IsSqlite ? SqliteJournalPlugin : "akka.persistence.journal.sql")}}"
            sql {
              connection-string = {{Quote(db.ConnectionString)}}
              provider-name = "{{db.ProviderName}}"
              auto-initialize = true
              {{Tagging}}
              circuit-breaker.call-timeout = {{(int)db.WriteTimeout.TotalSeconds}}s
              # Batched inserts bind payloads as parameters: as literals, each batch was a multi-megabyte SQL string on the
              # large object heap, and those forced a full garbage collection every few batches (bench ingest: 15 gen2
              # collections in one pipeline run instead of 3-4, 3.4 KB allocated per record instead of 3.1).
              prefer-parameters-on-multirow-insert = true
              {{TagStorage(db, "write")}}
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
            # The read journal asks its write plugin whether the tables exist before its first query (the default journal
            # otherwise, which on SQLite is SqliteJournal): the SQL journal answers that, and writes nothing.
            write-plugin = "akka.persistence.journal.sql"
            {{TagStorage(db, "read")}}
          }
        }
        {{SqliteWriterPlugin(db)}}
        """;

    /// <summary>
    /// On SQLite tags live in the journal's own <c>tags</c> column (";node;drift;all;"), not in the tag table: with the tag
    /// table the plugin inserts tagged events one at a time to learn each one's ordering, ~230 µs apiece through SQLite's
    /// single writer, and a 10,000-node fleet's first window (10,000 <c>NodeCameUp</c>) held its first commit back by 2.3 s;
    /// in the column they go in the journal's multi-row inserts. Tag queries then match the column (<c>LIKE</c>) from their
    /// offset on, which an embedded journal's size allows. PostgreSQL keeps the tag table: parallel writers, indexed tag queries.
    /// <see cref="MoveTagTableIntoJournal"/> converts a database written with the tag table.
    /// </summary>
    private static string TagStorage(Resolved db, string side) => db.IsSqlite ? $"tag-{side}-mode = Csv" : "";

    /// <summary>
    /// On SQLite events are written by <see cref="SqliteJournal"/> into the SQL journal's table and read back by the SQL read
    /// journal as before, tags included; the SQL journal's section stays, the read journal's reference for the table.
    /// PostgreSQL keeps the SQL journal, whose parallel writers keep up there.
    /// </summary>
    public const string SqliteJournalPlugin = "computenet.persistence.sqlite-journal";

    private const string Tagging = """
        event-adapters { tagger = "ComputeNet.Actors.Persistence.EventTagger, ComputeNet.Actors" }
        event-adapter-bindings { "ComputeNet.Actors.Persistence.IComputeNetEvent, ComputeNet.Actors" = tagger }
        """;

    private static string SqliteWriterPlugin(Resolved db) => db.IsSqlite
        ? $$"""
          {{SqliteJournalPlugin}} {
            class = "{{typeof(SqliteJournal).AssemblyQualifiedName}}"
            plugin-dispatcher = "akka.actor.default-dispatcher"
            connection-string = {{Quote(db.ConnectionString)}}
            batch-size = 2000
            circuit-breaker.call-timeout = {{(int)db.WriteTimeout.TotalSeconds}}s
            {{Tagging}}
          }
          """
        : "";

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string RedactPassword(string connectionString) =>
        string.Join(';', connectionString.Split(';').Select(part =>
            part.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase) ? "Password=***" : part));
}
