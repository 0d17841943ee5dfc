using Akka.Cluster.Sharding;

namespace ComputeNet.Actors.Apps;

/// <summary>Routes <see cref="IAppMessage"/>s to their app's shard; unknown messages get null, as sharding expects.</summary>
public sealed class AppMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as IAppMessage)?.AppId;
}
