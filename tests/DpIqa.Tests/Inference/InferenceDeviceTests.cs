using DpIqa.Hosting;
using DpIqa.Inference;
using Microsoft.Extensions.Configuration;

namespace DpIqa.Tests.Inference;

/// <summary>
/// <c>Inference:Device</c> is bound from configuration as <see cref="InferenceDevice"/>: a device name in any case is
/// taken, anything else (a wrong name, a number, a list) is refused with the one line that names the key and the values.
/// </summary>
public sealed class InferenceDeviceTests
{
    private static InferenceOptions Bind(string device) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Inference:Device"] = device }).Build()
            .GetSection(InferenceOptions.Section).Get<InferenceOptions>()!;

    [Theory]
    [InlineData("cpu", InferenceDevice.Cpu)]
    [InlineData("CPU", InferenceDevice.Cpu)]
    [InlineData("cuda", InferenceDevice.Cuda)]
    [InlineData("Cuda", InferenceDevice.Cuda)]
    [InlineData(" cuda ", InferenceDevice.Cuda)]
    public void A_device_name_in_any_case_is_bound(string written, InferenceDevice expected) =>
        Assert.Equal(expected, Bind(written).Device);

    [Theory]
    [InlineData("gpu")]
    [InlineData("1")]
    [InlineData("cpu,cuda")]
    public void Anything_else_is_refused_with_one_line_naming_the_key_and_the_values(string written)
    {
        var e = Assert.ThrowsAny<Exception>(() => Bind(written));
        Assert.Equal($"invalid setting: Inference:Device must be one of cpu, cuda (got '{written}'); fix it in dpiqa.json/appsettings.json or the environment (Section__Key)",
            SettingsValidation.Describe(e));
    }
}
