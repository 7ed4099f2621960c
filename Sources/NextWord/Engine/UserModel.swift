import Foundation

/// The user's own words as an in-memory trigram model (lowercased), rebuilt from the history store
/// and updated as lines are learned, so a keystroke never waits on SQLite.
///
/// Probabilities are interpolated Witten-Bell: a context seen often with few different followers
/// is trusted more than one seen rarely.
package struct UserModel: Sendable {
    /// Occurrences of each lowercased word, and its surface forms as the user writes them.
    public private(set) var unigrams: [String: Int] = [:]
    public private(set) var surfaces: [String: [String: Int]] = [:]
    public private(set) var totalWords = 0
    /// Bumped on every change, so caches built from this model know when they are stale.
    public private(set) var version = 0
    /// The lowercased words in UTF-8 byte order, for prefix lookups in O(log n + matches).
    private var sortedWords: [[UInt8]] = []
    /// Followers of each context: "b" for bigrams, "a b" for trigrams (lowercased, one space).
    private var followers: [String: [String: Int]] = [:]
    private var contextTotals: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { totalWords == 0 }

    /// Adds one observation of `word` (surface form) after `previous` (lowercased, oldest first).
    public mutating func observe(surface: String, previous: [String], count: Int = 1) {
        addWord(surface: surface, count: count)
        let lower = surface.lowercased()
        if let b = previous.last {
            addFollower(lower, to: b, count: count)
            if previous.count >= 2 { addFollower(lower, to: previous[previous.count - 2] + " " + b, count: count) }
        }
    }

    /// Adds n-gram counts without touching the unigrams (rows loaded from the history store).
    public mutating func addNgram(context: String, word: String, count: Int) {
        version += 1
        addFollower(word.lowercased(), to: context.lowercased(), count: count)
    }

    /// Adds unigram counts for a surface form (rows loaded from the history store).
    public mutating func addWord(surface: String, count: Int) {
        version += 1
        let lower = surface.lowercased()
        index(lower)
        unigrams[lower, default: 0] += count
        surfaces[lower, default: [:]][surface, default: 0] += count
        totalWords += count
    }

    private mutating func addFollower(_ word: String, to context: String, count: Int) {
        followers[context, default: [:]][word, default: 0] += count
        contextTotals[context, default: 0] += count
    }

    /// Drops a word everywhere.
    public mutating func forget(_ word: String) {
        version += 1
        let lower = word.lowercased()
        if let c = unigrams.removeValue(forKey: lower) { totalWords -= c }
        let key = Array(lower.utf8)
        let position = lowerBound(key)
        if position < sortedWords.count, sortedWords[position] == key { sortedWords.remove(at: position) }
        surfaces.removeValue(forKey: lower)
        for key in Array(followers.keys) {
            if key == lower || key.split(separator: " ").contains(Substring(lower)) {
                followers.removeValue(forKey: key)
                contextTotals.removeValue(forKey: key)
            } else if let c = followers[key]?.removeValue(forKey: lower) {
                contextTotals[key, default: 0] -= c
            }
        }
    }

    /// P(word | previous) — Witten-Bell interpolation of trigram, bigram and unigram relative frequencies.
    public func probability(of word: String, previous: [String]) -> Double {
        probability(of: word, after: contextTables(previous))
    }

    /// The followers and totals of `previous`'s known contexts, lowest order first: what
    /// `probability(of:after:)` interpolates, looked up once for all the words scored after one context.
    typealias ContextTables = [(next: [String: Int], total: Int)]

    func contextTables(_ previous: [String]) -> ContextTables {
        contexts(previous).compactMap { context in
            guard let next = followers[context], let total = contextTotals[context], total > 0 else { return nil }
            return (next, total)
        }
    }

    func probability(of word: String, after tables: ContextTables) -> Double {
        guard totalWords > 0 else { return 0 }
        var p = Double(unigrams[word] ?? 0) / Double(totalWords)
        for (next, total) in tables {
            let types = Double(next.count)
            p = (Double(next[word] ?? 0) + types * p) / (Double(total) + types)
        }
        return p
    }

    /// The contexts to interpolate, lowest order first: "b", then "a b".
    private func contexts(_ previous: [String]) -> [String] {
        guard let b = previous.last else { return [] }
        if previous.count >= 2 { return [b, previous[previous.count - 2] + " " + b] }
        return [b]
    }

    /// Words seen after the longest known context, for next-word candidates outside the model's vocabulary.
    public func followers(of previous: [String]) -> [String: Int] {
        var merged: [String: Int] = [:]
        for context in contexts(previous) { merged.merge(followers[context] ?? [:]) { $0 + $1 } }
        return merged
    }

    /// The user's most frequent surface form of a lowercased word.
    public func preferredSurface(of lower: String) -> String? {
        surfaces[lower]?.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
    }

    /// The share of the word's uses written with a capital first letter.
    public func capitalizedShare(of lower: String) -> Double? {
        guard let uses = capitalizedUses(of: lower), uses.total > 0 else { return nil }
        return Double(uses.capitalized) / Double(uses.total)
    }

    /// How often the user wrote the word, and how often with a capital first letter.
    func capitalizedUses(of lower: String) -> (capitalized: Int, total: Int)? {
        guard let forms = surfaces[lower] else { return nil }
        var total = 0, capitalized = 0
        for (form, count) in forms {
            total += count
            if form.first?.isUppercase == true { capitalized += count }
        }
        return (capitalized, total)
    }

    /// Lowercased words the user typed that start with `prefix`, with counts.
    public func words(withPrefix prefix: String, limit: Int = .max) -> [(word: String, count: Int)] {
        let key = Array(prefix.utf8)
        var result: [(word: String, count: Int)] = []
        var position = lowerBound(key)
        while result.count < limit, position < sortedWords.count, sortedWords[position].starts(with: key) {
            let word = String(decoding: sortedWords[position], as: UTF8.self)
            result.append((word, unigrams[word] ?? 0))
            position += 1
        }
        return result
    }

    /// The `limit` most frequent words (ties alphabetical).
    public func mostFrequent(_ limit: Int) -> [String] {
        var top = unigrams.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        if top.count > limit { top.removeLast(top.count - limit) }
        return top.map(\.key)
    }

    /// Keeps `sortedWords` holding every word of `unigrams` (a new word is inserted in place).
    private mutating func index(_ lower: String) {
        guard unigrams[lower] == nil else { return }
        let key = Array(lower.utf8)
        sortedWords.insert(key, at: lowerBound(key))
    }

    /// The first position whose word is not before `key`.
    private func lowerBound(_ key: [UInt8]) -> Int {
        var low = 0, high = sortedWords.count
        while low < high {
            let mid = (low + high) / 2
            if sortedWords[mid].lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
