import Foundation
import GRDB

extension HistoryStore {
    /// Learns one committed line. `tokens` are the line's tokens as the caller's tokenizer made
    /// them; punctuation tokens and refused words (``isLearnable(_:)``) are not learned and break
    /// n-gram chains, so no bigram spans a comma or a hidden e-mail address.
    ///
    /// In one transaction: each word's surface form count +1, each bigram (previous word → word)
    /// and trigram (previous two words → word) count +1, all with `lastUsed = date`; then the row
    /// caps (``maxRows``) are enforced. The transaction is committed with `synchronous = FULL`, so
    /// the line survives a crash or power loss once this returns. A line with nothing learnable
    /// writes nothing.
    ///
    /// Throws `.readOnly` / `.newerVersion` on a store that refuses writes, `.invalidInput` for
    /// more than ``maxTokensPerLine`` tokens.
    public func learn(tokens: [String], at date: Date = Date()) throws {
        _ = try learnLine(tokens: tokens, at: date)
    }

    /// ``learn(tokens:at:)``, returning the change token just before and just after this line's
    /// transaction (nil when nothing was written). The engine adopts `after` as its own token only
    /// when `before` is the token it last read: otherwise another process wrote in between, and
    /// adopting `after` would hide that process's lines from the engine until the next change.
    func learnLine(tokens: [String], at date: Date) throws -> (before: Int64, after: Int64)? {
        try learnLine(CommittedLine(tokens: LearnedToken.classify(tokens)), at: date)
    }

    /// Learns a line prepared by `LearningPolicy` (the engine's path: the same value its in-memory
    /// model learns). At most ``maxTokensPerLine`` tokens.
    /// `positions`: the user cache's positions of the line, written in the same transaction.
    func learnLine(_ line: CommittedLine, at date: Date, positions: CachePositionWrite? = nil) throws -> (before: Int64, after: Int64)? {
        try learnLines([line], at: date, positions: positions)
    }

    /// Learns many lines in one transaction (one fsync for all: an import of a file of notes,
    /// not the keystroke path). Each at most ``maxTokensPerLine`` tokens.
    func learnLines(_ lines: [CommittedLine], at date: Date, positions: CachePositionWrite? = nil) throws -> (before: Int64, after: Int64)? {
        for line in lines where line.tokens.count > Self.maxTokensPerLine {
            throw HistoryError.invalidInput("a line of \(line.tokens.count) tokens; at most \(Self.maxTokensPerLine) are learned at once")
        }
        if let readOnlyReason { throw readOnlyReason.error(path: displayPath) }
        let extracted = lines.map { Self.extract($0.tokens) }.filter { !$0.words.isEmpty }
        guard !extracted.isEmpty else { return nil }
        let now = date.timeIntervalSince1970
        let cap = maxRows
        let halfLife = self.halfLife
        var change: (before: Int64, after: Int64)?
        try write { db in
            for (words, ngrams) in extracted {
                for word in words {
                    try Self.addWord(db, surface: word.surface, lower: word.lower, count: 1, lastUsed: now)
                }
                for ngram in ngrams {
                    try Self.addNgram(db, context: ngram.context, word: ngram.word, order: ngram.order, count: 1, lastUsed: now)
                }
            }
            if let positions { try Self.addCachePositions(db, positions) }
            change = try Self.finishLearning(db, now: now, cap: cap, halfLife: halfLife)
        }
        return change
    }

