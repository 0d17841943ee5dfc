using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeNet.Actors.Model.Apps;
using ComputeNet.Tests.TestSupport;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Model;

public sealed class AppSpecValidatorTests
{
    private static readonly NodeClassCatalog Catalog = NodeClassCatalog.Default;

    // A small valid complex app; each broken-spec test changes one field of it.
    private const string ValidApp = """
        {
          "name": "shop",
          "kind": "complex",
          "accessPoints": ["edge-1"],
          "components": [
            { "id": "web", "image": "shop/web:1", "cpuCores": 2, "memoryGb": 4, "pinning": { "kind": "accessNode" } },
            { "id": "api", "image": "shop/api:1", "cpuCores": 4, "memoryGb": 8, "workMiPerRequest": 50, "executionTimeThresholdMs": 100 },
            { "id": "cache", "image": "redis:7", "cpuCores": 1, "memoryGb": 16 }
          ],
          "dependencies": [
            { "from": "web", "to": "api", "dataRateMbps": 50, "transferDelayThresholdMs": 10 },
            { "from": "api", "to": "cache", "dataRateMbps": 800, "transferDelayThresholdMs": 2 },
            { "from": "cache", "to": "web", "dataRateMbps": 1 }
          ]
        }
        """;

    private static string Mutate(Action<JsonNode> change)
    {
        var node = JsonNode.Parse(ValidApp)!;
        change(node);
        return node.ToJsonString();
    }

    private static IReadOnlyList<ValidationError> ErrorsOf(string json) => AppSpecValidator.Validate(json, Catalog).Errors;

    [Fact]
    public void The_reference_spec_is_valid()
    {
        var result = AppSpecValidator.Validate(ValidApp, Catalog);
        result.Errors.ShouldBeEmpty();
        result.Spec!.Components.Count.ShouldBe(3);
    }

    [Theory]
    [InlineData("communication-video-call.json", 1)]
    [InlineData("compute-video-analytics.json", 3)]
    [InlineData("content-video-on-demand.json", 4)]
    [InlineData("complex-multiplayer-ar-game.json", 9)]
    public void Shipped_samples_validate(string file, int components)
    {
        var result = AppSpecValidator.Validate(File.ReadAllText(RepositoryFiles.Host(Path.Combine("samples", "apps", file))), Catalog);
        result.Errors.ShouldBeEmpty(string.Join("; ", result.Errors));
        result.Spec!.Components.Count.ShouldBe(components);
    }

    [Theory]
    [InlineData(AppKind.Communication)]
    [InlineData(AppKind.Compute)]
    [InlineData(AppKind.Content)]
    [InlineData(AppKind.Complex)]
    public void Each_kind_template_validates_with_default_parameters(AppKind kind)
    {
        var spec = new AppSpec { Name = "t", Kind = kind, AccessPoints = ["edge-1"], Template = new AppTemplateParameters() };
        var result = AppSpecValidator.Validate(spec, Catalog);
        result.Errors.ShouldBeEmpty(string.Join("; ", result.Errors));
        result.Spec!.Template.ShouldBeNull();
        result.Spec.Components.ShouldNotBeEmpty();
    }

    [Fact]
    public void Malformed_json_names_line_and_position()
    {
        var errors = ErrorsOf("{\n  \"name\": \"x\",\n  \"kind\": \"complex\"\n  \"components\": []\n}");
        errors.Count.ShouldBe(1);
        errors[0].Message.ShouldContain("line 4");
        errors[0].Message.ShouldStartWith("malformed JSON");
    }

