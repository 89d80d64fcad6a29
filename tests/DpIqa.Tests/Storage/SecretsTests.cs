using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Storage;

/// <summary>Credentials are cut out of the messages that echo locations and storage errors, and locations that carry one are refused.</summary>
public sealed class SecretsTests
{
    private const string Sig = "pX3pTqkZs%2Bw8Uc0b1yQ%2FxE5aHnGk2f3R9s7vL0mYtQ%3D";
    private const string Key = "Zm9vYmFyYmF6cXV4Cg+/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH==";

    [Fact]
    public void Signature_and_key_values_are_redacted_and_the_rest_is_kept()
    {
        var message = $"cannot read https://acct.blob.core.windows.net/data/a.jpg?sv=2024-08-04&ss=b&sig={Sig}&se=2030-01-01: 403\n" +
                      $"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={Key};EndpointSuffix=core.windows.net";
        var redacted = Secrets.Redact(message);
        Assert.DoesNotContain(Sig, redacted);
        Assert.DoesNotContain(Key[..12], redacted);
        Assert.Contains("sig=REDACTED&se=2030-01-01", redacted);
        Assert.Contains("AccountKey=REDACTED;EndpointSuffix", redacted);
        Assert.Contains("https://acct.blob.core.windows.net/data/a.jpg?sv=2024-08-04", redacted);
        Assert.Equal("a signature is needed (design=1)", Secrets.Redact("a signature is needed (design=1)"));
    }

    [Fact]
    public async Task A_source_or_output_that_carries_a_credential_is_refused_without_echoing_it()
    {
        var store = new ObjectStore(Options.Create(new StorageOptions()));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => store.ValidateSources([Locations.Blob($"data/in?sv=2024-08-04&sig={Sig}")]));
        Assert.Contains("carries a credential", e.Message);
        Assert.DoesNotContain(Sig, e.Message);
        e = await Assert.ThrowsAsync<ArgumentException>(() => store.PrepareOutput(Locations.Blob($"data/out?sig={Sig}")));
        Assert.DoesNotContain(Sig, e.Message);
    }
}
