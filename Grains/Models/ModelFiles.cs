using System.Buffers;
using System.Security.Cryptography;

namespace DpIqa.Models;

/// <summary>
/// Copies model files (gigabytes for a teacher) without holding one in memory: the bytes go through a pooled 1 MiB
/// buffer and are hashed as they pass, into a partial file that is moved to its name only once its sha256 is the
/// manifest's. A crash or a cut stream leaves at most a <c>*.part</c> file, never a file under the model's name that
/// passes for complete.
/// </summary>
internal static class ModelFiles
{
    private const int BufferSize = 1 << 20;

    /// <summary>The suffix of partial files: what a copy or download writes before the sha256 is checked.</summary>
    public const string PartSuffix = ".part";

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="target"/> through a partial file, hashing on the way; the
    /// target appears only when the sha256 is <paramref name="sha256"/>. <paramref name="mismatch"/> makes the
    /// message for a different hash (given the actual one).
    /// </summary>
    public static void CopyVerified(string source, string target, string sha256, Func<string, Exception> mismatch)
    {
        var part = $"{target}.{Guid.NewGuid():N}{PartSuffix}";
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
            using (var output = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                output.SetLength(input.Length); // one extent for a big file, and a full disk fails here, not after gigabytes
                Pump(input, output, hash);
                output.Flush(flushToDisk: true);
            }
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase)) throw mismatch(actual);
            File.Move(part, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(part)) File.Delete(part);
        }
    }

    /// <summary>Copies all of <paramref name="input"/> to <paramref name="output"/>, adding every byte to <paramref name="hash"/>; the byte count.</summary>
    public static long Pump(Stream input, Stream output, IncrementalHash hash)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            int read;
            while ((read = input.Read(buffer, 0, BufferSize)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                output.Write(buffer, 0, read);
                total += read;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Adds the first <paramref name="length"/> bytes of <paramref name="input"/> to <paramref name="hash"/> (a partial download being resumed).</summary>
    public static void HashPrefix(Stream input, long length, IncrementalHash hash)
    {
        input.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long left = length;
            while (left > 0)
            {
                int read = input.Read(buffer, 0, (int)Math.Min(BufferSize, left));
                if (read == 0) throw new IOException($"the partial file is shorter than {length} bytes");
                hash.AppendData(buffer, 0, read);
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A read-only, forward-only view of a stream that hashes what is read through it: an upload client reads the
    /// file once and the hash of what it sent is known at the end, with no second pass over gigabytes.
    /// </summary>
    public sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false; // so the reader goes front to back and the hash is of the bytes in order
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            hash.AppendData(buffer[..n]);
            BytesRead += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            hash.AppendData(buffer.Span[..n]);
            BytesRead += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
