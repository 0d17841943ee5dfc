using Akka.Actor;

namespace ComputeNet.Streams;

/// <summary>
/// Asks many entities at once through one temporary reply address, with one timeout for the whole batch.
/// An <c>Ask</c> per entity costs a temporary actor, a timer and a task each; a window touching 10,000 nodes
/// spent more on that than on the nodes' own work. Replies are matched to requests by entity id, in the order
/// each entity was asked (an entity answers its requests in the order it received them).
/// </summary>
public static class BatchAsk
{
    /// <summary>
    /// Tells every message to <paramref name="target"/> (a shard region, or any actor that replies to the sender)
    /// and completes with one reply per message, in message order. Fails with the first <see cref="Status.Failure"/>
    /// or unexpected reply, or with a <see cref="TimeoutException"/> if the replies are not all in within the timeout.
    /// </summary>
    public static async Task<TReply[]> AskAll<TMessage, TReply>(
        IActorRef target, IReadOnlyList<TMessage> messages, Func<TMessage, string> messageId, Func<TReply, string> replyId, TimeSpan timeout)
        where TMessage : notnull
    {
        if (messages.Count == 0) return [];
        var provider = ((IInternalActorRef)target).Provider;
        var replies = new BatchReplies<TMessage, TReply>(provider, messages, messageId, replyId);
        provider.RegisterTempActor(replies, replies.Path);
        try
        {
            foreach (var message in messages) target.Tell(message, replies);
            return await replies.Completion.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{replies.Missing} of {messages.Count} {typeof(TMessage).Name} replies not received within {timeout.TotalSeconds:0.#} s");
        }
        finally
        {
            provider.UnregisterTempActor(replies.Path);
        }
    }

    /// <summary>The requests to one entity, in the order sent; <see cref="Answered"/> counts its replies so far.</summary>
    private sealed class Awaiting(int firstIndex)
    {
        public List<int> Indices { get; } = [firstIndex];
        public int Answered;
    }

    /// <summary>
    /// The temporary reply address: collects replies from any thread until every request has one. Lock-free (the
    /// id map is only read once built): on a crowded machine a preempted lock holder stalls every replying entity.
    /// </summary>
    private sealed class BatchReplies<TMessage, TReply> : MinimalActorRef
    {
        private readonly Func<TReply, string> _replyId;
        private readonly Dictionary<string, Awaiting> _awaiting = new(StringComparer.Ordinal);
        private readonly TReply[] _replies;
        private readonly TaskCompletionSource<TReply[]> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _missing;

        public BatchReplies(IActorRefProvider provider, IReadOnlyList<TMessage> messages, Func<TMessage, string> messageId, Func<TReply, string> replyId)
        {
            Provider = provider;
            Path = provider.TempPath();
            _replyId = replyId;
            _replies = new TReply[messages.Count];
            _missing = messages.Count;
            for (var i = 0; i < messages.Count; i++)
            {
                var id = messageId(messages[i]);
                if (_awaiting.TryGetValue(id, out var awaiting)) awaiting.Indices.Add(i);
                else _awaiting[id] = new Awaiting(i);
            }
        }

        public override ActorPath Path { get; }

        public override IActorRefProvider Provider { get; }

        public Task<TReply[]> Completion => _completion.Task;

        public int Missing => Volatile.Read(ref _missing);

        protected override void TellInternal(object message, IActorRef sender)
        {
            switch (message)
            {
                case TReply reply:
                    // An entity answers one request at a time, so its replies count up in the order it was asked.
                    var nth = _awaiting.TryGetValue(_replyId(reply), out var awaiting) ? Interlocked.Increment(ref awaiting.Answered) - 1 : -1;
                    if (nth < 0 || nth >= awaiting!.Indices.Count)
                    {
                        // A reply nobody waits for (an entity answering twice) is a protocol error, not something to count.
                        _completion.TrySetException(new InvalidOperationException($"unexpected reply {reply} from {sender}"));
                        return;
                    }
                    _replies[awaiting.Indices[nth]] = reply;
                    // The decrement publishes the write above to whoever completes the batch.
                    if (Interlocked.Decrement(ref _missing) == 0) _completion.TrySetResult(_replies);
                    break;
                case Status.Failure failure:
                    _completion.TrySetException(failure.Cause);
                    break;
                default:
                    _completion.TrySetException(new InvalidOperationException(
                        $"expected {typeof(TReply).Name} replies, got {message.GetType().Name} from {sender}"));
                    break;
            }
        }
    }
}
