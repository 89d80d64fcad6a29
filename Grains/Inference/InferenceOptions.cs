namespace DpIqa.Inference;

/// <summary>Configuration section <c>Inference</c>: how a silo runs models.</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary><c>cpu</c> or <c>cuda</c>. With <c>cuda</c>, a silo without a usable CUDA runtime falls back to CPU and logs it once.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>CUDA device id.</summary>
    public int DeviceId { get; set; }

    /// <summary>Most images in one session run.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>How long the first image of a batch waits for others before the batch runs, in milliseconds.</summary>
    public int MaxWaitMs { get; set; } = 5;

    /// <summary>Images waiting for a batch before callers are made to wait (backpressure).</summary>
    public int QueueCapacity { get; set; } = 64;

    /// <summary>Session runs in flight per model (one or two keep a GPU busy).</summary>
    public int ConcurrentRuns { get; set; } = 1;

    /// <summary>
    /// ONNX Runtime intra-op threads (CPU work of a run). 0 means half the cores: on a CPU silo the decoders need
    /// the other half (measured on 2 cores: 1 thread gives the whole pipeline ~20% more images/s than 2).
    /// </summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Let idle ONNX Runtime threads spin-wait (faster hand-off, but burns cores the decoders share). Off by default.</summary>
    public bool AllowSpinning { get; set; }

    /// <summary>A model's session is released after this long without requests, in seconds.</summary>
    public int IdleUnloadSeconds { get; set; } = 600;
}
