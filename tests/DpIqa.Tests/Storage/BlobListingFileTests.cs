using System.Text;
using Azure.Storage.Blobs;
using DpIqa.Storage;
using DpIqa.Tests.Cluster;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Storage;

/// <summary>
/// A listing file in blob storage is read line by line in chunks (it used to be read whole, held in memory three times
/// over for the whole listing): every line still comes back once, in order, whatever chunk boundary it straddles.
/// </summary>
public sealed class BlobListingFileTests(Azurite azurite) : IClassFixture<Azurite>
{
    [SkippableFact]
    public async Task A_listing_file_larger_than_a_read_chunk_lists_every_line_once_in_order()
    {
        Skip.If(azurite.SkipReason is not null, azurite.SkipReason);
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("listing-" + Guid.NewGuid().ToString("N")[..8]);
        await container.CreateAsync();
        // ~9 MB: more than two of the SDK's 4 MB read chunks, with a BOM, CRLF and LF endings, comments, blank lines
        // and no newline after the last line.
        const int lines = 200_000;
        var text = new StringBuilder("\uFEFF# a listing\r\n\r\n");
        for (int i = 0; i < lines; i++) text.Append($"photos/f{i % 7}/img-{i:D7}-{new string('x', i % 40)}.jpg").Append(i % 3 == 0 ? "\r\n" : i == lines - 1 ? "" : "\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        Assert.True(bytes.Length > 8 << 20, "the listing should span several read chunks");
        await container.GetBlobClient("list.txt").UploadAsync(BinaryData.FromBytes(bytes));

        var store = new ObjectStore(Options.Create(new StorageOptions { ConnectionString = azurite.ConnectionString }));
        int n = 0;
        await foreach (var item in store.List([Locations.ListingScheme + Locations.Blob($"{container.Name}/list.txt")]))
        {
            var expected = $"photos/f{n % 7}/img-{n:D7}-{new string('x', n % 40)}.jpg";
            Assert.Equal(expected, item.Path);
            Assert.Equal(Locations.Blob(expected), item.Location);
            n++;
        }
        Assert.Equal(lines, n);
        await container.DeleteAsync();
    }
}
