namespace DpIqa.Tests.Docs;

/// <summary>
/// The README and docs/ as a reader meets them: every relative link and anchor leads somewhere, and every shell block
/// marked runnable (<c>&lt;!-- runnable --&gt;</c> before a ```sh block) runs as pasted in a clone of the repository.
/// </summary>
public sealed class DocsLinkTests
{
    private static readonly string Root = RepoPaths.Root;

    private static string? Read(string relative) => File.Exists(RepoPaths.Of(relative)) ? File.ReadAllText(RepoPaths.Of(relative)) : null;

    private static bool Exists(string relative) => File.Exists(RepoPaths.Of(relative)) || Directory.Exists(RepoPaths.Of(relative));

    [Fact]
    public void Every_relative_link_and_anchor_in_the_readme_and_docs_resolves()
    {
        var problems = MarkdownDocs.BrokenLinks(MarkdownDocs.Pages(Root), Read, Exists);
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_command_in_a_runnable_block_exists_here()
    {
        var problems = new List<string>();
        var blocks = MarkdownDocs.Pages(Root).SelectMany(p => MarkdownDocs.RunnableBlocks(p, Read(p)!)).ToList();
        foreach (var (page, commands) in blocks)
            for (int i = 0; i < commands.Count; i++)
                if (MarkdownDocs.WhyNotRunnable(commands[i], commands.Take(i).ToList(), Exists) is { } why)
                    problems.Add($"{page}: `{commands[i]}`: {why}");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.NotEmpty(blocks);
    }

    [Fact]
    public void The_quickstart_and_the_demos_are_marked_runnable()
    {
        var runnable = MarkdownDocs.Pages(Root).SelectMany(p => MarkdownDocs.RunnableBlocks(p, Read(p)!)).SelectMany(b => b.Commands).ToHashSet();
        var readme = MarkdownDocs.RunnableBlocks("README.md", Read("README.md")!).SelectMany(b => b.Commands).ToList();
        Assert.Contains("dotnet run --project Client -- score samples/photos --out out/quickstart", readme);
        Assert.Contains("dotnet test DpIqa.Cluster.sln", readme);
        foreach (var demo in new[] { "scripts/local-cluster.sh", "scripts/nightly-demo.sh", "scripts/scale-demo.sh" })
            Assert.Contains(demo, runnable);
    }

    [Fact]
    public void Anchors_follow_githubs_rules()
    {
        Assert.Equal("fast-preprocessing---preprocess-fast", MarkdownDocs.Slug("Fast preprocessing (`--preprocess fast`)"));
        Assert.Equal("dp-iqas-preprocessing-bit-for-bit", MarkdownDocs.Slug("DP-IQA's preprocessing, bit for bit"));
        Assert.Equal("the-dpiqa-command-line", MarkdownDocs.Slug("The `dpiqa` command line"));
        var anchors = MarkdownDocs.Anchors("## Tests\n```\n# not a heading\n```\n### Tests\n# B_C\n");
        Assert.Equal(["b_c", "tests", "tests-1"], anchors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_checks_find_a_broken_link_a_broken_anchor_and_a_command_that_is_not_there()
    {
        var pages = new Dictionary<string, string>
        {
            ["README.md"] = "# Title\n[ok](docs/a.md#part) [bad anchor](docs/a.md#nope) [missing](docs/gone.md) [web](https://example.org/x#y)\n",
            ["docs/a.md"] = "# A\n## Part\n[back](../README.md#title) [self](#part) [self bad](#title-1)\n```\n[in code](nowhere.md)\n```\n",
        };
        var problems = MarkdownDocs.BrokenLinks(pages.Keys, p => pages.GetValueOrDefault(p), pages.ContainsKey);
        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("README.md: links to docs/a.md#nope", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("README.md: links to docs/gone.md", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("docs/a.md: links to #title-1", StringComparison.Ordinal));

        var block = MarkdownDocs.RunnableBlocks("x.md", "<!-- runnable -->\n```sh\ndotnet build -c Release Client\ndotnet Client/bin/Release/net10.0/dpiqa.dll score x\ndpiqa job list\nscripts/nope.sh\nBLOB_PORT=1 scripts/local-cluster.sh\n```\n").Single().Commands;
        var verdicts = block.Select((c, i) => MarkdownDocs.WhyNotRunnable(c, block.Take(i).ToList(), Exists)).ToList();
        Assert.Null(verdicts[0]);
        Assert.Null(verdicts[1]);
        Assert.Contains("'dpiqa' is not a command", verdicts[2]);
        Assert.Contains("scripts/nope.sh does not exist", verdicts[3]);
        Assert.Null(verdicts[4]);
        Assert.Contains("only there after 'dotnet build Client'", MarkdownDocs.WhyNotRunnable("dotnet Client/bin/Release/net10.0/dpiqa.dll", [], Exists));
    }
}