    /// Adds `count` uses of a word; the later use wins. The one upsert every learning path
    /// (typing, imported text, merged exports) writes words with.
    static func addWord(_ db: Database, surface: String, lower: String, count: Int, lastUsed: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO word(text, lower, count, lastUsed) VALUES (?, ?, ?, ?)
            ON CONFLICT(text) DO UPDATE SET count = count + excluded.count, lastUsed = max(lastUsed, excluded.lastUsed)
            """).execute(arguments: [surface, lower, count, lastUsed])
    }

    /// Adds `count` uses of an n-gram, as `addWord` does for a word.
    static func addNgram(_ db: Database, context: String, word: String, order: Int, count: Int, lastUsed: Double) throws {
        try db.cachedStatement(sql: """
            INSERT INTO ngram(context, word, "order", count, lastUsed) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(context, word) DO UPDATE SET count = count + excluded.count, lastUsed = max(lastUsed, excluded.lastUsed)
            """).execute(arguments: [context, word, order, count, lastUsed])
    }

    /// Closes a learning write: a new generation (other processes see the change and reload), then
    /// the row caps enforced. Returns the generation before and after.
    static func finishLearning(_ db: Database, now: Double, cap: HistoryRowCap, halfLife: Double) throws -> (before: Int64, after: Int64) {
        let before = try generation(db)
        try bumpGeneration(db)
        let after = try generation(db)
        try prune(db, table: "word", cap: cap.words, now: now, halfLife: halfLife)
        try prune(db, table: "ngram", cap: cap.ngrams, now: now, halfLife: halfLife)
        return (before, after)
    }

    /// Forgets a word, whatever its case: every surface form of it, and every n-gram that holds it
    /// as context or as predicted word. Deleted rows are overwritten in the file (secure_delete) and
    /// the WAL is truncated so the word does not linger on disk. Returns how many rows went.
    @discardableResult
    public func forget(word: String) throws -> Int {
        if let readOnlyReason { throw readOnlyReason.error(path: displayPath) }
        let lower = HistoryText.lower(HistoryText.normalize(word))
        guard !lower.isEmpty else { return 0 }
        var removed = 0, positions = 0
        try write { db in
            try db.execute(sql: "DELETE FROM word WHERE lower = ?", arguments: [lower])
            removed += db.changesCount
            // A trigram context is "first second": match the word as either half.
            try db.execute(sql: """
                DELETE FROM ngram
                WHERE word = ?1 OR context = ?1
                   OR substr(context, 1, length(?2)) = ?2
                   OR substr(context, -length(?3)) = ?3
                """, arguments: [lower, lower + " ", " " + lower])
            removed += db.changesCount
            // The user cache's positions of the lines that held it go too; derived from those
            // lines, they are not counted as entries of their own.
            positions = try Self.forgetCachePositions(db, lower: lower)
            if removed + positions > 0 { try Self.bumpGeneration(db) }
        }
        if removed + positions > 0 { emptyJournal() }
        return removed
    }

    /// Moves what the -wal holds into the database and truncates it to nothing (after a forget,
    /// and when incognito begins, so no recent text lingers in the journal). Only with the writer
    /// already open: a store that never wrote has no journal of its own to empty. Best effort:
    /// another process reading right now may keep old frames alive until its read ends; the next
    /// checkpoint then overwrites them.
    func emptyJournal() {
        guard connections.hasWriter else { return }
        _ = try? connections.writerConnection(path: displayPath).writeWithoutTransaction { db in
            try db.checkpoint(.truncate)
        }
    }

    /// Deletes all learned words and n-grams, then checkpoints and truncates the WAL, vacuums, and
    /// truncates the WAL again, so that no learned text remains in the file or its WAL. The change
    /// token still moves forward, so other processes notice.
    public func clear() throws {
        try clear(afterMarking: nil)
    }

    /// `clear`, with a hook between marking the file and erasing (a test stops there to play a
    /// clear that was killed).
    func clear(afterMarking: (() -> Void)?) throws {
        if let readOnlyReason { throw readOnlyReason.error(path: displayPath) }
        if let path { try HistoryClearing.mark(path) }
        afterMarking?()
        do {
            let writer = try connections.writerConnection(path: displayPath)
            try writer.barrierWriteWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    try db.execute(sql: "DELETE FROM word; DELETE FROM ngram")
                    if try db.tableExists("cache_position") { try db.execute(sql: "DELETE FROM cache_position") }
                    try db.execute(sql: "DELETE FROM meta WHERE key LIKE ?", arguments: [Self.adaptationKeyPrefix + "%"])
                    try Self.bumpGeneration(db)
                    return .commit
                }
                try db.checkpoint(.truncate)
                // VACUUM rebuilds every page, so no freed page or cell keeps old text.
                try db.execute(sql: "VACUUM")
                try db.checkpoint(.truncate)
            }
        } catch {
            // The marker stays: the next open finishes what this clear could not.
            let reason = HistoryError(error, path: displayPath).localizedDescription
            throw HistoryError.io(path: displayPath, message: "could not finish erasing the history (\(reason)); learned text may "
                                  + "remain in the file until the clear is finished, which NextWord tries again each time it opens it")
        }
        if let path { HistoryClearing.unmark(path) }
    }

    /// What the engine keeps of its adaptation to the user, one record of each kind per model.
    public enum AdaptationKind: String, Sendable, CaseIterable {
        /// `BiasAdaptation`'s offsets.
        case decoderBias = "decoder-bias"
        /// `AdaptiveMixture`'s weights (JSON).
        case mixture
    }

    /// Keys of the adaptation records in `meta`: the prefix, the kind, ".", the model's SHA-256.
    static let adaptationKeyPrefix = "adaptation."

    static func adaptationKey(_ kind: AdaptationKind, model: String) -> String { adaptationKeyPrefix + kind.rawValue + "." + model }

    /// Keeps the engine's adaptation records for `model` (its SHA-256) in one transaction,
    /// replacing those of another model (a new model starts its own).
    ///
    /// Committed without waiting for the disk (`synchronous = NORMAL`): the records are derived
    /// from lines already durable, so a power cut may cost their last update but never a line, and
    /// a learned line costs one fsync, not two. The next durable commit carries them to disk too.
    public func saveAdaptationRecords(_ records: [AdaptationKind: Data], model: String) throws {
        if let readOnlyReason { throw readOnlyReason.error(path: displayPath) }
        guard !records.isEmpty else { return }
        try write(durable: false) { db in
            for (kind, record) in records {
                let key = Self.adaptationKey(kind, model: model)
                try db.execute(sql: "DELETE FROM meta WHERE key LIKE ? AND key != ?",
                               arguments: [Self.adaptationKeyPrefix + kind.rawValue + ".%", key])
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, record])
            }
        }
    }

    // MARK: - Internals

    /// Runs `body` in an IMMEDIATE transaction on the writer. IMMEDIATE takes the write lock up front,
    /// so a concurrent writer in another process makes us wait (busy timeout) instead of failing
    /// with a stale snapshot. `durable` false commits at `synchronous = NORMAL` (no fsync of the
    /// WAL; for data derived from what is already durable), then goes back to FULL.
    func write(durable: Bool = true, _ body: (Database) throws -> Void) throws {
        do {
            let writer = try connections.writerConnection(path: displayPath)
            try writer.writeWithoutTransaction { db in
                if !durable { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
                defer { if !durable { try? db.execute(sql: "PRAGMA synchronous = FULL") } }
                try db.inTransaction(.immediate) {
                    try body(db)
                    return .commit
                }
            }
        } catch {
            throw HistoryError(error, path: displayPath)
        }
    }

    /// Words and n-gram increments of a classified line (`LearnedToken.wordsInContext`'s chains).
    static func extract(_ tokens: [LearnedToken]) -> (words: [(surface: String, lower: String)],
                                                      ngrams: [(context: String, word: String, order: Int)]) {
        var words: [(surface: String, lower: String)] = []
        var ngrams: [(context: String, word: String, order: Int)] = []
        LearnedToken.wordsInContext(tokens) { surface, lower, context in
            words.append((surface, lower))
            if let previous = context.last { ngrams.append((previous, lower, 2)) }
            if context.count == 2 { ngrams.append((context.joined(separator: " "), lower, 3)) }
        }
        return (words, ngrams)
    }

    static func bumpGeneration(_ db: Database) throws {
        try db.execute(sql: "UPDATE meta SET value = value + 1 WHERE key = ?", arguments: [HistorySchema.generationKey])
    }

    /// When `table` holds more than `cap` rows, deletes the lowest-scoring ones down to 90 % of the
    /// cap (so the sort runs once per many lines, not on every line). Ties go to the older row.
    static func prune(_ db: Database, table: String, cap: Int, now: Double, halfLife: Double) throws {
        let cap = max(0, cap)
        let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
        guard rows > cap else { return }
        let target = cap - cap / 10
        try db.execute(sql: """
            DELETE FROM \(table) WHERE rowid IN (
                SELECT rowid FROM \(table)
                ORDER BY \(HistorySchema.scoreFunctionName)(count, lastUsed, ?, ?), lastUsed, rowid
                LIMIT ?)
            """, arguments: [now, halfLife, rows - target])
    }
}
