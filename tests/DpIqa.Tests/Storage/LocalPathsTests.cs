using DpIqa.Storage;
using Microsoft.Extensions.Options;

namespace DpIqa.Tests.Storage;

/// <summary>
/// The rules for local paths on cluster silos, on real temp folders and real symbolic links: paths under
/// Storage:LocalRoots are used by their real path; '..', relative paths, paths outside the roots and links that
/// lead out (also through missing or dangling parts) are refused with one line; the embedded silo accepts anything.
/// </summary>
public sealed class LocalPathsTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly string _root;
    private readonly string _outside;

    public LocalPathsTests()
    {
        _root = Directory.CreateDirectory(Path.Combine(_dir.Path, "root")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_dir.Path, "outside")).FullName;
        File.WriteAllText(Path.Combine(_outside, "secret.jpg"), "outside the root");
        Directory.CreateDirectory(Path.Combine(_root, "photos"));
        File.Copy(Path.Combine(RepoPaths.Photos, "skimage-chelsea.png"), Path.Combine(_root, "photos", "cat.png"));
    }

    public void Dispose() => _dir.Dispose();

    private LocalPaths Confined => LocalPaths.Under([_root]);

    private string In(params string[] parts) => Path.Combine([_root, .. parts]);

    [Fact]
    public void Files_and_folders_under_a_root_are_accepted_by_their_real_path()
    {
        Assert.Equal(In("photos", "cat.png"), Confined.Validate(In("photos", "cat.png")));
        Assert.Equal(In("photos"), Confined.Validate(In("photos")));
        Assert.Equal(_root, Confined.Validate(_root));
        // An output folder that does not exist yet: the deepest existing ancestor decides.
        Assert.Equal(In("results", "job-1"), Confined.Validate(In("results", "job-1")));
        Assert.Equal(In("photos", "cat.png"), Confined.Resolve(In("photos", ".", "cat.png")));
    }

    [Fact]
    public void Dot_dot_is_refused_even_when_it_stays_inside()
    {
        var e = Assert.Throws<ArgumentException>(() => Confined.Validate(In("photos", "..", "photos", "cat.png")));
        Assert.Contains("'..'", e.Message);
        Assert.Throws<ArgumentException>(() => Confined.Validate(In("..", "outside", "secret.jpg")));
    }

    [Fact]
    public void Paths_outside_the_roots_and_relative_paths_are_refused_with_one_line_naming_the_setting()
    {
        var e = Assert.Throws<ArgumentException>(() => Confined.Validate(Path.Combine(_outside, "secret.jpg")));
        Assert.Contains("outside Storage:LocalRoots", e.Message);
        Assert.Contains(_root, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<ArgumentException>(() => Confined.Validate("/etc/passwd"));
        // A sibling whose name starts with the root's name is not under it.
        Directory.CreateDirectory(_root + "2");
        Assert.Throws<ArgumentException>(() => Confined.Validate(Path.Combine(_root + "2", "x.jpg")));
        Assert.Contains("not absolute", Assert.Throws<ArgumentException>(() => Confined.Validate(Path.Combine("root", "photos"))).Message);
    }

    [Fact]
    public void Links_that_lead_out_are_refused_files_folders_dangling_and_relative_ones()
    {
        File.CreateSymbolicLink(In("photos", "leak.jpg"), Path.Combine(_outside, "secret.jpg"));
        Directory.CreateSymbolicLink(In("elsewhere"), _outside);
        File.CreateSymbolicLink(In("dangling.jpg"), Path.Combine(_outside, "not-there-yet.jpg"));
        File.CreateSymbolicLink(In("photos", "up.jpg"), Path.Combine("..", "..", "outside", "secret.jpg"));

        var e = Assert.Throws<ArgumentException>(() => Confined.Validate(In("photos", "leak.jpg")));
        Assert.Contains("symbolic link", e.Message);
        Assert.Throws<ArgumentException>(() => Confined.Validate(In("elsewhere")));
        Assert.Throws<ArgumentException>(() => Confined.Validate(In("elsewhere", "secret.jpg")));
        // A folder to create below a link that leads out would be created outside.
        Assert.Throws<ArgumentException>(() => Confined.Validate(In("elsewhere", "new", "results")));
        // Writing through a dangling link would create the file outside.
        Assert.Throws<ArgumentException>(() => Confined.Validate(In("dangling.jpg")));
        Assert.Throws<ArgumentException>(() => Confined.Validate(In("photos", "up.jpg")));
        // While a job runs the same refusal is an access error (the scoring worker records it as a 'fetch' error).
        Assert.Throws<UnauthorizedAccessException>(() => Confined.Resolve(In("photos", "leak.jpg")));
    }

    [Fact]
    public void Links_that_stay_under_the_roots_are_followed_and_a_root_may_itself_be_a_link()
    {
        File.CreateSymbolicLink(In("best.png"), Path.Combine("photos", "cat.png"));
        Assert.Equal(In("photos", "cat.png"), Confined.Validate(In("best.png")));

        var rootLink = Path.Combine(_dir.Path, "root-link");
        Directory.CreateSymbolicLink(rootLink, _root);
        var viaLink = LocalPaths.Under([rootLink]);
        Assert.Equal(In("photos", "cat.png"), viaLink.Validate(Path.Combine(rootLink, "photos", "cat.png")));
        Assert.Equal(In("photos", "cat.png"), viaLink.Validate(In("photos", "cat.png")));
    }

    [Fact]
    public void A_link_loop_is_refused()
    {
        File.CreateSymbolicLink(In("loop-a"), In("loop-b"));
        File.CreateSymbolicLink(In("loop-b"), In("loop-a"));
        Assert.Contains("symbolic links", Assert.Throws<ArgumentException>(() => Confined.Validate(In("loop-a", "x.jpg"))).Message);
    }

    [Fact]
    public void Without_roots_a_cluster_silo_refuses_every_local_path_and_says_what_to_set()
    {
        var e = Assert.Throws<ArgumentException>(() => LocalPaths.Under([]).Validate(In("photos", "cat.png")));
        Assert.Contains("set Storage:LocalRoots", e.Message);
        Assert.Contains("blob storage", e.Message);
    }

    [Fact]
    public void The_embedded_silo_accepts_any_local_path()
    {
        var path = In("..", "outside", "secret.jpg");
        Assert.Equal(path, LocalPaths.Any.Validate(path));
        Assert.Equal("relative/x.jpg", LocalPaths.Any.Resolve("relative/x.jpg"));
    }

    [Fact]
    public async Task A_confined_store_refuses_sources_outputs_and_reads_outside_and_stops_listing_at_a_folder_link_that_leads_out()
    {
        var store = new ObjectStore(Options.Create(new StorageOptions()), Confined);
        await store.ValidateSources([In("photos")]);
        await store.PrepareOutput(In("out"));
        Assert.True(Directory.Exists(In("out")));
        Assert.Equal(await File.ReadAllBytesAsync(In("photos", "cat.png")), await store.Read(In("photos", "cat.png")));

        await Assert.ThrowsAsync<ArgumentException>(() => store.ValidateSources([_outside]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ValidateSources([Locations.ListingScheme + Path.Combine(_outside, "list.txt")]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PrepareOutput(Path.Combine(_outside, "out")));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => store.Read(Path.Combine(_outside, "secret.jpg")));
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => store.WriteWhole(Path.Combine(_outside, "planted.txt"), new byte[] { 1 }));
        Assert.False(File.Exists(Path.Combine(_outside, "planted.txt")));

        Directory.CreateSymbolicLink(In("photos", "more"), _outside);
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => { await foreach (var _ in store.List([In("photos")])) { } });
        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public async Task The_store_the_cli_builds_reads_any_local_path()
    {
        var store = new ObjectStore(Options.Create(new StorageOptions()));
        Assert.Equal("outside the root"u8.ToArray(), await store.Read(Path.Combine(_outside, "secret.jpg")));
    }
}
