using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ComputeNet.Actors.Placement.Learning;

/// <summary>
/// The Adam update (Kingma and Ba, 2015: moment decay 0.9 / 0.999, ε 1e-8, bias-corrected) over a model's parameters.
/// Written here rather than using <c>optim.Adam</c> because TorchSharp's step passes temporary implicit Scalars to native
/// calls, and under GC pressure one can be finalised while the call still reads it (seen in parallel test runs as a
/// libtorch "toFloat" assertion inside Adam.step); every Scalar here is held until the calls using it return.
/// </summary>
internal sealed class AdamUpdate : IDisposable
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-8;

    private readonly Parameter[] _parameters;
    private readonly Tensor[] _firstMoments;
    private readonly Tensor[] _secondMoments;
    private readonly double _learningRate;
    private readonly Scalar _beta1 = Beta1;
    private readonly Scalar _oneMinusBeta1 = 1 - Beta1;
    private readonly Scalar _beta2 = Beta2;
    private readonly Scalar _oneMinusBeta2 = 1 - Beta2;
    private readonly Scalar _epsilon = Epsilon;
    private int _steps;

    public AdamUpdate(IEnumerable<Parameter> parameters, double learningRate)
    {
        _parameters = [.. parameters];
        _learningRate = learningRate;
        _firstMoments = [.. _parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
        _secondMoments = [.. _parameters.Select(p => zeros_like(p).DetachFromDisposeScope())];
    }

    public void ZeroGrad()
    {
        foreach (var parameter in _parameters) parameter.grad?.zero_();
    }

    public void Step()
    {
        _steps++;
        using var noGrad = no_grad();
        using var stepSize = (-_learningRate / (1 - Math.Pow(Beta1, _steps))).ToScalar();
        using var secondCorrection = Math.Sqrt(1 - Math.Pow(Beta2, _steps)).ToScalar();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var grad = _parameters[i].grad;
            if (grad is null) continue;
            _firstMoments[i].mul_(_beta1).add_(grad, _oneMinusBeta1);
            _secondMoments[i].mul_(_beta2).addcmul_(grad, grad, _oneMinusBeta2);
            using var denominator = _secondMoments[i].sqrt().div_(secondCorrection).add_(_epsilon);
            _parameters[i].addcdiv_(_firstMoments[i], denominator, stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var moment in _firstMoments.Concat(_secondMoments)) moment.Dispose();
        foreach (var scalar in new[] { _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _epsilon }) scalar.Dispose();
    }
}
