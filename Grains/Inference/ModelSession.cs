using DpIqa.Imaging;
using DpIqa.Models;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace DpIqa.Inference;

/// <summary>
/// One ONNX Runtime session for one model on this silo, behind a <see cref="DynamicBatcher"/>: a batch runs when
/// <see cref="InferenceOptions.MaxBatch"/> images are waiting or the first has waited <see cref="InferenceOptions.MaxWaitMs"/>.
/// The input tensor of each run loop is allocated once and reused.
/// A model computed in C# (the built-in BRISQUE, <see cref="Native"/>) has neither: the scorer calls
/// <see cref="ScoreNative"/> on the full-size image, on the decoding core (no batching: it is per-image CPU work).
/// </summary>
internal sealed partial class ModelSession : IAsyncDisposable
{
    private readonly InferenceSession? _session;
    private readonly DynamicBatcher? _batcher;
    private readonly string _inputName, _outputName;
    private readonly bool _uint8Input;
    private readonly (int MaxBatch, int ConcurrentRuns, int IntraOpThreads) _settings;
    private readonly RunOptions _runOptions = new();

    public ModelManifest Manifest { get; }
    public string Device { get; }
    public long LastUsedTicks;

    /// <summary>Whether the model is computed in C# from the full-size image (<see cref="ScoreNative"/>) instead of an ONNX graph.</summary>
    public bool Native { get; }

    /// <summary>The memory this model was estimated to need when it was loaded (<see cref="ModelMemory"/>).</summary>
    public long MemoryEstimate { get; }

    /// <param name="model">The model to load.</param>
    /// <param name="options">The silo's inference settings with the model's own (<c>Models:NAME:*</c>) put over them.</param>
    /// <param name="logger">Where the load and the settings in effect are logged.</param>
    /// <param name="loadedBytes">What the models already loaded on this silo are estimated to need (the memory check).</param>
    /// <param name="settingsSource">Where the settings come from, for the log.</param>
    public ModelSession(ResolvedModel model, InferenceOptions options, ILogger logger, long loadedBytes = 0, string settingsSource = "Inference:*")
    {
        Manifest = model.Manifest;
        LastUsedTicks = Environment.TickCount64;
        if (model.Native)
        {
            // Only the built-in BRISQUE is native; loading it here makes a broken resource fail the first shard, not each image.
            _ = Models.Brisque.BrisqueModel.Shared;
            (Native, Device, _inputName, _outputName) = (true, "cpu", "", "");
            Log.Loaded(logger, Manifest.Name, Manifest.Version, "cpu (C#, per image)");
            return;
        }
        // Before anything is fetched or loaded: a model this silo cannot hold fails here, in words, not by an OOM kill.
        MemoryEstimate = ModelMemory.Check(Manifest, model.FileBytes(), options, loadedBytes);
        (_session, Device) = CreateSession(model, options, logger);
        _inputName = Manifest.Input;
        _outputName = Manifest.Output;
        _uint8Input = Manifest.InputType switch
        {
            "float32" => false,
            "uint8" => true,
            _ => throw new InvalidOperationException($"model '{Manifest.Name}': input_dtype '{Manifest.InputType}' is not supported (float32 NCHW or uint8 NHWC)"),
        };
        if (Manifest.Preprocessing is not (ModelManifest.DpIqaPreprocessing or ModelManifest.DpIqaPreprocessingUint8))
            throw new InvalidOperationException($"model '{Manifest.Name}': preprocessing '{Manifest.Preprocessing}' is not one this cluster implements ({ModelManifest.DpIqaPreprocessing}, {ModelManifest.DpIqaPreprocessingUint8})");
        if (!_session.InputMetadata.ContainsKey(_inputName))
            throw new InvalidOperationException($"model '{Manifest.Name}' has no input named '{_inputName}' (it has {string.Join(", ", _session.InputMetadata.Keys)})");
        if (!_session.OutputMetadata.ContainsKey(_outputName))
            throw new InvalidOperationException($"model '{Manifest.Name}' has no output named '{_outputName}' (it has {string.Join(", ", _session.OutputMetadata.Keys)})");
        _settings = options.Effective(Device.StartsWith("cuda", StringComparison.Ordinal));
        LastUsedTicks = Environment.TickCount64;
        _batcher = new DynamicBatcher(Manifest.Name, _settings.MaxBatch, options.MaxWaitMs, options.QueueCapacity, _settings.ConcurrentRuns, NewRun, logger);
        Log.Settings(logger, Manifest.Name, Device, _settings.MaxBatch, _settings.ConcurrentRuns, _settings.IntraOpThreads, options.MaxWaitMs, settingsSource, MemoryEstimate >> 20);
    }

