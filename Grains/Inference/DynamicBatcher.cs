using System.Diagnostics;
using System.Threading.Channels;
using DpIqa.Imaging;
using DpIqa.Telemetry;
using Microsoft.Extensions.Logging;

namespace DpIqa.Inference;

/// <summary>
/// The dynamic batcher in front of one model's session: requests from every concurrent shard queue in a bounded
/// channel; a batch runs when <c>maxBatch</c> images are waiting or the first has waited <c>maxWaitMs</c>.
/// Each of the <c>runLoops</c> loops gets its own run function from <c>newRun</c>, so buffers it keeps are never shared.
/// </summary>
internal sealed partial class DynamicBatcher : IAsyncDisposable
{
    /// <summary>Scores a batch of images, one score per image in order.</summary>
    public delegate float[] RunBatch(IReadOnlyList<PreprocessedImage> images);

    private sealed record Request(PreprocessedImage Image, TaskCompletionSource<float> Done);

    private readonly string _model;
    private readonly int _maxBatch, _maxWaitMs;
    private readonly Channel<Request> _queue;
    private readonly ILogger _logger;
    private readonly Task[] _loops;
    private readonly IDisposable _queueGauge;

    public DynamicBatcher(string model, int maxBatch, int maxWaitMs, int queueCapacity, int runLoops, Func<RunBatch> newRun, ILogger logger)
    {
        _model = model;
        _maxBatch = Math.Max(1, maxBatch);
        _maxWaitMs = maxWaitMs;
        _logger = logger;
        _queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(queueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        _queueGauge = DpIqaMetrics.TrackBatcherQueue(model, () => _queue.Reader.Count);
        _loops = Enumerable.Range(0, Math.Max(1, runLoops)).Select(_ => StartLoop(newRun())).ToArray();
    }

    /// <summary>Queues one image and returns its score. The image stays owned by the caller.</summary>
    public async Task<float> Score(PreprocessedImage image, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<float>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync(new Request(image, done), cancellationToken);
        return await done.Task.WaitAsync(cancellationToken);
    }

    // A session run blocks its thread for as long as the model takes (about a second for the student on a CPU core).
    // On the thread pool, one such run per core would hold every pool thread and starve the decoders and the grains
    // until the pool injects more threads; each loop therefore has a thread of its own.
    private Task StartLoop(RunBatch run)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunLoop(run);
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = "dpiqa-inference" };
        thread.Start();
        return done.Task;
    }

    private void RunLoop(RunBatch run)
    {
        var batch = new List<Request>(_maxBatch);
        var reader = _queue.Reader;
        while (WaitToRead(reader, Timeout.InfiniteTimeSpan))
        {
            batch.Clear();
            if (!reader.TryRead(out var first)) continue;
            batch.Add(first);
            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * _maxWaitMs / 1000;
            while (batch.Count < _maxBatch)
            {
                if (reader.TryRead(out var next)) { batch.Add(next); continue; }
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (left <= TimeSpan.Zero || !WaitToRead(reader, left)) break;
            }
            var running = Stopwatch.GetTimestamp();
            Complete(batch, run);
            DpIqaMetrics.BatchRun(_model, batch.Count, Stopwatch.GetElapsedTime(running));
        }
    }

    /// <summary>Blocks this loop's own thread until a request is waiting (true), the queue is completed (false) or <paramref name="timeout"/> passes (false).</summary>
    private static bool WaitToRead(ChannelReader<Request> reader, TimeSpan timeout)
    {
        var ready = reader.WaitToReadAsync();
        if (ready.IsCompleted) return ready.Result;
        var task = ready.AsTask();
        return task.Wait(timeout) && task.Result;
    }

    private void Complete(List<Request> batch, RunBatch run)
    {
        try
        {
            var scores = run(batch.ConvertAll(r => r.Image));
            for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(scores[i]);
        }
        catch (Exception e) when (batch.Count > 1)
        {
            // One image must not fail its batch-mates: retry each alone.
            Log.BatchFailed(_logger, _model, batch.Count, e.Message);
            foreach (var request in batch) Complete([request], run);
        }
        catch (Exception e)
        {
            batch[0].Done.TrySetException(e);
        }
    }

    /// <summary>Stops taking requests and waits for the queued ones to run.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _queueGauge.Dispose();
        await Task.WhenAll(_loops);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} failed on model {Model} ({Reason}); retrying images one by one")]
        public static partial void BatchFailed(ILogger logger, string model, int count, string reason);
    }
}
