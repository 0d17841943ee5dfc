using Akka.Cluster.Sharding;

namespace ComputeNet.Actors.Nodes;

/// <summary>Routes <see cref="INodeMessage"/>s to their node's shard; unknown messages get null, as sharding expects.</summary>
public sealed class NodeMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message switch
    {
        INodeMessage m => m.NodeId,
        _ => null,
    };
}
