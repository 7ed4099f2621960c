#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A terminal device: raw mode on and off, and its size.
///
/// `enterRawMode()` saves the current settings and switches to raw mode (no echo, no line buffering,
/// no signals from Ctrl-C/Ctrl-Z, no CR/LF translation in either direction, 8-bit input: what
/// `cfmakeraw` does). `restore()` puts the saved settings back; it is idempotent and also runs in
/// `deinit`, so every way out of the owner's scope (return, throw) restores the terminal. Signals are
/// handled by `SignalWatcher`, which turns them into events that make the session return normally, so
/// they go through the same restore path; nothing is restored from inside a signal handler.
public final class Terminal {
    public let fileDescriptor: Int32
    private var saved: termios?

    /// Fails with `ReplError.notATerminal` when `fileDescriptor` is not a terminal.
    public init(fileDescriptor: Int32) throws {
        guard Self.isTerminal(fileDescriptor) else { throw ReplError.notATerminal(fileDescriptor: fileDescriptor) }
        self.fileDescriptor = fileDescriptor
    }

    deinit { restore() }

    public static func isTerminal(_ fileDescriptor: Int32) -> Bool {
        isatty(fileDescriptor) != 0
    }

    /// True between a successful `enterRawMode()` and `restore()`.
    public var isRaw: Bool { saved != nil }

    /// Saves the current settings and switches to raw mode. Pending input is kept (TCSADRAIN, not
    /// TCSAFLUSH), so keys typed before the prompt appears are not lost.
    public func enterRawMode() throws {
        guard saved == nil else { return }
        var original = termios()
        guard tcgetattr(fileDescriptor, &original) == 0 else {
            throw ReplError.terminalSettings(operation: "tcgetattr", errno: errno)
        }
        var raw = original
        cfmakeraw(&raw)
        guard tcsetattr(fileDescriptor, TCSADRAIN, &raw) == 0 else {
            throw ReplError.terminalSettings(operation: "tcsetattr", errno: errno)
        }
        saved = original
    }

    /// Puts back the settings saved by `enterRawMode()`; does nothing when not in raw mode.
    public func restore() {
        guard var original = saved else { return }
        // Retry on EINTR: a signal arriving right now must not leave the terminal raw.
        while tcsetattr(fileDescriptor, TCSADRAIN, &original) != 0 && errno == EINTR {}
        saved = nil
    }

    /// Columns and rows of the terminal on `fileDescriptor`, or nil when it has none or reports 0
    /// (a fresh pseudo-terminal does until someone sets its size).
    public static func windowSize(of fileDescriptor: Int32) -> (columns: Int, rows: Int)? {
        var size = winsize()
        guard ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return (Int(size.ws_col), Int(size.ws_row))
    }
}
