using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace ComputeNet.Streams.Kafka;

/// <summary>
/// Forwards TCP connections from 127.0.0.1:&lt;port&gt; to one target endpoint. librdkafka's mock brokers
/// always bind ephemeral loopback ports, so this gives clients a stable bootstrap address; after the first
/// Metadata response they connect to the advertised broker addresses directly.
/// </summary>
internal sealed class LoopbackForwarder : IDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly ILogger? _logger;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _acceptLoop;

    private LoopbackForwarder(TcpListener listener, IPEndPoint target, ILogger? logger)
    {
        _listener = listener;
        _target = target;
        _logger = logger;
        _acceptLoop = Task.Run(AcceptLoop);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Listens on <paramref name="preferredPort"/>, or on a free port when that one is taken (0 = any).</summary>
    public static LoopbackForwarder Start(int preferredPort, IPEndPoint target, ILogger? logger)
    {
        var listener = new TcpListener(IPAddress.Loopback, preferredPort);
        try
        {
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && preferredPort != 0)
        {
            logger?.LogWarning("Port {Port} is taken; the embedded Kafka listens on a free port instead", preferredPort);
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
        }
        return new LoopbackForwarder(listener, target, logger);
    }

    private async Task AcceptLoop()
    {
        while (!_shutdown.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return; // listener stopped by Dispose
            }
            _ = Task.Run(() => Forward(client));
        }
    }

    private async Task Forward(TcpClient client)
    {
        using (client)
        using (var upstream = new TcpClient())
        {
            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(_target, _shutdown.Token);
                var fromClient = client.GetStream();
                var toBroker = upstream.GetStream();
                // Whichever side closes first ends the pair; Kafka clients reconnect on their own.
                await Task.WhenAny(
                    fromClient.CopyToAsync(toBroker, _shutdown.Token),
                    toBroker.CopyToAsync(fromClient, _shutdown.Token));
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                // A broker set down or a client going away closes its connection: normal for a proxy.
                _logger?.LogDebug(e, "Forwarded connection to {Target} ended", _target);
            }
        }
    }

    public void Dispose()
    {
        if (_shutdown.IsCancellationRequested) return;
        _shutdown.Cancel();
        _listener.Stop();
        _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        _shutdown.Dispose();
    }
}
