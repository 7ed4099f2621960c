import Foundation
import GRDB

/// Everything that can go wrong with the user's history file, each case naming the file and the
/// problem so the CLI can print one readable line. GRDB's own error type never leaves this module:
/// every database error is translated by ``HistoryError/init(_:path:)``.
public enum HistoryError: LocalizedError, Equatable, CustomStringConvertible {
    /// The file is not a readable SQLite database (wrong magic, truncated, damaged pages).
    /// ``HistoryStore/openOrRecover(path:now:)`` moves such a file aside and starts afresh.
    case corrupt(path: String, problem: String)
    /// The file was written by a newer NextWord: it carries migrations this version does not know.
    /// It may be read, never written, so the newer version's data is not damaged.
    case newerVersion(path: String, unknownMigrations: [String])
    /// A valid SQLite database that belongs to another application. It is never modified or moved.
    case foreign(path: String, problem: String)
    /// A write was asked of a store that is read-only (opened so, or the file is not writable).
    case readOnly(path: String, reason: String)
    /// File or directory permissions are unsafe and could not be fixed, or deny access.
    case permissions(path: String, problem: String)
    /// A read-only open of a history file that does not exist.
    case notFound(path: String)
    /// Input the store refuses (for example a line with an absurd number of tokens).
    case invalidInput(String)
    /// Any other I/O or SQLite failure, with SQLite's message.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .corrupt(let path, let problem):
            return "\(path): damaged history database: \(problem)"
        case .newerVersion(let path, let unknown):
            return "\(path): written by a newer NextWord (unknown migrations: "
                + "\(unknown.joined(separator: ", "))); opened read-only"
        case .foreign(let path, let problem):
            return "\(path): not a NextWord history database: \(problem)"
        case .readOnly(let path, let reason):
            return "\(path): history is read-only: \(reason)"
        case .permissions(let path, let problem):
            return "\(path): permissions: \(problem)"
        case .notFound(let path):
            return "\(path): no history file"
        case .invalidInput(let why):
            return "invalid history input: \(why)"
        case .io(let path, let message):
            return "\(path): \(message)"
        }
    }

    /// Translates any error thrown while talking to SQLite into a `HistoryError` naming `path`.
    /// Already-translated errors pass through unchanged.
    init(_ error: any Error, path: String) {
        if let history = error as? HistoryError {
            self = history
            return
        }
        guard let database = error as? DatabaseError else {
            self = .io(path: path, message: String(describing: error))
            return
        }
        let message = database.message ?? "SQLite error \(database.extendedResultCode.rawValue)"
        switch database.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            self = .corrupt(path: path, problem: message)
        case .SQLITE_READONLY:
            self = .readOnly(path: path, reason: message)
        case .SQLITE_PERM, .SQLITE_AUTH:
            self = .permissions(path: path, problem: message)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            // Only reachable after the busy timeout expired: say so rather than "database is locked".
            self = .io(path: path, message: "another process kept the history busy for too long (\(message))")
        default:
            self = .io(path: path, message: message)
        }
    }
}

/// Why a store refuses writes. Kept so `learn` can throw the most helpful error.
enum ReadOnlyReason: Sendable, Equatable {
    /// The caller asked for a read-only store.
    case requested
    /// The file (or its directory) is not writable by this user, or its owner cleared its write bit.
    case fileNotWritable(String)
    /// The database carries migrations from a newer version.
    case newerVersion([String])

    func error(path: String) -> HistoryError {
        switch self {
        case .requested: return .readOnly(path: path, reason: "opened read-only")
        case .fileNotWritable(let why): return .readOnly(path: path, reason: why)
        case .newerVersion(let unknown): return .newerVersion(path: path, unknownMigrations: unknown)
        }
    }
}

extension HistoryError {
    public var errorDescription: String? { description }
}
