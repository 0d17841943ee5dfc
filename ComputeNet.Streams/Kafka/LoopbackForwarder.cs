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
            client.NoDelay = true;
            upstream.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(_target, _shutdown.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // The broker is set down or we are shutting down: the client sees a closed connection and retries.
                _logger?.LogDebug(e, "Could not reach broker {Target}", _target);
                return;
            }
            // Whichever side closes first ends the pair (disposing both ends the other pump).
            await Task.WhenAny(
                Pump(client.GetStream(), upstream.GetStream(), _shutdown.Token),
                Pump(upstream.GetStream(), client.GetStream(), _shutdown.Token));
        }
    }

    private static async Task Pump(Stream from, Stream to, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, cancellationToken);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // A connection reset or closed by the other side is how a proxied connection ends.
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
