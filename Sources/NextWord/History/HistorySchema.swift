import Foundation
import GRDB

/// The history database's schema: its recognisable application id, the named migrations, and the
/// SQL function the pruning uses.
///
/// Migrations are registered by name and never edited once released: a released migration is part
/// of every user's file. A change to the schema is a new migration appended to ``migrator(extra:)``.
enum HistorySchema {
    /// `PRAGMA application_id` of every history file: "NWRD" in ASCII. A non-zero id that differs
    /// marks a file of another application, which is never touched.
    static let applicationID: Int32 = 0x4E57_5244

    /// The value of the `schema` row in `meta`, a second, human-readable marker.
    static let schemaName = "nextword-history"

    /// Identifier of the first migration.
    static let v1 = "v1-words-ngrams"
    /// The user's neural-cache positions (`HistoryStore.CachePosition`).
    static let v2 = "v2-cache-positions"

    /// The `meta` key of the change counter that `learn`, `forget` and `clear` bump.
    static let generationKey = "generation"

    /// Name of the SQL function `nextword_score(count, lastUsed, now, halfLife)`.
    static let scoreFunctionName = "nextword_score"

    /// All released migrations, in order, plus `extra` (tests use it to play a newer version).
    static func migrator(extra: [(String, @Sendable (Database) throws -> Void)] = []) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(v1) { db in
            // Surface forms as typed (NFC, apostrophes normalized); `lower` serves case-insensitive
            // lookups and the prefix range scan of completions.
            try db.execute(sql: """
                CREATE TABLE word (
                    text TEXT PRIMARY KEY NOT NULL,
                    lower TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    lastUsed REAL NOT NULL
                );
                CREATE INDEX word_lower ON word(lower);
                CREATE TABLE ngram (
                    context TEXT NOT NULL,
                    word TEXT NOT NULL,
                    "order" INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    lastUsed REAL NOT NULL,
                    PRIMARY KEY (context, word)
                );
                CREATE TABLE meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value NOT NULL
                );
                """)
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('schema', ?), (?, 0)",
                           arguments: [schemaName, generationKey])
            try db.execute(sql: "PRAGMA application_id = \(applicationID)")
        }
        migrator.registerMigration(v2) { db in
            // One row per remembered position: the model its state comes from (SHA-256), the
            // committed line (forgetting a word removes its lines), the word, [H] fp16 little-endian.
            try db.execute(sql: """
                CREATE TABLE cache_position (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    model TEXT NOT NULL,
                    line INTEGER NOT NULL,
                    word TEXT NOT NULL,
                    state BLOB NOT NULL
                );
                CREATE INDEX cache_position_word ON cache_position(word);
                CREATE INDEX cache_position_line ON cache_position(line);
                """)
        }
        for (identifier, migrate) in extra {
            migrator.registerMigration(identifier, migrate: migrate)
        }
        return migrator
    }

    /// Decay score of a learned row: `count * 0.5^(age / halfLife)`, age in seconds, never negative.
    /// Exposed on ``HistoryStore/score(count:lastUsed:now:halfLife:)`` so the engine ranks the same way.
    static func score(count: Double, lastUsed: Double, now: Double, halfLife: Double) -> Double {
        let age = max(0, now - lastUsed)
        guard halfLife > 0 else { return count }
        return count * pow(0.5, age / halfLife)
    }

    /// `nextword_score(count, lastUsed, now, halfLife)`: written in Swift rather than with SQLite's
    /// `pow()`, which exists only when SQLite was built with its math functions.
    static let scoreFunction = DatabaseFunction(scoreFunctionName, argumentCount: 4, pure: true) { values in
        let numbers = values.map { Double.fromDatabaseValue($0) ?? 0 }
        return score(count: numbers[0], lastUsed: numbers[1], now: numbers[2], halfLife: numbers[3])
    }

    /// How a connection opened on a history file is set up.
    static func configuration(readOnly: Bool) -> Configuration {
        var config = Configuration()
        config.readonly = readOnly
        config.label = readOnly ? "NextWord.history.read" : "NextWord.history.write"
        // Several processes (keyboard, CLI) may share the file: wait for a writer rather than
        // surfacing "database is locked". SQLite's busy handler polls, so a writer can lose the
        // race for the lock many times in a row while others write back to back
        // (benchmarks/stress-history.sh with 8 writers waited more than 5 s): writers wait longer.
        // The engine writes outside its own lock, so a waiting write never stalls a keystroke.
        config.busyMode = .timeout(readOnly ? 5 : 60)
        config.prepareDatabase { db in
            db.add(function: scoreFunction)
            // Deleted rows (forget, clear, pruning) are overwritten with zeros in the file instead
            // of lingering in free space where they could be recovered.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return config
    }
}