    private static (InferenceSession, string) CreateSession(ResolvedModel model, InferenceOptions options, ILogger logger)
    {
        if (options.IsCuda)
        {
            var cudaOptions = NewOptions(options, onCuda: true);
            try
            {
                AppendCudaQuietly(cudaOptions, options);
                var session = model.CreateSession(cudaOptions);
                Log.Loaded(logger, model.Manifest.Name, model.Manifest.Version, $"cuda:{options.DeviceId}");
                return (session, $"cuda:{options.DeviceId}");
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                // The CPU-only native library throws EntryPointNotFoundException; the GPU one without CUDA/cuDNN throws OnnxRuntimeException.
                cudaOptions.Dispose();
                Log.CudaUnavailable(logger, model.Manifest.Name, e.GetType().Name, e.Message.Split('\n')[0]);
            }
        }
        InferenceSession cpu;
        try
        {
            cpu = model.CreateSession(NewOptions(options, onCuda: false));
        }
        catch (OnnxRuntimeException e) when (IsOutOfMemory(e))
        {
            throw new ModelMemoryException(model.Manifest, $"model '{model.Manifest.Name}' could not be loaded: ONNX Runtime ran out of memory ({e.Message.Split('\n')[0]}); give the silo more memory or set Inference:MemoryBudgetMiB to what it can spare, so that models which do not fit are refused before loading", e);
        }
        Log.Loaded(logger, model.Manifest.Name, model.Manifest.Version, "cpu");
        return (cpu, "cpu");
    }

