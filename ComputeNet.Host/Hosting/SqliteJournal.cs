using System.Collections.Immutable;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Serialization;
using ComputeNet.Streams;
using Microsoft.Data.Sqlite;

namespace ComputeNet.Host.Hosting;

/// <summary>
/// The write journal on SQLite. It writes the SQL journal's own table, in that plugin's layout with tags in the row
/// (";a;b;"), so the SQL read journal (tag queries, event streams) and the snapshot store work on it unchanged; only
/// the writing is ours. The SQL journal spent ~100 µs of CPU on each event (SQL built per batch, multi-row statements
/// parsed anew): a 10,000-node fleet's first window (10,000 <c>NodeCameUp</c>) and every checkpoint (10,000 telemetry
/// events) were mostly that. Here every actor's writes queue for one writer (SQLite has one anyway), which binds one
/// prepared insert per row and commits whatever has queued, up to <c>batch-size</c> rows, in one transaction: durable
/// before any of them is acknowledged.
/// </summary>
public sealed class SqliteJournal : AsyncWriteJournal
{
    /// <summary>The SQL journal's table; created here, in its layout, when a database has none.</summary>
    public const string Table = "journal";

    private const string TagSeparator = ";";

    private const string InsertSql =
        $"INSERT INTO {Table} (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid) VALUES ($created, 0, $pid, $seq, $message, $tags, $manifest, $serializer, $writer)";

    private static long _events, _transactions, _failedWrites, _writeMicroseconds;

    // Observed rather than pushed, as the other instruments are; per process (every journal of it).
    private static readonly ObservableCounter<long> Events = ComputeNetMeter.Instance.CreateObservableCounter("journal_events_written_total",
        () => Interlocked.Read(ref _events), description: "events the SQLite journal made durable");
    private static readonly ObservableCounter<long> Transactions = ComputeNetMeter.Instance.CreateObservableCounter("journal_transactions_total",
        () => Interlocked.Read(ref _transactions), description: "SQLite journal transactions committed (events per transaction: the batching)");
    private static readonly ObservableCounter<long> FailedWrites = ComputeNetMeter.Instance.CreateObservableCounter("journal_failed_writes_total",
        () => Interlocked.Read(ref _failedWrites), description: "atomic writes the SQLite journal failed (their actors stop and recover)");
    private static readonly ObservableCounter<double> WriteSeconds = ComputeNetMeter.Instance.CreateObservableCounter("journal_write_seconds_total",
        () => Interlocked.Read(ref _writeMicroseconds) / 1e6, description: "time the SQLite journal's writer spent in transactions");

    private readonly string _connectionString;
    private readonly int _batchSize;
    private readonly Channel<Operation> _queue = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Task _writer;

    public SqliteJournal(Config config)
    {
        _connectionString = config.GetString("connection-string") ?? throw new ConfigurationException("connection-string is required");
        _batchSize = Math.Max(1, config.GetInt("batch-size", 2000));
        _serialization = Context.System.Serialization;
        CreateTable();
        _writer = Task.Run(WriteLoop);
    }

    /// <summary>One queued row: a serialized event of one atomic write, with its tags as the SQL journal writes them.</summary>
    private sealed record Row(string PersistenceId, long SequenceNr, string Tags, int SerializerId, string Manifest, string WriterGuid, byte[] Message);

    private abstract record Operation
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One atomic write: its rows commit together or not at all.</summary>
    private sealed record Write(IReadOnlyList<Row> Rows) : Operation;

