using Google.OrTools.Sat;
using Shouldly;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace ComputeNet.Tests.Platform;

/// <summary>
/// Proves the machine can run the two native stacks the scheduler depends on, so a
/// red CI names a wrong machine preparation (e.g. a C++ runtime older than GCC 13) at once.
/// </summary>
public sealed class PlatformTests
{
    [Fact]
    public void TorchSharp_learns_a_linear_map_with_forward_and_backward_passes()
    {
        torch.manual_seed(7);
        var model = nn.Linear(3, 1);
        var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        var inputs = torch.rand(64, 3);
        var targets = inputs.matmul(torch.tensor(new float[] { 2f, -1f, 0.5f }).reshape(3, 1)) + 0.25f;

        float firstLoss = 0, lastLoss = 0;
        for (var step = 0; step < 300; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(inputs), targets);
            loss.backward();
            optimizer.step();
            if (step == 0) firstLoss = loss.item<float>();
            lastLoss = loss.item<float>();
        }

        lastLoss.ShouldBeLessThan(firstLoss / 100f);
        var weights = model.weight!.data<float>().ToArray();
        weights[0].ShouldBe(2f, 0.1f);
        weights[1].ShouldBe(-1f, 0.1f);
    }

    [Fact]
    public void CpSat_proves_the_optimum_of_a_small_bin_packing()
    {
        // Four items of sizes 4,3,3,2 into bins of capacity 6: the optimum is two bins.
        int[] sizes = [4, 3, 3, 2];
        const int bins = 4, capacity = 6;
        var model = new CpModel();
        var assign = new BoolVar[sizes.Length, bins];
        var used = new BoolVar[bins];
        for (var b = 0; b < bins; b++) used[b] = model.NewBoolVar($"used{b}");
        for (var i = 0; i < sizes.Length; i++)
        {
            for (var b = 0; b < bins; b++) assign[i, b] = model.NewBoolVar($"x{i}_{b}");
            model.AddExactlyOne(Enumerable.Range(0, bins).Select(b => (ILiteral)assign[i, b]));
        }
        for (var b = 0; b < bins; b++)
        {
            var load = LinearExpr.WeightedSum(Enumerable.Range(0, sizes.Length).Select(i => assign[i, b]), sizes);
            model.Add(load <= capacity * used[b]);
        }
        model.Minimize(LinearExpr.Sum(used));

        var solver = new CpSolver { StringParameters = "max_time_in_seconds:10 num_workers:2" };
        var status = solver.Solve(model);

        status.ShouldBe(CpSolverStatus.Optimal);
        solver.ObjectiveValue.ShouldBe(2); // {4,2} and {3,3}
    }
}
