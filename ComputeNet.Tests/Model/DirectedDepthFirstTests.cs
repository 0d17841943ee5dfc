using ComputeNet.Actors.Model;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Model;

public sealed class DirectedDepthFirstTests
{
    [Fact]
    public void Each_back_edge_comes_with_the_cycle_it_closes_and_the_rest_is_in_topological_order()
    {
        // 0 → 1 → 2 → 3 → 1 (a cycle of three), 0 → 4 → 3, 5 alone.
        int[][] outgoing = [[1, 4], [2], [3], [1], [3], []];
        var backEdges = new List<DirectedDepthFirst.BackEdge>();

        var order = DirectedDepthFirst.ReversePostOrder(outgoing, backEdges.Add);

        var back = backEdges.ShouldHaveSingleItem();
        (back.From, back.EdgeIndex, back.To).ShouldBe((3, 0, 1));
        back.Cycle.ShouldBe([1, 2, 3]);
        order.Order().ShouldBe([0, 1, 2, 3, 4, 5]);
        for (var v = 0; v < outgoing.Length; v++)
            foreach (var w in outgoing[v].Where(w => (v, w) != (back.From, back.To)))
                order.IndexOf(v).ShouldBeLessThan(order.IndexOf(w), $"edge {v} → {w}");
    }

    [Fact]
    public void A_chain_far_deeper_than_the_call_stack_allows_is_searched_without_recursion()
    {
        const int n = 200_000;
        var outgoing = Enumerable.Range(0, n).Select(v => v + 1 < n ? new[] { v + 1 } : []).ToArray();
        outgoing[n - 1] = [0];
        var backEdges = new List<DirectedDepthFirst.BackEdge>();

        var order = DirectedDepthFirst.ReversePostOrder(outgoing, backEdges.Add);

        order.ShouldBe(Enumerable.Range(0, n));
        var back = backEdges.ShouldHaveSingleItem();
        (back.From, back.To).ShouldBe((n - 1, 0));
        back.Cycle.Count.ShouldBe(n);
    }
}
