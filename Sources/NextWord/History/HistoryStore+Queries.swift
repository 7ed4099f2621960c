import Foundation
import GRDB

extension HistoryStore {
    /// Every surface form learned for a lowercase word ("the" → "The", "the"), most used first.
    public func wordCount(lower: String) -> [(surface: String, count: Int, lastUsed: Date)] {
        let key = HistoryText.lower(HistoryText.normalize(lower))
        return query([]) { db in
            let statement = try db.cachedStatement(sql: """
                SELECT text, count, lastUsed FROM word WHERE lower = ? ORDER BY count DESC, text
                """)
            return try Row.fetchAll(statement, arguments: [key]).map(Self.wordTuple)
        }
    }

    /// Learned words whose lowercase form starts with `lowerPrefix`, best first by decayed score
    /// (``score(count:lastUsed:now:halfLife:)`` at the current time), at most `limit`. Uses the
    /// `lower` index with a range `lower >= prefix AND lower < prefix + U+10FFFF`, not LIKE.
    public func completions(prefix lowerPrefix: String, limit: Int) -> [(surface: String, count: Int, lastUsed: Date)] {
        guard limit > 0 else { return [] }
        let prefix = HistoryText.lower(HistoryText.normalize(lowerPrefix))
        let now = Date().timeIntervalSince1970
        let halfLife = self.halfLife
        return query([]) { db in
            let statement = try db.cachedStatement(sql: """
                SELECT text, count, lastUsed FROM word
                WHERE lower >= ? AND lower < ?
                ORDER BY \(HistorySchema.scoreFunctionName)(count, lastUsed, ?, ?) DESC, text
                LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [prefix, prefix + "\u{10FFFF}", now, halfLife, limit])
                .map(Self.wordTuple)
        }
    }

    /// Words that followed `context` (the last one or two finished words, any case; more are
    /// ignored but the last two). With two words: the trigram continuations (order 3) first, then
    /// the bigram continuations of the last word (order 2); each part best first by decayed score
    /// and holding at most `limit` rows.
    public func continuations(context: [String], limit: Int) -> [(word: String, order: Int, count: Int, lastUsed: Date)] {
        guard limit > 0 else { return [] }
        let words = context.suffix(2).map { HistoryText.lower(HistoryText.normalize($0)) }
        guard let last = words.last, !last.isEmpty else { return [] }
        var keys: [(context: String, order: Int)] = []
        if words.count == 2, !words[0].isEmpty { keys.append((words.joined(separator: " "), 3)) }
        keys.append((last, 2))
        let now = Date().timeIntervalSince1970
        let halfLife = self.halfLife
        return query([]) { db in
            let statement = try db.cachedStatement(sql: """
                SELECT word, "order", count, lastUsed FROM ngram
                WHERE context = ? AND "order" = ?
                ORDER BY \(HistorySchema.scoreFunctionName)(count, lastUsed, ?, ?) DESC, word
                LIMIT ?
                """)
            var result: [(word: String, order: Int, count: Int, lastUsed: Date)] = []
            for key in keys {
                for row in try Row.fetchAll(statement, arguments: [key.context, key.order, now, halfLife, limit]) {
                    result.append((try row.decode(atIndex: 0), try row.decode(atIndex: 1), try row.decode(atIndex: 2),
                                   Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 3))))
                }
            }
            return result
        }
    }

    /// Sum of all learned word counts (the number of words ever learned and still kept).
    public func totalWordCount() -> Int {
        query(0) { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT coalesce(sum(count), 0) FROM word")) ?? 0
        }
    }

    /// A number that changes whenever any process learns, forgets or clears: a counter in the
    /// file's `meta` table, bumped inside each writing transaction. Compare it with the token of a
    /// ``HistorySnapshot`` to know when to reload. (A counter in the file rather than
    /// `PRAGMA data_version`, which is per connection and so not comparable across pooled readers.)
    /// Costs one indexed read; -1 when the store cannot be read.
    public func changeToken() -> Int64 {
        query(-1) { db in try Self.generation(db) }
    }

    /// The engine's adaptation records of one kind, by the SHA-256 of the model each is for (at
    /// most one is kept; none in a history that never adapted).
    public func adaptationRecords(_ kind: AdaptationKind) -> [String: Data] {
        let prefix = Self.adaptationKeyPrefix + kind.rawValue + "."
        return query([:]) { db in
            var records: [String: Data] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key LIKE ?", arguments: [prefix + "%"]) {
                let key: String = row["key"]
                if let value = row["value"] as Data? { records[String(key.dropFirst(prefix.count))] = value }
            }
            return records
        }
    }

    /// Everything the engine needs in memory: the best `maxRows.words` words and `maxRows.ngrams`
    /// n-grams by decayed score, the total count and the change token, read in one transaction so
    /// they agree with each other.
    public func snapshot() throws -> HistorySnapshot {
        guard hasSchema else { return HistorySnapshot.empty }
        let cap = maxRows
        let halfLife = self.halfLife
        let now = Date().timeIntervalSince1970
        do {
            return try connections.reader.read { db in
                let words = try Self.fetchBounded(
                    db, table: "word", columns: "text, lower, count, lastUsed", order: "lower, count DESC, text",
                    cap: cap.words, now: now, halfLife: halfLife, decode: Self.word)
                let ngrams = try Self.fetchBounded(
                    db, table: "ngram", columns: #"context, word, "order", count, lastUsed"#,
                    order: "context, count DESC, word", cap: cap.ngrams, now: now, halfLife: halfLife, decode: Self.ngram)
                let total = try Int.fetchOne(db, sql: "SELECT coalesce(sum(count), 0) FROM word") ?? 0
                return HistorySnapshot(words: words, ngrams: ngrams, totalWordCount: total,
                                       changeToken: try Self.generation(db), halfLife: halfLife)
            }
        } catch {
            throw HistoryError(error, path: displayPath)
        }
    }

    /// All words and n-grams as pretty JSON (see ``HistoryExport``), for the user to inspect or keep.
    public func export() throws -> Data {
        guard hasSchema else { return try HistoryExport(words: [], ngrams: []).encoded() }
        let document: HistoryExport
        do {
            document = try connections.reader.read { db in
                let words = try Row.fetchAll(db, sql: "SELECT text, lower, count, lastUsed FROM word ORDER BY text")
                    .map(Self.word)
                let ngrams = try Row.fetchAll(db, sql: """
                    SELECT context, word, "order", count, lastUsed FROM ngram ORDER BY "order", context, word
                    """).map(Self.ngram)
                return HistoryExport(words: words, ngrams: ngrams)
            }
        } catch {
            throw HistoryError(error, path: displayPath)
        }
        return try document.encoded()
    }

    /// Row counts, total count, size on disk and location.
    public func stats() -> HistoryStats {
        let counts = query((0, 0, 0)) { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM word") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM ngram") ?? 0,
             try Int.fetchOne(db, sql: "SELECT coalesce(sum(count), 0) FROM word") ?? 0)
        }
        return HistoryStats(words: counts.0, ngrams: counts.1, totalWordCount: counts.2,
                            fileSize: path.map(HistoryFiles.sizeOnDisk) ?? 0, path: path, isReadOnly: isReadOnly)
    }

    /// Runs SQLite's `PRAGMA quick_check` (a few milliseconds for a full-size history) and returns
    /// the problem it found, or nil when the database is sound.
    public func integrityProblem() -> String? {
        guard hasSchema else { return nil }
        do {
            let lines = try connections.reader.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") }
            return lines == ["ok"] ? nil : lines.prefix(3).joined(separator: "; ")
        } catch {
            return HistoryError(error, path: displayPath).description
        }
    }

    // MARK: - Internals

    /// Runs a read; a store without schema, or a failing read, answers `fallback`.
    func query<T>(_ fallback: T, _ body: (Database) throws -> T) -> T {
        guard hasSchema else { return fallback }
        return (try? connections.reader.read(body)) ?? fallback
    }

    /// The rows of `table` in `order` (already the snapshot's order, so it need not sort again).
    /// Only when the table holds more than `cap` rows (written by a process with a larger cap) are
    /// they limited to the `cap` best by decayed score. Decodes from a cursor: no row copies.
    static func fetchBounded<T>(_ db: Database, table: String, columns: String, order: String, cap: Int,
                                now: Double, halfLife: Double, decode: (Row) throws -> T) throws -> [T] {
        let cap = max(0, cap)
        let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
        let cursor: RowCursor
        if rows <= cap {
            cursor = try Row.fetchCursor(db, sql: "SELECT \(columns) FROM \(table) ORDER BY \(order)")
        } else {
            cursor = try Row.fetchCursor(db, sql: """
                SELECT \(columns) FROM \(table) WHERE rowid IN (
                    SELECT rowid FROM \(table)
                    ORDER BY \(HistorySchema.scoreFunctionName)(count, lastUsed, ?, ?) DESC LIMIT ?)
                ORDER BY \(order)
                """, arguments: [now, halfLife, cap])
        }
        var result: [T] = []
        result.reserveCapacity(min(rows, cap))
        while let row = try cursor.next() {
            result.append(try decode(row))
        }
        return result
    }

    static func generation(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM meta WHERE key = ?"),
                           arguments: [HistorySchema.generationKey]) ?? 0
    }

    static func wordTuple(_ row: Row) throws -> (surface: String, count: Int, lastUsed: Date) {
        (try row.decode(atIndex: 0), try row.decode(atIndex: 1),
         Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 2)))
    }

    static func word(_ row: Row) throws -> HistoryWord {
        HistoryWord(text: try row.decode(atIndex: 0), lower: try row.decode(atIndex: 1),
                    count: try row.decode(atIndex: 2),
                    lastUsed: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 3)))
    }

    static func ngram(_ row: Row) throws -> HistoryNgram {
        HistoryNgram(context: try row.decode(atIndex: 0), word: try row.decode(atIndex: 1),
                     order: try row.decode(atIndex: 2), count: try row.decode(atIndex: 3),
                     lastUsed: Date(timeIntervalSince1970: try row.decode(Double.self, atIndex: 4)))
    }
}
