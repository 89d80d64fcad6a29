using DpIqa.Inference;

namespace DpIqa.Tests.Inference;

/// <summary>
/// The settings a GPU silo gives ONNX Runtime's CUDA provider: TF32 is off unless Inference:CudaTf32 asks for it, since
/// ONNX Runtime's own default is on and moved scores by ~2e-3 on a lent H200. (ONNX Runtime builds the options object
/// only where the CUDA libraries load, so this machine checks the settings; CudaFallbackTests checks that a silo
/// without CUDA still falls back to the CPU through that path.)
/// </summary>
public sealed class CudaProviderOptionsTests
{
    [Theory]
    [InlineData(false, 0, "0")]
    [InlineData(true, 0, "1")]
    [InlineData(false, 1, "0")]
    public void The_provider_gets_the_device_and_tf32_setting(bool tf32, int deviceId, string expectedTf32)
    {
        var settings = ModelSession.CudaProviderSettings(new InferenceOptions { Device = InferenceDevice.Cuda, DeviceId = deviceId, CudaTf32 = tf32 });
        Assert.Equal(expectedTf32, settings["use_tf32"]);
        Assert.Equal($"{deviceId}", settings["device_id"]);
    }

    [Fact]
    public void Tf32_is_off_by_default() => Assert.False(new InferenceOptions().CudaTf32);
}
