using System.Diagnostics;
using System.Text.Json.Nodes;
using DpIqa.Scoring;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace DpIqa.Tests.Deployment;

/// <summary>
/// Renders each kustomize overlay with <c>kubectl kustomize</c> (Debian's kubectl, installed by .ci/run) and checks
/// from the rendered objects what the deployment promises: probes on the health endpoints, a grace period longer than
/// the drain, no service-account token, the NetworkPolicy's sources, GPU scheduling, and KEDA scaling the GPU pool
/// on /scaling from zero.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static List<JsonObject> Render(string overlay)
    {
        var kubectl = new[] { "/usr/bin/kubectl", "/usr/local/bin/kubectl" }.FirstOrDefault(File.Exists);
        if (kubectl is null) throw new SkipException(Dependency.Missing("kubectl is not installed (Debian package kubectl; .ci/run installs it)"));
        var psi = new ProcessStartInfo(kubectl!) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("kustomize");
        psi.ArgumentList.Add(RepoPaths.Of($"k8s/overlays/{overlay}"));
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var yaml = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"kubectl kustomize k8s/overlays/{overlay} failed: {stderr.Result}");
        var toJson = new SerializerBuilder().JsonCompatible().Build();
        var documents = new List<JsonObject>();
        var deserializer = new DeserializerBuilder().Build();
        using var reader = new StringReader(yaml);
        var parser = new Parser(reader);
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = deserializer.Deserialize<object>(parser);
            if (document is not null) documents.Add(JsonNode.Parse(toJson.Serialize(document))!.AsObject());
        }
        return documents;
    }

    private static JsonObject One(List<JsonObject> objects, string kind, string name) =>
        Assert.Single(objects, o => (string?)o["kind"] == kind && (string?)o["metadata"]!["name"] == name);

    private static string? Env(JsonObject container, string name) =>
        container["env"]!.AsArray().FirstOrDefault(e => (string?)e!["name"] == name)?["value"]?.GetValue<string>();

    private static int Int(JsonNode? node) => int.Parse(node!.GetValue<string>());

    /// <summary>What every silo Deployment must have, whatever the overlay.</summary>
    private static void CheckSilo(JsonObject deployment, JsonObject config)
    {
        var pod = deployment["spec"]!["template"]!["spec"]!.AsObject();
        var container = pod["containers"]![0]!.AsObject();
        Assert.Equal("/healthz/ready", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("/healthz/live", (string?)container["livenessProbe"]!["httpGet"]!["path"]);
        Assert.Equal("http", (string?)container["readinessProbe"]!["httpGet"]!["port"]);
        Assert.Contains(container["ports"]!.AsArray(), p => (string?)p!["name"] == "http" && Int(p["containerPort"]) == Int(config["data"]!["Http__Port"]));
        Assert.True(Int(pod["terminationGracePeriodSeconds"]) > Int(config["data"]!["Scoring__DrainSeconds"]) + 15,
            "terminationGracePeriodSeconds must exceed the drain time plus the time to leave the cluster");
        Assert.Equal("dpiqa-silo", (string?)pod["serviceAccountName"]);
        // glibc's arena limit from the process's start (NativeHeap sets it only after the runtime's first threads).
        Assert.Equal(NativeHeap.DefaultArenas.ToString(System.Globalization.CultureInfo.InvariantCulture), Env(container, NativeHeap.ArenaVariable));
        Assert.Equal("false", (string?)pod["automountServiceAccountToken"]);
        // Models come from the blob catalog (Models__Source) into an emptyDir cache at Models__CachePath: no model volume.
        Assert.StartsWith("blob:", (string?)config["data"]!["Models__Source"]);
        var cache = Assert.Single(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == "model-cache")!;
        Assert.NotNull(cache["emptyDir"]);
        Assert.DoesNotContain(pod["volumes"]!.AsArray(), v => v!["persistentVolumeClaim"] is not null);
        var mount = Assert.Single(container["volumeMounts"]!.AsArray(), m => (string?)m!["name"] == "model-cache")!;
        Assert.Equal((string?)config["data"]!["Models__CachePath"], (string?)mount["mountPath"]);
        // Mutual TLS and the token signing key come from Secrets, mounted where the config map points (docs/security.md);
        // the container scopes are written out, never left to a default.
        foreach (var (volume, secret, key) in new[] { ("tls", "dpiqa-silo-tls", "Tls__Certificate"), ("tls", "dpiqa-silo-tls", "Tls__Ca"), ("signing-key", "dpiqa-signing-key", "Security__SigningKeyFile") })
        {
            var secretVolume = Assert.Single(pod["volumes"]!.AsArray(), v => (string?)v!["name"] == volume)!;
            Assert.Equal(secret, (string?)secretVolume["secret"]!["secretName"]);
            var secretMount = Assert.Single(container["volumeMounts"]!.AsArray(), m => (string?)m!["name"] == volume)!;
            Assert.StartsWith((string?)secretMount["mountPath"] + "/", (string?)config["data"]![key]);
        }
        Assert.NotNull((string?)config["data"]!["Security__ReadContainers"]);
        Assert.NotNull((string?)config["data"]!["Security__WriteContainers"]);
    }

    private static void CheckCommon(List<JsonObject> objects)
    {
        Assert.All(objects.Where(o => (string?)o["kind"] != "Namespace"), o => Assert.Equal("dpiqa", (string?)o["metadata"]!["namespace"]));
        var account = One(objects, "ServiceAccount", "dpiqa-silo");
        Assert.Equal("false", (string?)account["automountServiceAccountToken"]);

        var policy = One(objects, "NetworkPolicy", "dpiqa-silo")["spec"]!;
        Assert.Equal("dpiqa-silo", (string?)policy["podSelector"]!["matchLabels"]!["app"]);
        var rules = policy["ingress"]!.AsArray().Select(r => r!.AsObject()).ToList();
        JsonObject RuleFor(int port) => Assert.Single(rules, r => r["ports"]!.AsArray().Any(p => Int(p!["port"]) == port));
        Assert.All(RuleFor(30000)["from"]!.AsArray(), f => Assert.Equal("true", (string?)f!["namespaceSelector"]!["matchLabels"]!["dpiqa.io/gateway-client"]));
        var httpSources = RuleFor(8080)["from"]!.AsArray().Select(f => (string?)f!["namespaceSelector"]?["matchLabels"]?["kubernetes.io/metadata.name"]).ToList();
        Assert.Contains("monitoring", httpSources);
        Assert.All(httpSources, s => Assert.Contains(s, new[] { "monitoring", "keda" })); // no podSelector-only or open rule
        Assert.All(RuleFor(11111)["from"]!.AsArray(), f => Assert.Equal("dpiqa-silo", (string?)f!["podSelector"]!["matchLabels"]!["app"]));
    }

    [Fact]
    public void The_silo_image_sets_the_arena_limit_too()
    {
        // Containers run outside kustomize as well (docker run, other orchestrators): the image carries the limit.
        var dockerfile = File.ReadAllLines(RepoPaths.Of("Silo/Dockerfile")).Select(l => l.Trim());
        Assert.Contains($"ENV {NativeHeap.ArenaVariable}={NativeHeap.DefaultArenas}", dockerfile);
    }

    [SkippableFact]
    public void The_local_overlay_is_one_cpu_silo_that_scores()
    {
        var objects = Render("local");
        CheckCommon(objects);
        var config = One(objects, "ConfigMap", (string)objects.Single(o => (string?)o["kind"] == "ConfigMap")["metadata"]!["name"]!);
        var deployments = objects.Where(o => (string?)o["kind"] == "Deployment").ToList();
        var silo = Assert.Single(deployments);
        CheckSilo(silo, config);
        Assert.Equal(1, Int(silo["spec"]!["replicas"]));
        var container = silo["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();
        Assert.Equal("true", Env(container, "Scoring__Enabled"));
        Assert.Equal("cpu", Env(container, "Inference__Device"));
        Assert.Null(container["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.DoesNotContain(objects, o => (string?)o["kind"] is "ScaledObject" or "HorizontalPodAutoscaler");
    }

    [SkippableFact]
    public void The_production_overlay_scales_a_gpu_pool_from_zero_on_the_work_waiting()
    {
        var objects = Render("production");
        CheckCommon(objects);
        var config = objects.Single(o => (string?)o["kind"] == "ConfigMap");
        var cpu = One(objects, "Deployment", "silo-cpu");
        var gpu = One(objects, "Deployment", "silo-gpu");
        CheckSilo(cpu, config);
        CheckSilo(gpu, config);
        Assert.Equal("false", Env(cpu["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject(), "Scoring__Enabled"));

        var gpuPod = gpu["spec"]!["template"]!["spec"]!.AsObject();
        var gpuContainer = gpuPod["containers"]![0]!.AsObject();
        Assert.Equal("true", Env(gpuContainer, "Scoring__Enabled"));
        Assert.Equal("1", (string?)gpuContainer["resources"]!["requests"]!["nvidia.com/gpu"]);
        Assert.Equal("1", (string?)gpuContainer["resources"]!["limits"]!["nvidia.com/gpu"]);
        Assert.Contains(gpuPod["tolerations"]!.AsArray(), t => (string?)t!["key"] == "nvidia.com/gpu");
        Assert.NotNull(gpuPod["nodeSelector"]);
        Assert.Null(gpu["spec"]!["replicas"]); // the autoscaler's

        var scaled = One(objects, "ScaledObject", "silo-gpu")["spec"]!;
        Assert.Equal("silo-gpu", (string?)scaled["scaleTargetRef"]!["name"]);
        Assert.Equal(0, Int(scaled["minReplicaCount"]));
        Assert.True(Int(scaled["cooldownPeriod"]) > 0);
        var trigger = Assert.Single(scaled["triggers"]!.AsArray())!;
        Assert.Equal("metrics-api", (string?)trigger["type"]);
        Assert.Equal("pendingShards", (string?)trigger["metadata"]!["valueLocation"]);
        Assert.Equal("AverageValue", (string?)trigger["metricType"]);
        var url = new Uri((string)trigger["metadata"]!["url"]!);
        Assert.Equal("/scaling", url.AbsolutePath);
        // The URL names the HTTP Service of this deployment, on its port.
        var service = One(objects, "Service", url.Host.Split('.')[0]);
        Assert.Equal("dpiqa", url.Host.Split('.')[1]);
        Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => Int(p!["port"]) == url.Port);
        // KEDA's operator may read /scaling through the NetworkPolicy.
        var rules = One(objects, "NetworkPolicy", "dpiqa-silo")["spec"]!["ingress"]!.AsArray();
        Assert.Contains(rules, r => r!["ports"]!.AsArray().Any(p => Int(p!["port"]) == url.Port)
            && r["from"]!.AsArray().Any(f => (string?)f!["namespaceSelector"]?["matchLabels"]?["kubernetes.io/metadata.name"] == "keda"));
        Assert.Single(objects, o => (string?)o["kind"] == "PodDisruptionBudget");
    }

    [SkippableFact]
    public void The_hpa_alternative_replaces_keda_by_a_plain_autoscaler()
    {
        var objects = Render("production-hpa");
        CheckCommon(objects);
        Assert.DoesNotContain(objects, o => (string?)o["kind"] == "ScaledObject");
        var hpa = One(objects, "HorizontalPodAutoscaler", "silo-gpu")["spec"]!;
        Assert.Equal("silo-gpu", (string?)hpa["scaleTargetRef"]!["name"]);
        Assert.True(Int(hpa["minReplicas"]) >= 1); // a plain HPA cannot scale to zero
        Assert.Equal("External", (string?)hpa["metrics"]![0]!["type"]);
    }
}
