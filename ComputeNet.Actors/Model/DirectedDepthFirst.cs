namespace ComputeNet.Actors.Model;

/// <summary>
/// Depth-first search over a directed graph given as adjacency lists, iterative so that deep chains do not overflow
/// the stack. Every edge that closes a cycle (a back edge) is reported with the cycle it closes; the nodes come back
/// in reverse post order, which is a topological order once the back edges are left out.
/// </summary>
public static class DirectedDepthFirst
{
    /// <summary>A back edge: the <paramref name="EdgeIndex"/>-th edge of <paramref name="From"/>, to <paramref name="To"/>; <paramref name="Cycle"/> runs from To to From along the search's path.</summary>
    public readonly record struct BackEdge(int From, int EdgeIndex, int To, IReadOnlyList<int> Cycle);

    public static List<int> ReversePostOrder(IReadOnlyList<IReadOnlyList<int>> outgoing, Action<BackEdge>? onBackEdge = null)
    {
        var n = outgoing.Count;
        var state = new byte[n]; // 0 unseen, 1 on the path, 2 done
        var postOrder = new List<int>(n);
        var path = new List<(int Node, int Next)>();
        for (var root = 0; root < n; root++)
        {
            if (state[root] != 0)
            {
                continue;
            }

            path.Add((root, 0));
            state[root] = 1;
            while (path.Count > 0)
            {
                var (v, next) = path[^1];
                if (next >= outgoing[v].Count)
                {
                    path.RemoveAt(path.Count - 1);
                    state[v] = 2;
                    postOrder.Add(v);
                    continue;
                }

                path[^1] = (v, next + 1);
                var w = outgoing[v][next];
                if (state[w] == 1)
                {
                    onBackEdge?.Invoke(new BackEdge(v, next, w, CycleFrom(path, w)));
                }
                else if (state[w] == 0)
                {
                    state[w] = 1;
                    path.Add((w, 0));
                }
            }
        }

        postOrder.Reverse();
        return postOrder;
    }

    private static int[] CycleFrom(List<(int Node, int Next)> path, int start)
    {
        var from = path.FindLastIndex(step => step.Node == start);
        return path.Skip(from).Select(step => step.Node).ToArray();
    }
}
