import Foundation

/// One learned surface form, as stored in the `word` table.
public struct HistoryWord: Sendable, Equatable, Codable {
    /// The form as the user typed it (NFC, curly apostrophes made straight), e.g. "Paris", "don't".
    public var text: String
    /// `text.lowercased()`, the key of case-insensitive lookups and completions.
    public var lower: String
    /// How many times it was committed.
    public var count: Int
    /// When it was last committed.
    public var lastUsed: Date

    /// A word as stored; `lower` is expected to be `text.lowercased()`.
    public init(text: String, lower: String, count: Int, lastUsed: Date) {
        self.text = text
        self.lower = lower
        self.count = count
        self.lastUsed = lastUsed
    }
}

/// One learned n-gram, as stored in the `ngram` table.
public struct HistoryNgram: Sendable, Equatable, Codable {
    /// The previous word (order 2) or previous two words joined by one space (order 3), lowercased.
    public var context: String
    /// The word that followed the context, lowercased.
    public var word: String
    /// 2 for a bigram, 3 for a trigram.
    public var order: Int
    /// How many times `word` followed `context`.
    public var count: Int
    /// When it last did.
    public var lastUsed: Date

    /// An n-gram as stored; `order` is expected to be the number of context words plus one.
    public init(context: String, word: String, order: Int, count: Int, lastUsed: Date) {
        self.context = context
        self.word = word
        self.order = order
        self.count = count
        self.lastUsed = lastUsed
    }
}

/// How many rows the store keeps. When `learn` leaves more rows than this in a table, the
/// lowest-scoring rows (``HistoryStore/score(count:lastUsed:now:halfLife:)``) are deleted in the same
/// transaction, down to 90 % of the cap so that pruning runs once per many lines, not on each one.
public struct HistoryRowCap: Sendable, Equatable {
    /// Most rows of the `word` table.
    public var words: Int
    /// Most rows of the `ngram` table (bigrams and trigrams together).
    public var ngrams: Int

    /// Caps below zero count as zero.
    public init(words: Int, ngrams: Int) {
        self.words = words
        self.ngrams = ngrams
    }

    /// 20,000 words and 50,000 n-grams: a few megabytes on disk.
    public static let standard = HistoryRowCap(words: 20_000, ngrams: 50_000)
}

/// What `stats()` reports.
public struct HistoryStats: Sendable, Equatable {
    /// Rows of the `word` table (distinct surface forms).
    public var words: Int
    /// Rows of the `ngram` table.
    public var ngrams: Int
    /// Sum of all word counts.
    public var totalWordCount: Int
    /// Bytes on disk of the database file plus its write-ahead log; 0 in memory.
    public var fileSize: Int64
    /// The database file; nil in memory.
    public var path: URL?
    /// Whether the store refuses writes.
    public var isReadOnly: Bool
}

/// The document `export()` writes: every word and n-gram, sorted, as pretty JSON with sorted keys
/// and dates as seconds since 1970. Decode with ``HistoryExport/decode(_:)``.
public struct HistoryExport: Sendable, Equatable, Codable {
    /// Always "nextword-history".
    public var format: String
    /// Version of this document's layout (1).
    public var version: Int
    /// Sorted by surface form (UTF-8 byte order).
    public var words: [HistoryWord]
    /// Sorted by order, then context, then word.
    public var ngrams: [HistoryNgram]

    /// A document of the current format and version holding `words` and `ngrams` as given.
    public init(words: [HistoryWord], ngrams: [HistoryNgram]) {
        format = HistorySchema.schemaName
        version = 1
        self.words = words
        self.ngrams = ngrams
    }

    /// The JSON encoding `export()` uses.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        do {
            return try encoder.encode(self)
        } catch {
            throw HistoryError.io(path: "export", message: "could not encode: \(error)")
        }
    }

    /// Reads a document written by `export()`.
    public static func decode(_ data: Data) throws -> HistoryExport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        let document: HistoryExport
        do {
            document = try decoder.decode(HistoryExport.self, from: data)
        } catch {
            throw HistoryError.invalidInput("not a history export: \(error)")
        }
        guard document.format == HistorySchema.schemaName else {
            throw HistoryError.invalidInput("not a history export: format is \"\(document.format)\"")
        }
        return document
    }
}

/// What `openOrRecover` had to do to give back a usable store. Shown to the user, so nothing is
/// lost silently.
public struct RecoveryNote: Sendable, Equatable, CustomStringConvertible {
    /// What was done.
    public enum Kind: Sendable, Equatable {
        /// The damaged file (and its -wal/-shm) now lives at `damagedFile`; a new, empty history
        /// was started in its place.
        case movedAside(damagedFile: URL)
        /// The store was opened read-only: learning is disabled until the cause is fixed.
        case openedReadOnly
    }

    /// What was done.
    public var kind: Kind
    /// One sentence for the user: what happened and why.
    public var message: String

    public var description: String { message }
}
