namespace DpIqa.Inference;

/// <summary>Configuration section <c>Inference</c>: how a silo runs models.</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary><c>cpu</c> or <c>cuda</c> (any case; anything else stops the host at start, see <see cref="InferenceDeviceConverter"/>).
    /// With <c>cuda</c>, a silo without a usable CUDA runtime falls back to CPU and logs it once.</summary>
    public InferenceDevice Device { get; set; } = InferenceDevice.Cpu;

    /// <summary>CUDA device id.</summary>
    public int DeviceId { get; set; }

    /// <summary>Let the CUDA provider use TF32 tensor cores for float32 convolutions and matrix products: ~1.4x the
    /// images/s on an H200, scores off the CPU's by up to ~2e-3 (parity student). Off by default, so GPU and CPU
    /// silos give the same scores to within float32 rounding.</summary>
    public bool CudaTf32 { get; set; }

    /// <summary>Most images in one session run. 0 = auto: 8 on CUDA; 1 on CPU, where batching does not pay
    /// (measured on 2 cores, EfficientNet-B7 student: batch 1 gives 1.2x the images/s of batch 8).</summary>
    public int MaxBatch { get; set; }

    /// <summary>How long the first image of a batch waits for others before the batch runs, in milliseconds.</summary>
    public int MaxWaitMs { get; set; } = 5;

    /// <summary>Images waiting for a batch before callers are made to wait (backpressure).</summary>
    public int QueueCapacity { get; set; } = 64;

    /// <summary>Session runs in flight per model. 0 = auto: 1 on CUDA (2 can help keep a GPU busy); on CPU one per
    /// core, each single-threaded (see <see cref="IntraOpThreads"/>).</summary>
    public int ConcurrentRuns { get; set; }

    /// <summary>
    /// ONNX Runtime intra-op threads per run. 0 = auto: 1 on CPU, where concurrent single-threaded runs beat one
    /// multi-threaded run and leave cores to the decoders between runs (docs/benchmarks.md, "Inference settings on
    /// CPU"); ONNX Runtime's default on CUDA.
    /// </summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Let idle ONNX Runtime threads spin-wait (faster hand-off, but burns cores the decoders share). Off by default.</summary>
    public bool AllowSpinning { get; set; }

    public bool IsCuda => Device == InferenceDevice.Cuda;

    /// <summary>The settings in effect once the 0 = auto values are resolved for the device a session got.</summary>
    public (int MaxBatch, int ConcurrentRuns, int IntraOpThreads) Effective(bool onCuda) => (
        MaxBatch > 0 ? MaxBatch : onCuda ? 8 : 1,
        ConcurrentRuns > 0 ? ConcurrentRuns : onCuda ? 1 : Math.Max(1, Environment.ProcessorCount),
        IntraOpThreads > 0 ? IntraOpThreads : onCuda ? 0 : 1);

    /// <summary>A model's session is released after this long without requests, in seconds.</summary>
    public int IdleUnloadSeconds { get; set; } = 600;

    /// <summary>
    /// The most memory, in MiB, the models loaded on this silo may need together (each estimated from its files' size,
    /// see <see cref="ModelMemory"/>). A model that would not fit is not loaded: its shards end with an <c>inference</c>
    /// error record saying what it needs, instead of the silo being killed for running out of memory. 0 (the default)
    /// = what the machine, or the container's memory limit, has available when the model is loaded.
    /// </summary>
    public long MemoryBudgetMiB { get; set; }

    /// <summary>These settings with a model's own <c>Models:NAME:*</c> values put over them.</summary>
    public InferenceOptions For(Models.ModelSettings? model)
    {
        if (model is null) return this;
        var copy = (InferenceOptions)MemberwiseClone();
        copy.MaxBatch = model.MaxBatch ?? MaxBatch;
        copy.ConcurrentRuns = model.ConcurrentRuns ?? ConcurrentRuns;
        copy.IntraOpThreads = model.IntraOpThreads ?? IntraOpThreads;
        copy.MaxWaitMs = model.MaxWaitMs ?? MaxWaitMs;
        return copy;
    }
}
