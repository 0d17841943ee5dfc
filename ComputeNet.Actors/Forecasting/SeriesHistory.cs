namespace ComputeNet.Actors.Forecasting;

/// <summary>
/// A fixed-capacity ring of the most recent observations, indexed oldest-first. Stored in single precision: usage
/// aggregates carry far fewer significant digits than a float's seven, and a full history per metric and node is
/// the bulk of a fleet's forecasting memory.
/// </summary>
internal sealed class SeriesHistory
{
    private const int InitialBuffer = 16;
    private float[] _buffer;
    private int _next;

    public SeriesHistory(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        // Grown on demand: one history per model, metric and node adds up to gigabytes for a fleet of 10,000
        // nodes if every buffer starts at full capacity, while most hold a handful of intervals for hours.
        _buffer = new float[Math.Min(capacity, InitialBuffer)];
    }

    public int Capacity { get; }

    public int Length { get; private set; }

    public void Add(double value)
    {
        if (Length == _buffer.Length && _buffer.Length < Capacity) Grow();
        _buffer[_next] = (float)value;
        _next = (_next + 1) % _buffer.Length;
        if (Length < _buffer.Length) Length++;
    }

    /// <summary>0 = oldest kept observation.</summary>
    public double this[int index] => _buffer[(_next - Length + index + 2 * _buffer.Length) % _buffer.Length];

    /// <summary>1 = the latest observation, 2 = the one before, ...</summary>
    public double Back(int stepsBack) => _buffer[(_next - stepsBack + 2 * _buffer.Length) % _buffer.Length];

    /// <summary>Doubles the buffer (up to the capacity), oldest observation first.</summary>
    private void Grow()
    {
        var grown = new float[Math.Min(Capacity, _buffer.Length * 2)];
        for (var i = 0; i < Length; i++) grown[i] = (float)this[i];
        _buffer = grown;
        _next = Length;
    }

    public void Clear()
    {
        Length = 0;
        _next = 0;
    }

    public double[] ToArray() => ToArray(Length);

    /// <summary>The newest <paramref name="newest"/> observations (at most all kept), oldest first.</summary>
    public double[] ToArray(int newest)
    {
        var count = Math.Clamp(newest, 0, Length);
        var copy = new double[count];
        for (var i = 0; i < count; i++) copy[i] = this[Length - count + i];
        return copy;
    }
}
