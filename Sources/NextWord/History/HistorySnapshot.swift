import Foundation

/// An in-memory copy of the history for the suggestion engine: taken once with
/// ``HistoryStore/snapshot()``, answered per keystroke without SQLite, and replaced when
/// ``HistoryStore/changeToken()`` differs from ``changeToken``.
public struct HistorySnapshot: Sendable {
    /// Sorted by `lower` in UTF-8 byte order (the order SQLite uses), then most used first.
    public let words: [HistoryWord]
    /// Sorted by `context`, then most used first.
    public let ngrams: [HistoryNgram]
    /// Sum of the counts of all words in the store (not only those kept in the snapshot).
    public let totalWordCount: Int
    /// The store's change token when the snapshot was read.
    public let changeToken: Int64
    /// The half-life used to rank by ``HistoryStore/score(count:lastUsed:now:halfLife:)``.
    public let halfLife: TimeInterval
    /// `ngrams` index range of each context.
    private let contextRanges: [String: Range<Int>]

    /// An empty history.
    public static let empty = HistorySnapshot(words: [], ngrams: [], totalWordCount: 0, changeToken: 0,
                                              halfLife: HistoryStore.defaultHalfLife)

    /// Builds a snapshot from rows in any order (they are sorted and indexed here); the engine's
    /// tests can make one without a store.
    public init(words: [HistoryWord], ngrams: [HistoryNgram], totalWordCount: Int, changeToken: Int64,
                halfLife: TimeInterval) {
        // HistoryStore.snapshot() reads rows already in this order; only sort what is not.
        self.words = Self.sortedIfNeeded(words, by: Self.wordPrecedes)
        let sortedNgrams = Self.sortedIfNeeded(ngrams, by: Self.ngramPrecedes)
        var ranges: [String: Range<Int>] = [:]
        var start = 0
        while start < sortedNgrams.count {
            var end = start + 1
            while end < sortedNgrams.count, sortedNgrams[end].context == sortedNgrams[start].context { end += 1 }
            ranges[sortedNgrams[start].context] = start..<end
            start = end
        }
        self.ngrams = sortedNgrams
        self.contextRanges = ranges
        self.totalWordCount = totalWordCount
        self.changeToken = changeToken
        self.halfLife = halfLife
    }

    /// The surface forms learned for a lowercase word, most used first.
    public func surfaces(lower: String) -> [HistoryWord] {
        let key = HistoryText.lower(HistoryText.normalize(lower))
        var index = lowerBound(key)
        var result: [HistoryWord] = []
        while index < words.count, words[index].lower == key {
            result.append(words[index])
            index += 1
        }
        return result
    }

    /// Words starting with `prefix` (any case), best first by decayed score at `now`, at most `limit`.
    public func completions(prefix: String, limit: Int, now: Date = Date()) -> [HistoryWord] {
        guard limit > 0 else { return [] }
        let key = HistoryText.lower(HistoryText.normalize(prefix))
        var index = lowerBound(key)
        var matches: [HistoryWord] = []
        while index < words.count, words[index].lower.utf8.starts(with: key.utf8) {
            matches.append(words[index])
            index += 1
        }
        return Array(ranked(matches, now: now).prefix(limit))
    }

    /// Like ``HistoryStore/continuations(context:limit:)``: trigram continuations of the last two
    /// words (order 3) first, then bigram continuations of the last word (order 2), each part best
    /// first by decayed score at `now` and at most `limit` long.
    public func continuations(context: [String], limit: Int, now: Date = Date()) -> [HistoryNgram] {
        guard limit > 0 else { return [] }
        let keys = context.suffix(2).map { HistoryText.lower(HistoryText.normalize($0)) }
        guard let last = keys.last, !last.isEmpty else { return [] }
        var result: [HistoryNgram] = []
        if keys.count == 2, !keys[0].isEmpty, let range = contextRanges[keys.joined(separator: " ")] {
            result += ranked(Array(ngrams[range]), now: now).prefix(limit)
        }
        if let range = contextRanges[last] {
            result += ranked(Array(ngrams[range]), now: now).prefix(limit)
        }
        return result
    }

    private func ranked(_ words: [HistoryWord], now: Date) -> [HistoryWord] {
        words.map { (HistoryStore.score(count: $0.count, lastUsed: $0.lastUsed, now: now, halfLife: halfLife), $0) }
            .sorted { $0.0 != $1.0 ? $0.0 > $1.0 : Self.precedes($0.1.text, $1.1.text) }
            .map(\.1)
    }

    private func ranked(_ ngrams: [HistoryNgram], now: Date) -> [HistoryNgram] {
        ngrams.map { (HistoryStore.score(count: $0.count, lastUsed: $0.lastUsed, now: now, halfLife: halfLife), $0) }
            .sorted { $0.0 != $1.0 ? $0.0 > $1.0 : Self.precedes($0.1.word, $1.1.word) }
            .map(\.1)
    }

    /// First index whose `lower` is not below `key` in byte order.
    private func lowerBound(_ key: String) -> Int {
        var low = 0, high = words.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(words[middle].lower, key) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// UTF-8 byte order, as SQLite's BINARY collation compares (Swift's `<` compares differently).
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// `lower` ascending, then most used first, then `text`: SQL `ORDER BY lower, count DESC, text`.
    static func wordPrecedes(_ a: HistoryWord, _ b: HistoryWord) -> Bool {
        if !a.lower.utf8.elementsEqual(b.lower.utf8) { return precedes(a.lower, b.lower) }
        if a.count != b.count { return a.count > b.count }
        return precedes(a.text, b.text)
    }

    /// `context` ascending, then most used first, then `word`: SQL `ORDER BY context, count DESC, word`.
    static func ngramPrecedes(_ a: HistoryNgram, _ b: HistoryNgram) -> Bool {
        if !a.context.utf8.elementsEqual(b.context.utf8) { return precedes(a.context, b.context) }
        if a.count != b.count { return a.count > b.count }
        return precedes(a.word, b.word)
    }

    private static func sortedIfNeeded<T>(_ items: [T], by precedes: (T, T) -> Bool) -> [T] {
        for index in items.indices.dropFirst() where precedes(items[index], items[index - 1]) {
            return items.sorted(by: precedes)
        }
        return items
    }
}
