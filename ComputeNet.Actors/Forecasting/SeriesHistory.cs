namespace ComputeNet.Actors.Forecasting;

/// <summary>A fixed-capacity ring of the most recent observations, indexed oldest-first.</summary>
internal sealed class SeriesHistory
{
    private readonly double[] _buffer;
    private int _next;

    public SeriesHistory(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _buffer = new double[capacity];
    }

    public int Capacity => _buffer.Length;

    public int Length { get; private set; }

    public void Add(double value)
    {
        _buffer[_next] = value;
        _next = (_next + 1) % _buffer.Length;
        if (Length < _buffer.Length) Length++;
    }

    /// <summary>0 = oldest kept observation.</summary>
    public double this[int index] => _buffer[(_next - Length + index + 2 * _buffer.Length) % _buffer.Length];

    /// <summary>1 = the latest observation, 2 = the one before, ...</summary>
    public double Back(int stepsBack) => _buffer[(_next - stepsBack + 2 * _buffer.Length) % _buffer.Length];

    public void Clear()
    {
        Length = 0;
        _next = 0;
    }

    public double[] ToArray()
    {
        var copy = new double[Length];
        for (var i = 0; i < Length; i++) copy[i] = this[i];
        return copy;
    }
}
