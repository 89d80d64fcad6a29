namespace DpIqa.Inference;

/// <summary>
/// A setting whose text does not convert to its type, thrown by our type converters with a message that says which
/// values are allowed (e.g. "must be one of cpu, cuda (got 'gpu')"). The configuration binder wraps it with the key;
/// <see cref="Hosting.SettingsValidation.Describe"/> puts the two together as one line.
/// </summary>
public sealed class SettingValueException(string message) : FormatException(message);
