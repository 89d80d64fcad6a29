using System.ComponentModel;
using System.Globalization;

namespace DpIqa.Inference;

/// <summary>Where a silo runs its models: <c>Inference:Device</c>, written <c>cpu</c> or <c>cuda</c> (any case).</summary>
[TypeConverter(typeof(InferenceDeviceConverter))]
public enum InferenceDevice
{
    Cpu,
    /// <summary>CUDA device <see cref="InferenceOptions.DeviceId"/>; a silo without a usable CUDA runtime falls back to CPU and logs it once.</summary>
    Cuda,
}

/// <summary>
/// Reads <see cref="InferenceDevice"/> from configuration by name only. The binder's own enum conversion would also
/// take numbers ("7") and lists ("cpu,cuda") and, on a bad value, throw a message naming the CLR type; this one refuses
/// anything but a name with a message <see cref="Hosting.SettingsValidation.Describe"/> turns into the one line.
/// </summary>
internal sealed class InferenceDeviceConverter : EnumConverter
{
    public InferenceDeviceConverter() : base(typeof(InferenceDevice)) { }

    /// <summary>The values a user may write, as docs/configuration.md spells them.</summary>
    public static IReadOnlyList<string> Names { get; } = Enum.GetNames<InferenceDevice>().Select(n => n.ToLowerInvariant()).ToArray();

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
    {
        if (value is not string text) return base.ConvertFrom(context, culture, value);
        var name = text.Trim();
        foreach (var device in Enum.GetValues<InferenceDevice>())
            if (string.Equals(device.ToString(), name, StringComparison.OrdinalIgnoreCase)) return device;
        throw new SettingValueException($"must be one of {string.Join(", ", Names)} (got '{text}')");
    }
}
