using DpIqa.Hosting;
using DpIqa.Imaging;
using DpIqa.Inference;
using DpIqa.Jobs;
using DpIqa.Scoring;
using Microsoft.Extensions.Configuration;

namespace DpIqa.Tests.Hosting;

/// <summary>
/// A setting whose value does not convert to its option's type (a word for a number, a fraction for a whole number,
/// anything but true/false for a switch) gets our one line: the key, what the value must be, the value as written;
/// never the configuration binder's own wording.
/// </summary>
public sealed class SettingValueTests
{
    private const string Fix = "; fix it in dpiqa.json/appsettings.json or the environment (Section__Key)";

    [Theory]
    [InlineData("Inference:MaxBatch", "eight", "must be a whole number")]
    [InlineData("Inference:MaxWaitMs", "2.5", "must be a whole number")]
    [InlineData("Inference:AllowSpinning", "yes", "must be true or false")]
    [InlineData("Jobs:LeaseSeconds", "soon", "must be a whole number")]
    [InlineData("Jobs:MaxShardSize", "3000000000", "must be a whole number from -2147483648 to 2147483647")]
    [InlineData("Imaging:MaxBytes", "1e3", "must be a whole number")]
    [InlineData("Imaging:MaxPixels", "99999999999999999999", "must be a whole number from -9223372036854775808 to 9223372036854775807")]
    [InlineData("Scoring:Enabled", "on", "must be true or false")]
    [InlineData("Scoring:ConcurrentShards", "it's 'two'", "must be a whole number")]
    [InlineData("Test:Fraction", "half", "must be a number (such as 0.5)")]
    [InlineData("Test:Wait", "soon", "must be a duration such as 00:00:30 (hh:mm:ss)")]
    public void A_value_that_does_not_convert_is_one_line_naming_the_key_and_the_value(string key, string value, string mustBe)
    {
        var e = Assert.ThrowsAny<InvalidOperationException>(() => BindAll(key, value));
        Assert.Equal($"invalid setting: {key} {mustBe} (got '{value}'){Fix}", SettingsValidation.Describe(e));
    }

    [Fact]
    public void Values_that_convert_bind_as_before()
    {
        var settings = Settings(("Inference:MaxBatch", "8"), ("Scoring:Enabled", "False"), ("Imaging:MaxBytes", "1000"));
        Assert.Equal(8, settings.GetSection(InferenceOptions.Section).Get<InferenceOptions>()!.MaxBatch);
        Assert.False(settings.GetSection(ScoringOptions.Section).Get<ScoringOptions>()!.Enabled);
        Assert.Equal(1000, settings.GetSection(ImageLimits.Section).Get<ImageLimits>()!.MaxBytes);
    }

    [Fact]
    public void Other_failures_are_not_taken_for_a_bad_setting() =>
        Assert.Null(SettingsValidation.Describe(new InvalidOperationException("Failed to convert the job's state")));

    /// <summary>Binds every options class a silo binds at start, and one with the types the silo's options do not use.</summary>
    private static void BindAll(string key, string value)
    {
        var settings = Settings((key, value));
        settings.GetSection(InferenceOptions.Section).Get<InferenceOptions>();
        settings.GetSection(JobOptions.Section).Get<JobOptions>();
        settings.GetSection(ImageLimits.Section).Get<ImageLimits>();
        settings.GetSection(ScoringOptions.Section).Get<ScoringOptions>();
        settings.GetSection("Test").Get<OtherTypes>();
    }

    private static IConfiguration Settings(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    private sealed class OtherTypes
    {
        public double Fraction { get; set; }
        public TimeSpan Wait { get; set; }
    }
}
