using Microsoft.Extensions.Logging;

namespace DpIqa.Jobs;

internal sealed partial class JobGrain
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} started: model {Model}, sources {Sources}, shard size {ShardSize}")]
        public static partial void Started(ILogger logger, string job, string model, string sources, int shardSize);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} resumed: {Shards} shards to do, listing done: {ListingDone}")]
        public static partial void Resumed(ILogger logger, string job, int shards, bool listingDone);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} listed {Total} images in {Shards} shards")]
        public static partial void Listed(ILogger logger, string job, long total, int shards);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: listing failed")]
        public static partial void ListingFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: lease on shard {Shard} held by {Worker} expired; the shard goes back to the queue")]
        public static partial void LeaseExpired(ILogger logger, string job, int shard, string worker);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: shard {Shard} held by {Worker}, whose silo was declared dead; the shard goes back to the queue")]
        public static partial void LeaseOfDeadSilo(ILogger logger, string job, int shard, string worker);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: a completion of shard {Shard} names result file {Given}, not its lease's {Expected}; not counted")]
        public static partial void WrongResultFile(ILogger logger, string job, int shard, string given, string expected);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: shard {Shard} was scored with model version {Version}, the job uses {JobVersion}; not counted")]
        public static partial void WrongModelVersion(ILogger logger, string job, int shard, string version, string jobVersion);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: removed {Files} result files of completions that did not count")]
        public static partial void RemovedUncounted(ILogger logger, string job, int files);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Job {Job}: removing result files of completions that did not count failed; they are never read")]
        public static partial void RemoveUncountedFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job}: shard {Shard} completed by a worker whose lease had expired; counted once")]
        public static partial void LateCompletion(ILogger logger, string job, int shard);

        [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job}: writing the keep/reject lists failed")]
        public static partial void CurationFailed(ILogger logger, Exception e, string job);

        [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} completed: {Scored} scored, {Failed} failed")]
        public static partial void Completed(ILogger logger, string job, long scored, long failed);
    }
}
