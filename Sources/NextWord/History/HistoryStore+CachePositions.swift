import Foundation
import GRDB

/// The user's neural-cache positions (`UserCacheSource`): the LSTM's state before each learnable
/// word of the recent committed lines, with the word, per model. Written in the committed line's
/// own transaction, forgotten with the lines that held a forgotten word, erased by `clear`.
extension HistoryStore {
    /// One remembered position: the lowercased word and the top-layer state before it ([H] fp16
    /// bit patterns).
    public struct CachePosition: Sendable, Equatable {
        public let word: String
        public let state: [UInt16]

        public init(word: String, state: [UInt16]) {
            self.word = word
            self.state = state
        }
    }

    /// What `learnLines` writes beside a line's words: its positions, the model (SHA-256) their
    /// states come from, and how many positions the history keeps (the newest).
    struct CachePositionWrite: Sendable {
        let positions: [CachePosition]
        let model: String
        let capacity: Int
    }

    /// The newest `limit` positions kept for `model`, oldest first, each with the line it came
    /// from; none for a file made before the table existed.
    public func cachePositions(model: String, limit: Int) -> [(line: Int64, position: CachePosition)] {
        guard limit > 0 else { return [] }
        return query([]) { db in
            guard try db.tableExists("cache_position") else { return [] }
            let rows = try Row.fetchAll(db, sql: """
                SELECT line, word, state FROM cache_position WHERE model = ? ORDER BY id DESC LIMIT ?
                """, arguments: [model, limit])
            return rows.reversed().compactMap { row in
                guard let data = row["state"] as Data?, data.count % 2 == 0 else { return nil }
                // Little-endian pairs, read byte by byte (a blob's bytes need not be aligned).
                let bytes = [UInt8](data)
                let halves = (0 ..< bytes.count / 2).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
                return (row["line"], CachePosition(word: row["word"], state: halves))
            }
        }
    }

    /// How many positions the history keeps (all models).
    public func cachePositionCount() -> Int {
        query(0) { db in try db.tableExists("cache_position") ? Int.fetchOne(db, sql: "SELECT count(*) FROM cache_position") ?? 0 : 0 }
    }

    /// Adds one line's positions (under `learnLines`' transaction): another model's positions go,
    /// and only the newest `capacity` stay.
    static func addCachePositions(_ db: Database, _ write: CachePositionWrite) throws {
        guard !write.positions.isEmpty else { return }
        try db.execute(sql: "DELETE FROM cache_position WHERE model != ?", arguments: [write.model])
        let line = (try Int64.fetchOne(db, sql: "SELECT max(line) FROM cache_position") ?? 0) + 1
        let insert = try db.cachedStatement(sql: "INSERT INTO cache_position(model, line, word, state) VALUES (?, ?, ?, ?)")
        for position in write.positions {
            let bytes = position.state.map(\.littleEndian).withUnsafeBytes { Data($0) }
            try insert.execute(arguments: [write.model, line, position.word, bytes])
        }
        // Everything older than the capacity-th newest row, found on the primary key's index.
        try db.execute(sql: """
            DELETE FROM cache_position WHERE id < (SELECT id FROM cache_position ORDER BY id DESC LIMIT 1 OFFSET ?)
            """, arguments: [max(0, write.capacity - 1)])
    }

    /// Adds several lines' positions in one transaction, each its own line (an import's last lines).
    func addCachePositions(_ writes: [CachePositionWrite]) throws {
        if let readOnlyReason { throw readOnlyReason.error(path: displayPath) }
        try write { db in
            for positions in writes { try Self.addCachePositions(db, positions) }
        }
    }

    /// Removes every position of the lines that held `lower` (the states after it were computed
    /// from it); returns how many rows went.
    static func forgetCachePositions(_ db: Database, lower: String) throws -> Int {
        guard try db.tableExists("cache_position") else { return 0 }
        try db.execute(sql: "DELETE FROM cache_position WHERE line IN (SELECT line FROM cache_position WHERE word = ?)",
                       arguments: [lower])
        return db.changesCount
    }
}
