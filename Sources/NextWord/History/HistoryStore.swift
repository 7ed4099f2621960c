import Foundation
import GRDB

/// The user's typing history: learned words (surface forms) and bigrams/trigrams with counts and
/// last use, in one SQLite file (WAL mode) shared safely by several processes.
///
/// - Opening never writes unless the schema must be created or migrated: a store that only answers
///   queries leaves the file byte-identical.
/// - `learn` commits one line in one transaction with `synchronous = FULL`, so a line is on disk
///   when `learn` returns (see ``learn(tokens:at:)``).
/// - Files are private (0600 in a 0700 directory); damaged, foreign and newer files are recognised
///   and reported as ``HistoryError``; ``openOrRecover(path:now:)`` turns what can be recovered into
///   a working store plus a ``RecoveryNote``.
/// - Queries never throw: a keystroke must not fail because history is unreadable; they answer
///   empty instead. Writes throw.
public final class HistoryStore: Sendable {
    /// The database file, or nil for an in-memory store.
    public let path: URL?
    /// How errors name the store: the file path, or "in-memory".
    let displayPath: String
    let connections: HistoryConnections
    /// Why writes are refused; nil when the store can learn.
    let readOnlyReason: ReadOnlyReason?
    /// False only for a store over a file with no history schema yet (a new empty file, read-only
    /// or not written yet); its queries answer empty.
    var hasSchema: Bool { schemaReady.get() }
    private let schemaReady: Locked<Bool>
    private let settings: Locked<Settings>

    struct Settings: Sendable {
        var maxRows = HistoryRowCap.standard
        var halfLife = HistoryStore.defaultHalfLife
    }

    /// 30 days: a word used a month ago weighs half as much as one used today.
    public static let defaultHalfLife: TimeInterval = 30 * 86_400

    /// Most tokens one `learn` call accepts; a longer "line" is refused, not truncated silently.
    public static let maxTokensPerLine = 4_096

    /// Whether the store refuses writes (opened read-only, file not writable, or newer version).
    public var isReadOnly: Bool { readOnlyReason != nil }

    /// Row caps enforced after each `learn` (see ``HistoryRowCap``).
    public var maxRows: HistoryRowCap {
        get { settings.get().maxRows }
        set { settings.update { $0.maxRows = newValue } }
    }

    /// Half-life of the decay used to rank rows when pruning and in ranked queries.
    public var halfLife: TimeInterval {
        get { settings.get().halfLife }
        set { settings.update { $0.halfLife = newValue } }
    }

    /// Opens (creating if needed) the history file at `path`, or at ``defaultPath(environment:)``
    /// when `path` is nil.
    ///
    /// Throws ``HistoryError/corrupt(path:problem:)`` for a damaged or non-SQLite file,
    /// `.foreign` for another application's database, `.newerVersion` for a file migrated by a
    /// newer NextWord (unless `readOnly`), `.readOnly` when the file is not writable (unless
    /// `readOnly`), `.notFound` for a read-only open of a missing file, `.permissions` when the
    /// file's permissions are too open and cannot be fixed.
    ///
    /// `leavingNoTrace` (incognito): an existing history is opened without creating, changing or
    /// chmodding any file — not even SQLite's -wal and -shm — until the store first writes, which
    /// then does what a normal open would have (permissions, migration). A clear that was cut
    /// short is still finished at once: cleared text is never read back.
    public convenience init(path: URL?, readOnly: Bool = false, leavingNoTrace: Bool = false) throws {
        try self.init(path: path, readOnly: readOnly, leavingNoTrace: leavingNoTrace, migrator: HistorySchema.migrator())
    }

