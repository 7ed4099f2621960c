import Foundation
import GRDB

/// The store's SQLite connections: a read-only `DatabasePool` for every query, and a read-write
/// `DatabasePool` opened on the first write.
///
/// Why two pools: opening a read-write pool on a WAL file whose -wal is absent makes GRDB commit a
/// throw-away schema change (its workaround for GRDB issue #102), which rewrites the file header.
/// A process that only reads history (the CLI's `suggest`, a keyboard that is not learning) must
/// leave the file byte-identical, so the writer is created only when something is written.
/// Queries never wait on a learning transaction: WAL readers see the last committed state.
final class HistoryConnections: @unchecked Sendable {
    /// Serves every query. In memory it is the same `DatabaseQueue` as the writer.
    let reader: any DatabaseReader

    // Guarded by `lock`.
    private let lock = NSLock()
    private var writer: (any DatabaseWriter)?
    private var closed = false
    private let makeWriter: (@Sendable () throws -> any DatabaseWriter)?

    /// A file store: `makeWriter` opens the read-write pool (nil for a read-only store).
    init(reader: any DatabaseReader, makeWriter: (@Sendable () throws -> any DatabaseWriter)?) {
        self.reader = reader
        self.makeWriter = makeWriter
    }

    /// An in-memory store: one queue reads and writes.
    init(queue: DatabaseQueue) {
        self.reader = queue
        self.writer = queue
        self.makeWriter = nil
    }

    /// The read-write connection, opened now if this is the first write.
    func writerConnection(path: String) throws -> any DatabaseWriter {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { throw HistoryError.io(path: path, message: "the history store is closed") }
        if let writer { return writer }
        guard let makeWriter else { throw HistoryError.readOnly(path: path, reason: "opened read-only") }
        let opened = try makeWriter()
        writer = opened
        return opened
    }

    /// Whether the read-write pool has been opened (tests check that reading never opens it).
    var hasWriter: Bool {
        lock.lock()
        defer { lock.unlock() }
        return writer != nil
    }

    /// Closes the readers first, then the writer: the last connection to close checkpoints the WAL
    /// into the database and deletes it, which only a read-write connection can do.
    func close() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        if let writer, writer === reader {
            try writer.close()
            return
        }
        try reader.close()
        try writer?.close()
    }

    deinit {
        try? close()
    }
}
