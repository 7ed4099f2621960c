import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A signal turned into an ordinary event for the session's poll loop.
public enum SignalEvent: Equatable, Sendable {
    /// The terminal changed size (SIGWINCH).
    case resize
    /// A signal that should end the session (SIGINT, SIGTERM, SIGHUP, SIGQUIT by default).
    case terminate(Int32)
}

/// Delivers signals through a pipe that the REPL polls next to its input (the self-pipe pattern).
///
/// Why: restoring the terminal from inside a signal handler would need the saved settings in a global;
/// instead a `DispatchSource` handler (ordinary code on a private queue, not async-signal context)
/// writes the signal number into a non-blocking pipe, the session wakes up from `poll`, and returns,
/// so the terminal is restored by the same code as on every other exit. The session's caller then
/// exits with status 128 + signal.
///
/// Dispatch keeps its signal handler installed for the rest of the process, so create a watcher for
/// process-lifetime use (the command line tool) or with signals nothing else in the process relies on.
public final class SignalWatcher: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; Dispatch sources and queues are thread-safe.
    public static let defaultTerminating: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Becomes readable when a signal arrived; the session polls it.
    public let readDescriptor: Int32
    private let writeDescriptor: Int32
    private let resizeSignal: Int32?
    private let queue = DispatchQueue(label: "nextword.signals")
    private let sources: [any DispatchSourceSignal]

    /// Starts watching; returns once the handlers are installed, so a signal sent right after
    /// `init` is seen.
    public init(terminating: [Int32] = defaultTerminating, resize: Int32? = SIGWINCH) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ReplError.signalSetup(errno: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = fds[0]
        writeDescriptor = fds[1]
        resizeSignal = resize
        let signals = terminating + (resize.map { [$0] } ?? [])
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in signals {
            // Until Dispatch installs its handler, ignore the signal rather than let its default
            // action kill the process with the terminal possibly raw.
            _ = signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            let fd = fds[1]
            source.setEventHandler {
                var byte = UInt8(truncatingIfNeeded: signalNumber)
                _ = write(fd, &byte, 1)  // a full pipe means the event is already pending: fine to drop
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
        #if os(Linux)
        waitUntilInstalled(signals)
        #endif
    }

    deinit {
        for source in sources { source.cancel() }
        queue.sync {}  // a handler already running finishes before the pipe closes
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// The signals that arrived since the last call, in order, without repeats.
    public func pendingEvents() -> [SignalEvent] {
        var events: [SignalEvent] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readDescriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            for byte in buffer[..<count] {
                let event: SignalEvent = Int32(byte) == resizeSignal ? .resize : .terminate(Int32(byte))
                if !events.contains(event) { events.append(event) }
            }
        }
        return events
    }

    #if os(Linux)
    /// Dispatch registers signal sources asynchronously; wait (at most half a second) until each
    /// signal's disposition is a real handler instead of SIG_IGN/SIG_DFL.
    private func waitUntilInstalled(_ signals: [Int32]) {
        for _ in 0..<500 {
            let pending = signals.filter { signalNumber in
                var action = sigaction()
                guard sigaction(signalNumber, nil, &action) == 0 else { return false }
                let handler = unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self)
                return handler == 0 || handler == 1  // SIG_DFL, SIG_IGN
            }
            if pending.isEmpty { return }
            usleep(1000)
        }
    }
    #endif
}