    private sealed record Delete(string PersistenceId, long ToSequenceNr) : Operation;

    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var results = new List<Exception?>();
        var queued = new List<Task>();
        foreach (var message in messages)
        {
            var (write, rejection) = Serialize(message);
            results.Add(rejection);
            if (write is null) continue;
            _queue.Writer.TryWrite(write);
            queued.Add(write.Done.Task);
        }
        // A database failure faults the whole call (the actors stop, as the contract asks); a rejection does not.
        await Task.WhenAll(queued).WaitAsync(cancellationToken);
        return results.ToImmutableList();
    }

    private (Write? Write, Exception? Rejection) Serialize(AtomicWrite message)
    {
        try
        {
            var rows = new List<Row>();
            foreach (var representation in (IImmutableList<IPersistentRepresentation>)message.Payload)
            {
                var (payload, tags) = representation.Payload is Tagged tagged ? (tagged.Payload, tagged.Tags) : (representation.Payload, null);
                var serializer = _serialization.FindSerializerFor(payload);
                var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
                var tagColumn = tags is null || tags.Count == 0 ? "" : TagSeparator + string.Join(TagSeparator, tags) + TagSeparator;
                rows.Add(new Row(representation.PersistenceId, representation.SequenceNr, tagColumn, serializer.Identifier, manifest,
                    representation.WriterGuid, serializer.ToBinary(payload)));
            }
            return (new Write(rows), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return (null, e);
        }
    }

    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        var delete = new Delete(persistenceId, toSequenceNr);
        _queue.Writer.TryWrite(delete);
        return delete.Done.Task.WaitAsync(cancellationToken);
    }

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) =>
        Task.Run(() =>
        {
            using var connection = Open();
            using var command = new SqliteCommand($"SELECT max(sequence_number) FROM {Table} WHERE persistence_id = $pid", connection);
            command.Parameters.AddWithValue("$pid", persistenceId);
            return command.ExecuteScalar() is long highest ? Math.Max(highest, fromSequenceNr) : fromSequenceNr;
        }, cancellationToken);

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback) =>
        Task.Run(() =>
        {
            if (max <= 0) return;
            using var connection = Open();
            using var command = new SqliteCommand($"""
                SELECT sequence_number, created, identifier, manifest, writer_uuid, message FROM {Table}
                WHERE persistence_id = $pid AND sequence_number BETWEEN $from AND $to AND deleted = 0
                ORDER BY sequence_number LIMIT $max
                """, connection);
            command.Parameters.AddWithValue("$pid", persistenceId);
            command.Parameters.AddWithValue("$from", fromSequenceNr);
            command.Parameters.AddWithValue("$to", toSequenceNr);
            command.Parameters.AddWithValue("$max", max);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var payload = _serialization.Deserialize((byte[])reader.GetValue(5), reader.GetInt32(2), reader.IsDBNull(3) ? "" : reader.GetString(3));
                recoveryCallback(new Persistent(payload, reader.GetInt64(0), persistenceId, "", false, ActorRefs.NoSender,
                    reader.IsDBNull(4) ? "" : reader.GetString(4), reader.GetInt64(1)));
            }
        });

    protected override void PostStop()
    {
        _queue.Writer.TryComplete();
        // Writes already queued finish (their actors are told); the pool keeps no handle open afterwards.
        if (!_writer.Wait(TimeSpan.FromSeconds(30))) _log.Warning("{0} writer did not drain within 30 s", nameof(SqliteJournal));
        base.PostStop();
    }

    /// <summary>The SQL journal's table and indexes, as that plugin creates them, for a database it has not written yet.</summary>
    private void CreateTable()
    {
        using var connection = Open();
        using var command = new SqliteCommand($"""
            CREATE TABLE IF NOT EXISTS [{Table}] (
              [ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
              [created]         INTEGER        NOT NULL,
              [deleted]         Bit            NOT NULL,
              [persistence_id]  NVarChar(255)  NOT NULL,
              [sequence_number] INTEGER        NOT NULL,
              [message]         VarBinary      NOT NULL,
              [tags]            NVarChar(100)      NULL,
              [manifest]        NVarChar(500)      NULL,
              [identifier]      INTEGER            NULL,
              [writer_uuid]     NVarChar(128)      NULL);
            CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON {Table} (persistence_id, sequence_number);
            CREATE INDEX IF NOT EXISTS journal_created_idx ON {Table} (created);
            CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON {Table} (sequence_number);
            """, connection);
        command.ExecuteNonQuery();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    /// <summary>The single writer: drains the queue into transactions of up to batch-size rows.</summary>
    private async Task WriteLoop()
    {
        var batch = new List<Operation>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var rows = 0;
            while (rows < _batchSize && _queue.Reader.TryRead(out var operation))
            {
                batch.Add(operation);
                rows += operation is Write write ? write.Rows.Count : 1;
            }
            try
            {
                Commit(batch);
                foreach (var operation in batch) operation.Done.TrySetResult();
            }
            catch (Exception e)
            {
                // One bad write (a sequence number written twice) must not fail the others it shared a transaction with.
                if (batch.Count == 1)
                {
                    Fail(batch[0], e);
                    continue;
                }
                foreach (var operation in batch)
                {
                    try
                    {
                        Commit([operation]);
                        operation.Done.TrySetResult();
                    }
                    catch (Exception single)
                    {
                        Fail(operation, single);
                    }
                }
            }
        }
    }

    private void Commit(IReadOnlyList<Operation> operations)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            CommitTransaction(operations);
        }
        finally
        {
            Interlocked.Add(ref _writeMicroseconds, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        Interlocked.Increment(ref _transactions);
        Interlocked.Add(ref _events, operations.Sum(operation => operation is Write write ? write.Rows.Count : 0));
    }

    private void CommitTransaction(IReadOnlyList<Operation> operations)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var insert = new SqliteCommand(InsertSql, connection, transaction);
        // One commit time for the transaction's rows (the column is informational; nothing queries it).
        insert.Parameters.AddWithValue("$created", DateTime.UtcNow.Ticks);
        var pid = insert.Parameters.Add("$pid", SqliteType.Text);
        var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
        var tags = insert.Parameters.Add("$tags", SqliteType.Text);
        var serializer = insert.Parameters.Add("$serializer", SqliteType.Integer);
        var manifest = insert.Parameters.Add("$manifest", SqliteType.Text);
        var writer = insert.Parameters.Add("$writer", SqliteType.Text);
        var message = insert.Parameters.Add("$message", SqliteType.Blob);
        insert.Prepare();
        foreach (var operation in operations)
        {
            switch (operation)
            {
                case Write write:
                    foreach (var row in write.Rows)
                    {
                        (pid.Value, seq.Value, tags.Value, serializer.Value, manifest.Value, writer.Value, message.Value) =
                            (row.PersistenceId, row.SequenceNr, row.Tags, row.SerializerId, row.Manifest, row.WriterGuid, row.Message);
                        insert.ExecuteNonQuery();
                    }
                    break;
                case Delete delete:
                    DeleteTo(connection, transaction, delete);
                    break;
            }
        }
        transaction.Commit();
    }

    private void Fail(Operation operation, Exception cause)
    {
        if (operation is Write) Interlocked.Increment(ref _failedWrites);
        _log.Warning("SQLite journal {0} failed: {1}", operation is Write write ? $"write of {write.Rows[0].PersistenceId}" : "delete", cause.Message);
        operation.Done.TrySetException(cause);
    }

    /// <summary>Deletes up to a sequence number but keeps the highest row, marked deleted, so the stream's highest sequence number survives.</summary>
    private static void DeleteTo(SqliteConnection connection, SqliteTransaction transaction, Delete delete)
    {
        using var command = new SqliteCommand($"""
            UPDATE {Table} SET deleted = 1 WHERE persistence_id = $pid AND sequence_number <= $to
              AND sequence_number = (SELECT max(sequence_number) FROM {Table} WHERE persistence_id = $pid);
            DELETE FROM {Table} WHERE persistence_id = $pid AND sequence_number <= $to
              AND sequence_number < (SELECT max(sequence_number) FROM {Table} WHERE persistence_id = $pid);
            """, connection, transaction);
        command.Parameters.AddWithValue("$pid", delete.PersistenceId);
        command.Parameters.AddWithValue("$to", delete.ToSequenceNr);
        command.ExecuteNonQuery();
    }
}