    /// <summary>An ONNX Runtime failure to allocate (its messages for a failed allocation on the CPU or the device).</summary>
    private static bool IsOutOfMemory(OnnxRuntimeException e) =>
        e.Message.Contains("bad_alloc", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("Failed to allocate memory", StringComparison.OrdinalIgnoreCase)
        || e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Adds the CUDA provider with ONNX Runtime's own logging held at Fatal: without CUDA it prints an error line of
    /// its own (in colour, plus a reset line) before throwing, and the user should read one line, the fallback warning.
    /// </summary>
    private static void AppendCudaQuietly(SessionOptions cudaOptions, InferenceOptions options)
    {
        var env = OrtEnv.Instance();
        var level = env.EnvLogLevel;
        env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        try
        {
            using var provider = CudaProviderOptions(options);
            cudaOptions.AppendExecutionProvider_CUDA(provider);
        }
        finally
        {
            env.EnvLogLevel = level;
        }
    }

    /// <summary>
    /// The CUDA provider's options: the device, and TF32 only where <see cref="InferenceOptions.CudaTf32"/> asks for it.
    /// ONNX Runtime's default is TF32 on (Ampere and newer), which moves scores measurably further from the CPU's for
    /// more images/s (docs/benchmarks.md, "The silo's ONNX Runtime on a GPU"), so by default a GPU silo scores like a
    /// CPU silo and a job spread over both counts the same scores.
    /// </summary>
    internal static OrtCUDAProviderOptions CudaProviderOptions(InferenceOptions options)
    {
        _ = OrtEnv.Instance(); // the native calls below log through the environment's logger
        var provider = new OrtCUDAProviderOptions(); // loads the CUDA provider library: throws where CUDA is missing
        try
        {
            provider.UpdateOptions(CudaProviderSettings(options));
            return provider;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <summary>The CUDA provider's settings by ONNX Runtime's names (kept apart: building the options needs CUDA).</summary>
    internal static Dictionary<string, string> CudaProviderSettings(InferenceOptions options) => new()
    {
        ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["use_tf32"] = options.CudaTf32 ? "1" : "0",
    };

    private static SessionOptions NewOptions(InferenceOptions options, bool onCuda)
    {
        var o = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        int threads = options.Effective(onCuda).IntraOpThreads;
        if (threads > 0) o.IntraOpNumThreads = threads;
        // Idle ONNX Runtime threads spin by default, taking the cores the decoders need on a CPU silo.
        if (!options.AllowSpinning) o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return o;
    }

    /// <summary>Queues one image and returns its score. The image stays owned by the caller.</summary>
    public Task<float> Score(PreprocessedImage image, CancellationToken cancellationToken)
    {
        LastUsedTicks = Environment.TickCount64;
        if (_batcher is null) throw new InvalidOperationException($"model '{Manifest.Name}' scores full-size images, not 512x512 inputs");
        return _batcher.Score(image, cancellationToken);
    }

    /// <summary>The score of a full-size decoded image, computed on the calling thread (<see cref="Native"/> models only).</summary>
    public float ScoreNative(DecodedImage image)
    {
        LastUsedTicks = Environment.TickCount64;
        if (!Native) throw new InvalidOperationException($"model '{Manifest.Name}' is an ONNX graph: score its preprocessed input");
        return Models.Brisque.BrisqueModel.Shared.Score(image);
    }

    /// <summary>A run function for one batcher loop, with its own input buffer allocated once and reused:
    /// float32 NCHW, or the pixels as they are (uint8 NHWC) when the graph scales them.</summary>
    private DynamicBatcher.RunBatch NewRun()
    {
        const int imageFloats = 3 * Preprocessor.Size * Preprocessor.Size;
        var input = _uint8Input ? null : new float[_settings.MaxBatch * imageFloats];
        var pixels = _uint8Input ? new byte[_settings.MaxBatch * imageFloats] : null;
        return images => Run(images, input, pixels, imageFloats);
    }

    private float[] Run(IReadOnlyList<PreprocessedImage> batch, float[]? input, byte[]? pixels, int imageFloats)
    {
        OrtValue tensor;
        if (pixels is not null)
        {
            for (int i = 0; i < batch.Count; i++) batch[i].Rgb.CopyTo(pixels.AsSpan(i * imageFloats, imageFloats));
            tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, pixels.AsMemory(0, batch.Count * imageFloats),
                [batch.Count, Preprocessor.Size, Preprocessor.Size, 3]);
        }
        else
        {
            for (int i = 0; i < batch.Count; i++)
                ModelInput.ToTensor(batch[i].Rgb, input.AsSpan(i * imageFloats, imageFloats));
            tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input!.AsMemory(0, batch.Count * imageFloats),
                [batch.Count, 3, Preprocessor.Size, Preprocessor.Size]);
        }
        using var _ = tensor;
        using var outputs = _session!.Run(_runOptions, [_inputName], [tensor], [_outputName]);
        var scores = outputs[0].GetTensorDataAsSpan<float>();
        if (scores.Length < batch.Count)
            throw new InvalidOperationException($"model '{Manifest.Name}' returned {scores.Length} values for {batch.Count} images");
        // Output [N,1] (or [N]): one score per image.
        int stride = scores.Length / batch.Count;
        var result = new float[batch.Count];
        for (int i = 0; i < batch.Count; i++) result[i] = scores[i * stride];
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (_batcher is not null) await _batcher.DisposeAsync();
        _session?.Dispose();
        _runOptions.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} v{Version} loaded on {Device}")]
        public static partial void Loaded(ILogger logger, string model, string version, string device);

        [LoggerMessage(Level = LogLevel.Warning, Message = "CUDA requested for model {Model} but unavailable ({Error}: {Reason}); running on CPU (a GPU silo needs the CUDA 13 and cuDNN 9 runtime libraries: 'ldd' on libonnxruntime_providers_cuda.so names a missing one; Inference:Device=cpu runs on the CPU without this warning)")]
        public static partial void CudaUnavailable(ILogger logger, string model, string error, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} on {Device}: max batch {MaxBatch}, {Runs} concurrent runs, {Threads} intra-op threads (0 = ONNX Runtime's choice), max wait {MaxWaitMs} ms, from {Source}; estimated memory {MemoryMiB} MiB")]
        public static partial void Settings(ILogger logger, string model, string device, int maxBatch, int runs, int threads, int maxWaitMs, string source, long memoryMiB);
    }
}
