using System.Numerics;
using ComputeNet.Actors.Forecasting;
using Shouldly;
using Xunit;

namespace ComputeNet.Tests.Actors.Forecasting;

public sealed class RadixFftTests
{
    [Fact]
    public void Radix2_fft_matches_the_direct_dft()
    {
        var random = new Random(21);
        var input = Enumerable.Range(0, 64).Select(_ => new Complex(random.NextDouble() - 0.5, 0)).ToArray();
        var transformed = (Complex[])input.Clone();
        PeriodicityForecastModel.Radix2Fft(transformed);

        for (var k = 0; k < input.Length; k++)
        {
            var direct = Complex.Zero;
            for (var n = 0; n < input.Length; n++)
                direct += input[n] * Complex.Exp(new Complex(0, -2 * Math.PI * k * n / input.Length));
            transformed[k].Real.ShouldBe(direct.Real, 1e-9);
            transformed[k].Imaginary.ShouldBe(direct.Imaginary, 1e-9);
        }
    }

    [Fact]
    public void Radix2_fft_rejects_lengths_that_are_not_powers_of_two()
    {
        Should.Throw<ArgumentException>(() => PeriodicityForecastModel.Radix2Fft(new Complex[48]));
    }
}
