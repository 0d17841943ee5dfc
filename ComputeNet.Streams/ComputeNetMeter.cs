using System.Diagnostics.Metrics;

namespace ComputeNet.Streams;

/// <summary>
/// The one meter every ComputeNet instrument belongs to. prometheus-net names a metric "{meter}_{instrument}", so
/// instruments are named without the "computenet_" prefix the meter's name adds: "telemetry_records_total" is
/// scraped as <c>computenet_telemetry_records_total</c>.
/// </summary>
public static class ComputeNetMeter
{
    public static readonly Meter Instance = new("ComputeNet");
}
