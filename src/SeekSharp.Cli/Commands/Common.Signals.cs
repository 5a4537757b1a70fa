using System.Runtime.InteropServices;

namespace SeekSharp.Cli.Commands;

/// <summary>How the long-running commands (<c>seek quantize</c>, <c>seek train</c>) stop cleanly on SIGINT and SIGTERM.</summary>
internal static partial class Common
{
    /// <summary>Exit code after SIGTERM (128 + SIGTERM), as shells report it.</summary>
    public const int ExitTerminated = 143;

    /// <summary>The exit code of a command stopped by <paramref name="signal"/>: 143 for SIGTERM, else 130.</summary>
    public static int ExitCode(PosixSignal? signal) => signal == PosixSignal.SIGTERM ? ExitTerminated : ExitCancelled;

    /// <summary>
    /// Turns the first SIGINT or SIGTERM into a cancellation (the runtime's default, ending the process, is suppressed
    /// so the command can leave its files whole); a second signal gets the default and ends the process at once.
    /// </summary>
    public sealed class Interrupt : IDisposable
    {
        readonly CancellationTokenSource _cancel = new();
        readonly PosixSignalRegistration _int, _term;
        int _signal; // 0 until the first signal, then its PosixSignal value

        public Interrupt()
        {
            _int = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        }

        public CancellationToken Token => _cancel.Token;

        /// <summary>The first signal received, if any.</summary>
        public PosixSignal? Signal => Volatile.Read(ref _signal) is var s and not 0 ? (PosixSignal)s : null;

        void Handle(PosixSignalContext context)
        {
            if (Interlocked.CompareExchange(ref _signal, (int)context.Signal, 0) != 0)
                return; // second signal: default handling terminates the process
            context.Cancel = true;
            _cancel.Cancel();
        }

        // The token source is not disposed: a handler already running on the signal thread may still cancel it.
        public void Dispose()
        {
            _int.Dispose();
            _term.Dispose();
        }
    }
}