    /// The designated initializer; tests pass a migrator with extra migrations to play a newer version.
    init(path: URL?, readOnly: Bool, leavingNoTrace: Bool = false, migrator: DatabaseMigrator) throws {
        let url = path ?? HistoryStore.defaultPath(environment: ProcessInfo.processInfo.environment)
        let display = url.path
        try HistoryFiles.refuseSymbolicLinks(url)
        let deferSetup = leavingNoTrace && !readOnly && !HistoryClearing.isMarked(url)
        if readOnly || deferSetup {
            guard FileManager.default.fileExists(atPath: display) else { throw HistoryError.notFound(path: display) }
        } else {
            try HistoryFiles.createParentDirectories(of: url)
            HistoryFiles.restrictOwnFolder(of: url)
            try HistoryFiles.createFileIfMissing(url)
        }
        // What a write needs, done now or, for a store leaving no trace, at its first write.
        let prepareForWriting: @Sendable () throws -> Void = {
            try HistoryFiles.restrictPermissions(url)
            HistoryFiles.repairCompanionModes(url)
            if let why = HistoryFiles.notWritableReason(url) { throw HistoryError.readOnly(path: display, reason: why) }
        }
        if readOnly && !leavingNoTrace { try HistoryFiles.restrictPermissions(url) }
        if !readOnly && !deferSetup { try prepareForWriting() }

        // SQLite reads the header first (wrong magic, bad page size, fewer pages than the header
        // declares: all SQLITE_NOTADB/SQLITE_CORRUPT). Only then is the file read directly, to say
        // precisely what is wrong: closing any descriptor of the file drops every POSIX lock this
        // process holds on it, including those of other stores' connections on the same file, after
        // which one of them may delete the WAL the others still use. A damaged file has none.
        var opened: (any DatabaseReader)?
        let identity: Identity
        // Immutable reading creates no -wal/-shm: for a store leaving no trace, and for a read-only
        // one in a folder where SQLite could not create them. Only while no -wal exists: a -wal
        // means a writer, whose lines an immutable reader would not see.
        let walPath = display + HistoryFiles.companionSuffixes[0]
        let readsImmutably = !FileManager.default.fileExists(atPath: walPath)
            && (deferSetup || readOnly && (leavingNoTrace || access(url.deletingLastPathComponent().path, W_OK) != 0))
        do {
            let pool: any DatabaseReader = readsImmutably
                ? try HistoryConnections.immutableReader(path: display)
                : try DatabasePool(path: display, configuration: HistorySchema.configuration(readOnly: true))
            opened = pool
            identity = try pool.read { db in try Identity(db, migrator: migrator) }
        } catch {
            try? opened?.close()
            let failure = HistoryError(error, path: display)
            if case .corrupt = failure { _ = try HistoryFiles.inspectHeader(url) }
            throw failure
        }
        guard let reader = opened else { throw HistoryError.io(path: display, message: "the history could not be opened") }

        var reason: ReadOnlyReason? = readOnly ? .requested : nil
        var hasSchema = true
        switch identity {
        case .foreign(let problem):
            try? reader.close()
            throw HistoryError.foreign(path: display, problem: problem)
        case .fresh:
            hasSchema = false
        case .ours(let applied):
            let unknown = applied.subtracting(migrator.migrations).sorted()
            if !unknown.isEmpty {
                guard readOnly else {
                    try? reader.close()
                    throw HistoryError.newerVersion(path: display, unknownMigrations: unknown)
                }
                reason = .newerVersion(unknown)
            }
        }

        let needsMigration = !Set(migrator.migrations).isSubset(of: identity.applied)
        let schemaReady = Locked(hasSchema)
        let openWriter: @Sendable () throws -> any DatabaseWriter = {
            if deferSetup { try prepareForWriting() }
            let pool: DatabasePool
            do {
                pool = try DatabasePool(path: display, configuration: HistorySchema.configuration(readOnly: false))
                // GRDB sets synchronous = NORMAL for WAL, which may lose the last lines on power
                // loss. FULL syncs the WAL at every commit: one fsync per committed line, cheap at
                // typing speed, and `learn` returning then means the line is on disk.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            } catch {
                throw HistoryError(error, path: display)
            }
            if deferSetup && needsMigration {
                try Self.migrate(pool, with: migrator, path: display)
                schemaReady.update { $0 = true }
            }
            return pool
        }
        let connections = HistoryConnections(
            reader: reader, makeWriter: readOnly ? nil : openWriter, immutable: readsImmutably, walPath: walPath,
            makeSharedReader: { try DatabasePool(path: display, configuration: HistorySchema.configuration(readOnly: true)) })
        if needsMigration && !readOnly && !deferSetup {
            do {
                try Self.migrate(try connections.writerConnection(path: display), with: migrator, path: display)
            } catch {
                try? connections.close()
                throw error
            }
            schemaReady.update { $0 = true }
        }
        self.path = url
        self.displayPath = display
        self.connections = connections
        self.readOnlyReason = reason
        self.schemaReady = schemaReady
        self.settings = Locked(Settings())
        // A clear that was cut short is finished before the history is used (if it fails again,
        // the marker stays for the next open).
        if !readOnly, HistoryClearing.isMarked(url) { try? clear() }
    }

    /// Creates or completes the schema, while other processes may be doing the same. GRDB reads
    /// which migrations are applied before it takes the write lock for each one, so a migration
    /// can find what another process just made ("table word already exists"), and that process
    /// may still be applying the next one. Each attempt reads the applied ones again and finds at
    /// least one more, so one attempt per migration, and one more, settles it.
    private static func migrate(_ writer: any DatabaseWriter, with migrator: DatabaseMigrator, path: String) throws {
        var failures = 0
        while true {
            do {
                try migrator.migrate(writer)
                return
            } catch {
                if (try? writer.read({ try migrator.hasCompletedMigrations($0) })) == true { return }
                failures += 1
                if failures > migrator.migrations.count { throw HistoryError(error, path: path) }
            }
        }
    }

