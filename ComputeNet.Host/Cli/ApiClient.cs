using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ComputeNet.Host.Hosting;

namespace ComputeNet.Host.Cli;

/// <summary>
/// The CLI's view of a running instance: its API found from --api, or the endpoints.json of
/// --data (default ./data), or the default address.
/// </summary>
public sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ApiClient(CliArgs args)
    {
        var api = args.Option("api")
                  ?? Endpoints.TryRead(args.Option("data") ?? "data")?.Api
                  ?? ComputeNetHost.DefaultUrls;
        _http = new HttpClient { BaseAddress = new Uri(api), Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress => _http.BaseAddress!;

    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, string? jsonBody = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (jsonBody is not null) request.Content = new StringContent(jsonBody, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach ComputeNet at {BaseAddress}: {e.Message} (is the host running? use --api URL or --data DIR)");
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            JsonNode? body = null;
            if (text.Length > 0)
            {
                try { body = JsonNode.Parse(text); }
                catch (JsonException) { body = JsonValue.Create(text); }
            }
            return ((int)response.StatusCode, body);
        }
    }

    public void Dispose() => _http.Dispose();
}
