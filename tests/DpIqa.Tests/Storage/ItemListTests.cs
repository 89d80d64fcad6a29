using System.Text;
using DpIqa.Storage;

namespace DpIqa.Tests.Storage;

/// <summary>
/// Item lists are stored gzipped (writing them is what caps a large job's listing on blob storage); every item comes
/// back as written, and a list written before they were gzipped (plain JSON lines) is still read.
/// </summary>
public sealed class ItemListTests
{
    [Fact]
    public void Every_item_comes_back_in_order_with_its_location_path_and_version()
    {
        var items = Enumerable.Range(0, 1000).Select(i => new SourceItem(
            Locations.Blob($"photos/f{i % 100:D2}/img-{i:D8}.jpg"),
            i == 7 ? "f07/ünïcode \"quoted\"\n name.jpg" : $"f{i % 100:D2}/img-{i:D8}.jpg",
            i % 3 == 0 ? null : $"0x8DC{i:X8}")).ToList();

        var decoded = ItemList.Decode(ItemList.Encode(items));

        Assert.Equal(items, decoded);
    }

    [Fact]
    public void A_list_is_stored_much_smaller_than_its_json_lines()
    {
        var items = Enumerable.Range(0, 1000).Select(i => new SourceItem(Locations.Blob($"images/f{i % 100:D2}/img-{i:D8}.jpg"), $"f{i % 100:D2}/img-{i:D8}.jpg")).ToList();
        int text = items.Sum(i => Encoding.UTF8.GetByteCount($"{{\"Path\":\"{i.Path}\",\"Location\":\"{i.Location}\"}}\n"));

        int stored = ItemList.Encode(items).Length;

        Assert.True(stored * 4 < text, $"{stored} bytes stored for {text} bytes of JSON lines");
    }

    [Fact]
    public void A_list_written_as_plain_json_lines_is_still_read()
    {
        var plain = "{\"Path\":\"a/1.jpg\",\"Location\":\"/data/a/1.jpg\",\"Version\":\"12-34\"}\n{\"Path\":\"b/2.jpg\",\"Location\":\"blob:c/b/2.jpg\",\"Version\":null}\n";

        var decoded = ItemList.Decode(Encoding.UTF8.GetBytes(plain));

        Assert.Equal([new SourceItem("/data/a/1.jpg", "a/1.jpg", "12-34"), new SourceItem("blob:c/b/2.jpg", "b/2.jpg")], decoded);
    }

    [Fact]
    public void An_empty_list_round_trips()
    {
        Assert.Empty(ItemList.Decode(ItemList.Encode([])));
    }
}