    [Fact]
    public void A_wrongly_typed_field_is_reported_at_its_path()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![2]!["cpuCores"] = "lots"));
        errors.Single().Path.ShouldBe("$.components[2].cpuCores");
    }

    [Fact]
    public void A_misspelt_field_is_refused_rather_than_read_as_zero()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![1]!["cpucores"] = 4));
        errors.Single().Path.ShouldStartWith("$.components[1]");
        errors.Single().Message.ShouldContain("cpucores");
    }

    [Fact]
    public void Unknown_dependency_target_points_at_the_to_field()
    {
        var errors = ErrorsOf(Mutate(n => n["dependencies"]![1]!["to"] = "db"));
        errors.Single().ShouldBe(new ValidationError("$.dependencies[1].to", "unknown component 'db'"));
    }

    [Fact]
    public void Bytes_per_request_without_a_sender_request_rate_is_refused()
    {
        var errors = ErrorsOf(Mutate(n =>
        {
            n["dependencies"]![0]!.AsObject().Remove("dataRateMbps");
            n["dependencies"]![0]!["bytesPerRequest"] = 2048;
        }));
        errors.Single().Path.ShouldBe("$.dependencies[0].bytesPerRequest");
    }

    [Fact]
    public void Duplicate_component_id_points_at_the_second_one()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![2]!["id"] = "api"));
        errors.ShouldContain(e => e.Path == "$.components[2].id" && e.Message.Contains("duplicate"));
    }

    [Fact]
    public void Negative_memory_is_refused()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![0]!["memoryGb"] = -4));
        errors.Single().Path.ShouldBe("$.components[0].memoryGb");
    }

    [Fact]
    public void NaN_is_refused_on_a_spec_built_in_code()
    {
        var spec = AppSpecJson.Parse(ValidApp);
        spec = spec with { Dependencies = [spec.Dependencies[0] with { DataRateMbps = double.NaN }, .. spec.Dependencies.Skip(1)] };
        var errors = AppSpecValidator.Validate(spec, Catalog).Errors;
        errors.Single().Path.ShouldBe("$.dependencies[0].dataRateMbps");
        errors.Single().Message.ShouldContain("finite");
    }

    [Fact]
    public void More_cores_than_the_largest_class_is_unreachable()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![1]!["cpuCores"] = 512));
        errors.Single().Path.ShouldBe("$.components[1].cpuCores");
        errors.Single().Message.ShouldContain("largest");
        errors.Single().Message.ShouldContain("128");
    }

    [Fact]
    public void An_execution_time_the_fastest_class_cannot_reach_is_refused()
    {
        // 50 MI in 1 ms needs 50,000 MIPS per core; the fastest default class has 4,000.
        var errors = ErrorsOf(Mutate(n => n["components"]![1]!["executionTimeThresholdMs"] = 1));
        errors.Single().Path.ShouldBe("$.components[1].executionTimeThresholdMs");
    }

    [Fact]
    public void Absurd_data_rate_is_refused()
    {
        var errors = ErrorsOf(Mutate(n => n["dependencies"]![0]!["dataRateMbps"] = 5e9));
        errors.Single().Path.ShouldBe("$.dependencies[0].dataRateMbps");
    }

    [Fact]
    public void Reliability_of_one_is_refused()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![2]!["reliabilityThreshold"] = 1.0));
        errors.Single().Path.ShouldBe("$.components[2].reliabilityThreshold");
    }

    [Fact]
    public void Tier_pinning_narrows_reachability_to_that_tier()
    {
        var errors = ErrorsOf(Mutate(n =>
        {
            n["components"]![2]!["pinning"] = JsonNode.Parse("""{ "kind": "tier", "target": "device" }""");
        }));
        errors.Single().Path.ShouldBe("$.components[2].memoryGb");
        errors.Single().Message.ShouldContain("device");
    }

    [Fact]
    public void Unknown_tier_is_refused_at_the_target()
    {
        var errors = ErrorsOf(Mutate(n => n["components"]![1]!["pinning"] = JsonNode.Parse("""{ "kind": "tier", "target": "fog" }""")));
        errors.Single().Path.ShouldBe("$.components[1].pinning.target");
    }

    [Fact]
    public void A_cycle_in_a_content_app_points_at_the_closing_dependency()
    {
        var errors = ErrorsOf(Mutate(n => n["kind"] = "content"));
        errors.Single().Path.ShouldBe("$.dependencies[2]");
        errors.Single().Message.ShouldStartWith("dependency cache → web closes the cycle web → api → cache → web;");
    }

    [Fact]
    public void A_cycle_in_a_compute_app_is_allowed()
    {
        ErrorsOf(Mutate(n => n["kind"] = "compute")).ShouldBeEmpty();
    }

    [Fact]
    public void Mobility_to_an_undeclared_access_point_is_refused()
    {
        var errors = ErrorsOf(Mutate(n => n["mobility"] = JsonNode.Parse("""[{ "accessNode": "edge-1", "fromSecond": 0 }, { "accessNode": "edge-9", "fromSecond": 60 }]""")));
        errors.Single().Path.ShouldBe("$.mobility[1].accessNode");
    }

    [Fact]
    public void Pinning_to_the_access_node_needs_an_access_point()
    {
        var errors = ErrorsOf(Mutate(n => n["accessPoints"] = new JsonArray()));
        errors.Single().Path.ShouldBe("$.accessPoints");
    }

    [Fact]
    public void Co_located_components_pinned_apart_are_refused()
    {
        var errors = ErrorsOf(Mutate(n =>
        {
            n["components"]![0]!["colocationGroup"] = "g";
            n["components"]![2]!["colocationGroup"] = "g";
            n["components"]![2]!["pinning"] = JsonNode.Parse("""{ "kind": "region", "target": "cn-north" }""");
        }));
        errors.Single().Path.ShouldBe("$.components[2].pinning");
    }

    [Fact]
    public void A_bad_template_parameter_points_into_the_template()
    {
        var errors = ErrorsOf("""{ "name": "v", "kind": "content", "accessPoints": ["e"], "template": { "dataRateMbps": -25 } }""");
        errors.Single().Path.ShouldBe("$.template.dataRateMbps");
    }

    [Fact]
    public void Oversized_specs_are_refused_before_parsing()
    {
        var errors = ErrorsOf(new string(' ', AppSpecValidator.MaxSpecChars + 1));
        errors.Single().Path.ShouldBe("$");
    }

    [Fact]
    public void Too_many_components_are_refused()
    {
        var spec = new AppSpec
        {
            Name = "big",
            Components = [.. Enumerable.Range(0, AppSpecValidator.MaxComponents + 1).Select(i => new ComponentSpec { Id = $"c{i}", Image = "i", CpuCores = 1 })],
        };
        AppSpecValidator.Validate(spec, Catalog).Errors.Single().Path.ShouldBe("$.components");
    }

    [Fact]
    public void Spec_round_trips_through_json()
    {
        var spec = AppSpecJson.Parse(ValidApp);
        var again = AppSpecJson.Parse(AppSpecJson.Serialize(spec));
        again.Components.ShouldBe(spec.Components);
        again.Dependencies.ShouldBe(spec.Dependencies);
    }

    [Fact]
    public void The_shipped_schema_names_exactly_the_fields_the_records_read()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.Host(Path.Combine("schemas", "app-spec.schema.json"))));
        var defs = schema.RootElement.GetProperty("$defs");
        string[] Keys(JsonElement e) => [.. e.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order()];
        string[] Json<T>(T value) => [.. JsonNode.Parse(JsonSerializer.Serialize(value, new JsonSerializerOptions(AppSpecJson.Options) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never }))!.AsObject().Select(p => p.Key).Order()];

        Keys(defs.GetProperty("component")).ShouldBe(Json(new ComponentSpec()));
        Keys(defs.GetProperty("dependency")).ShouldBe(Json(new DependencySpec()));
        Keys(defs.GetProperty("template")).ShouldBe(Json(new AppTemplateParameters()));
        Keys(defs.GetProperty("pinning")).ShouldBe(Json(new Pinning()));
        Keys(schema.RootElement).ShouldBe(Json(new AppSpec()));
    }
}
