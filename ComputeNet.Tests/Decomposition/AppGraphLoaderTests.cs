using ComputeNet.Actors.Model;
using ComputeNet.Actors.Decomposition;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Decomposition;

/// <summary>The loaders read the real files with the counts SOURCES.md states.</summary>
public sealed class AppGraphLoaderTests
{
    [Fact]
    public void DeathStarBench_social_network_has_its_services_datastores_and_34_edges()
    {
        Assert.SkipWhen(!SharedData.Available, "shared/data/apps is not on this machine");
        var social = AppGraphLoaders.DeathStarBench(SharedData.Path("apps", "deathstarbench_service_graphs.json")).Single(g => g.Name.EndsWith("socialNetwork"));
        social.Edges.Count.ShouldBe(34);
        social.Components.Count.ShouldBe(25);
        social.Edges.ShouldAllBe(e => social.Components.Any(c => c.Id == e.From) && social.Components.Any(c => c.Id == e.To));
    }

    [Fact]
    public void Alibaba_sample_has_85_graphs_with_the_user_pinned_to_the_access_node()
    {
        Assert.SkipWhen(!SharedData.Available, "shared/data/apps is not on this machine");
        var graphs = AppGraphLoaders.AlibabaCallGraphs(SharedData.Path("apps", "alibaba_callgraphs_dgg_sample.json"));
        graphs.Count.ShouldBe(85);
        graphs.Max(g => g.Components.Count).ShouldBe(66);
        graphs.ShouldAllBe(g => g.Components.Where(c => c.Id == "USER").All(c => c.Pinning.Kind == PinningKind.AccessNode));
    }

    [Fact]
    public void Montage_workflow_carries_file_traffic_between_its_58_tasks()
    {
        Assert.SkipWhen(!SharedData.Available, "shared/data/apps is not on this machine");
        var montage = AppGraphLoaders.PegasusWorkflow(SharedData.Path("apps", Path.Combine("workflows", "montage-chameleon-2mass-005d-001.json")));
        montage.Components.Count.ShouldBe(58);
        montage.Edges.Count.ShouldBe(114);
        montage.TotalTrafficMbps.ShouldBeGreaterThan(0);
        montage.Components.ShouldAllBe(c => c.CpuCores >= 0.1);
    }

    [Fact]
    public void IFogSim_vr_game_pins_the_connector_to_the_cloud()
    {
        Assert.SkipWhen(!SharedData.Available, "shared/data/apps is not on this machine");
        var apps = AppGraphLoaders.IFogSimApps(SharedData.Path("apps", "ifogsim_apps.json"));
        apps.Count.ShouldBe(4);
        var vr = apps.Single(a => a.Name == "ifogsim/vr_game");
        vr.Components.Single(c => c.Id == "connector").Pinning.ShouldBe(Pinning.ToTier(NodeTier.Cloud));
        // EEG every 5 ms: 500-byte tuples client → concentration_calculator = 0.8 Mbps.
        vr.Edges.Single(e => e.From == "client" && e.To == "concentration_calculator").DataRateMbps.ShouldBe(0.8, 1e-9);
    }
}
