import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What can go wrong in the REPL's terminal and stream handling.
public enum ReplError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// Interactive mode needs a terminal on this file descriptor.
    case notATerminal(fileDescriptor: Int32)
    /// Reading or changing the terminal's settings failed.
    case terminalSettings(operation: String, errno: Int32)
    /// Reading from the input failed (other than end of input).
    case readFailed(what: String, errno: Int32)
    /// Writing to the output failed (closed pipe, terminal gone).
    case writeFailed(what: String, errno: Int32)
    /// Setting up signal handling failed.
    case signalSetup(errno: Int32)

    /// The same one line as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .notATerminal(let fd):
            return "file descriptor \(fd) is not a terminal; the interactive REPL needs one (pipe text in for line mode)"
        case let .terminalSettings(operation, code):
            return "cannot change the terminal settings (\(operation): \(Self.message(code)))"
        case let .readFailed(what, code):
            return "cannot read \(what): \(Self.message(code))"
        case let .writeFailed(what, code):
            return "cannot write \(what): \(Self.message(code))"
        case .signalSetup(let code):
            return "cannot set up signal handling: \(Self.message(code))"
        }
    }

    static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Small wrappers over read/write that deal with partial writes and EINTR once, for every caller.
enum FileDescriptorIO {
    /// Writes all of `bytes`, retrying short writes, EINTR and (with a short wait) EAGAIN.
    static func writeAll(_ bytes: [UInt8], to fileDescriptor: Int32, what: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fileDescriptor, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var pfd = pollfd(fd: fileDescriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pfd, 1, 100)
            } else {
                throw ReplError.writeFailed(what: what, errno: written < 0 ? errno : EIO)
            }
        }
    }
}
