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
///
/// A reader that must leave no file behind (incognito, a read-only folder) reads in SQLite's
/// immutable mode while the history has no -wal, which a shared WAL reader would create with a
/// 32 KB -shm. Once a -wal appears (another process writes) or this store writes, it reads as a
/// shared WAL reader again, so it sees those writes.
final class HistoryConnections: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var currentReader: any DatabaseReader
    private var readsImmutably: Bool
    /// Readers replaced while a query may still have been using them; closed with the store.
    private var retiredReaders: [any DatabaseReader] = []
    private var writer: (any DatabaseWriter)?
    private var closed = false
    private let makeWriter: (@Sendable () throws -> any DatabaseWriter)?
    /// Opens the shared WAL reader that replaces an immutable one (nil: the reader is never replaced).
    private let makeSharedReader: (@Sendable () throws -> any DatabaseReader)?
    /// The -wal whose appearance ends immutable reading.
    private let walPath: String?

    /// A file store: `makeWriter` opens the read-write pool (nil for a read-only store).
    /// `immutable`: the reader is in immutable mode, replaced by `makeSharedReader`'s once the
    /// file at `walPath` exists or the store writes.
    init(reader: any DatabaseReader, makeWriter: (@Sendable () throws -> any DatabaseWriter)?,
         immutable: Bool = false, walPath: String? = nil, makeSharedReader: (@Sendable () throws -> any DatabaseReader)? = nil) {
        self.currentReader = reader
        self.makeWriter = makeWriter
        self.readsImmutably = immutable
        self.walPath = walPath
        self.makeSharedReader = makeSharedReader
    }

    /// An in-memory store: one queue reads and writes.
    init(queue: DatabaseQueue) {
        self.currentReader = queue
        self.readsImmutably = false
        self.writer = queue
        self.makeWriter = nil
        self.makeSharedReader = nil
        self.walPath = nil
    }

    /// A read-only connection in SQLite's immutable mode (`file:…?immutable=1`): no locks, no
    /// -wal or -shm, the main file as it is. Only for a file nobody writes now (no -wal).
    static func immutableReader(path: String) throws -> DatabaseQueue {
        var escaped = ""
        for character in path {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3f"
            case "#": escaped += "%23"
            default: escaped.append(character)
            }
        }
        return try DatabaseQueue(path: "file:\(escaped)?immutable=1", configuration: HistorySchema.configuration(readOnly: true))
    }

    /// Serves every query. In memory it is the same `DatabaseQueue` as the writer.
    var reader: any DatabaseReader {
        lock.lock()
        defer { lock.unlock() }
        if readsImmutably, let walPath, FileManager.default.fileExists(atPath: walPath) { shareReaderLocked() }
        return currentReader
    }

    /// Whether queries read in immutable mode now (tests).
    var isReadingImmutably: Bool {
        lock.lock()
        defer { lock.unlock() }
        return readsImmutably
    }

    /// Replaces the immutable reader by a shared WAL reader (under `lock`). If that cannot be
    /// opened, the immutable one goes on serving: a stale answer beats none for a keystroke.
    private func shareReaderLocked() {
        guard readsImmutably, !closed, let makeSharedReader, let shared = try? makeSharedReader() else { return }
        retiredReaders.append(currentReader)
        currentReader = shared
        readsImmutably = false
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
        // From now on the file has a -wal of ours, and queries must see what we write.
        shareReaderLocked()
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
        if let writer, writer === currentReader {
            try writer.close()
            return
        }
        for retired in retiredReaders { try? retired.close() }
        try currentReader.close()
        try writer?.close()
    }

    deinit {
        try? close()
    }
}