    /// Opens the history for an application that must keep working: whatever can be recovered is,
    /// and what was done is said in the returned note (nil when the file opened normally).
    ///
    /// - A damaged or non-SQLite file (including one that fails `PRAGMA quick_check`) is renamed,
    ///   with its -wal and -shm, to `history.sqlite.damaged-YYYYMMDD-HHMMSS` (local time) next to it,
    ///   and a new empty history is started. The damaged file is kept, never deleted.
    /// - A file that is not writable, or was written by a newer NextWord, is opened read-only.
    /// - Another application's database, and permission problems, are not recoverable here: they
    ///   throw (`.foreign`, `.permissions`) and the file is left untouched.
    ///
    /// `now` names the moved file; tests pass a fixed date.
    public static func openOrRecover(path: URL?, now: Date = Date()) throws -> (HistoryStore, recovery: RecoveryNote?) {
        let url = path ?? defaultPath(environment: ProcessInfo.processInfo.environment)
        let problem: String
        do {
            let store = try HistoryStore(path: url)
            guard let damage = store.integrityProblem() else { return (store, nil) }
            try? store.close()
            problem = damage
        } catch HistoryError.corrupt(_, let damage) {
            problem = damage
        } catch HistoryError.readOnly(_, let reason) {
            let store = try HistoryStore(path: url, readOnly: true)
            return (store, RecoveryNote(
                kind: .openedReadOnly,
                message: "\(url.path): history opened read-only (\(reason)); nothing will be learned"))
        } catch HistoryError.newerVersion(_, let unknown) {
            let store = try HistoryStore(path: url, readOnly: true)
            return (store, RecoveryNote(
                kind: .openedReadOnly,
                message: "\(url.path): written by a newer NextWord (\(unknown.joined(separator: ", "))); "
                    + "opened read-only so its data is not damaged; nothing will be learned"))
        }
        // Only our own history is ever moved aside: any other file (README.md named by mistake, a
        // file of another program) is refused and left byte for byte as it was.
        guard HistoryFiles.isOurHistory(url) else {
            throw HistoryError.foreign(path: url.path, problem: "\(problem); it was left untouched")
        }
        let damagedFile = try HistoryFiles.moveAside(url, now: now)
        let store = try HistoryStore(path: url)
        return (store, RecoveryNote(
            kind: .movedAside(damagedFile: damagedFile),
            message: "\(url.path): history was damaged (\(problem)); it was moved to "
                + "\(damagedFile.path) and a new, empty history was started"))
    }

    /// A private in-memory store for tests and incognito-style sessions; nothing touches the disk.
    public static func inMemory() throws -> HistoryStore {
        do {
            let queue = try DatabaseQueue(configuration: HistorySchema.configuration(readOnly: false))
            try HistorySchema.migrator().migrate(queue)
            return HistoryStore(inMemory: queue)
        } catch {
            throw HistoryError(error, path: "in-memory")
        }
    }

    private init(inMemory queue: DatabaseQueue) {
        path = nil
        displayPath = "in-memory"
        connections = HistoryConnections(queue: queue)
        readOnlyReason = nil
        schemaReady = Locked(true)
        settings = Locked(Settings())
    }

    /// Where the history lives: `$NEXTWORD_HISTORY` if set, else
    /// `$XDG_DATA_HOME/nextword/history.sqlite`, else `~/.local/share/nextword/history.sqlite`.
    public static func defaultPath(environment: [String: String]) -> URL {
        HistoryFiles.defaultPath(environment: environment)
    }

    /// Closes the connections now (they are also closed when the store is released). Queries
    /// afterwards answer empty and writes throw.
    public func close() throws {
        do {
            try connections.close()
        } catch {
            throw HistoryError(error, path: displayPath)
        }
    }

    /// The decay score used to rank and prune: `count * 0.5^(age / halfLife)`, with
    /// `age = now - lastUsed` (never negative). The engine can use it to weigh history the same way.
    public static func score(count: Int, lastUsed: Date, now: Date, halfLife: TimeInterval = defaultHalfLife) -> Double {
        HistorySchema.score(count: Double(count), lastUsed: lastUsed.timeIntervalSince1970,
                            now: now.timeIntervalSince1970, halfLife: halfLife)
    }

    /// What the file holds, found with read-only queries before anything is written.
    enum Identity {
        /// No application id and no tables: a new database, ours to create.
        case fresh
        /// Our application id; the set of applied migration identifiers.
        case ours(Set<String>)
        /// Another application's database, and how we know.
        case foreign(String)

        init(_ db: Database, migrator: DatabaseMigrator) throws {
            let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
                """)
            if applicationID == HistorySchema.applicationID {
                self = .ours(try migrator.appliedIdentifiers(db))
            } else if applicationID != 0 {
                self = .foreign("its application id is \(applicationID), not NextWord's \(HistorySchema.applicationID)")
            } else if tables.isEmpty {
                self = .fresh
            } else if tables == ["grdb_migrations"],
                      try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") == 0 {
                // Another process is creating the schema right now: the migrator commits this
                // empty table before the first migration's transaction. Ours to finish (or to find
                // finished), not another application's.
                self = .fresh
            } else {
                self = .foreign("it holds tables of another application (\(tables.prefix(5).joined(separator: ", ")))")
            }
        }

        var applied: Set<String> {
            if case .ours(let applied) = self { return applied }
            return []
        }
    }
}
