import Foundation

/// The user's own words as an in-memory trigram model (lowercased), rebuilt from the history store
/// and updated as lines are learned, so a keystroke never waits on SQLite.
///
/// Probabilities are interpolated Witten-Bell: a context seen often with few different followers
/// is trusted more than one seen rarely.
public struct UserModel: Sendable {
    /// Occurrences of each lowercased word, and its surface forms as the user writes them.
    public private(set) var unigrams: [String: Int] = [:]
    public private(set) var surfaces: [String: [String: Int]] = [:]
    public private(set) var totalWords = 0
    /// Followers of each context: "b" for bigrams, "a b" for trigrams (lowercased, one space).
    private var followers: [String: [String: Int]] = [:]
    private var contextTotals: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { totalWords == 0 }

    /// Adds one observation of `word` (surface form) after `previous` (lowercased, oldest first).
    public mutating func observe(surface: String, previous: [String], count: Int = 1) {
        let lower = surface.lowercased()
        unigrams[lower, default: 0] += count
        surfaces[lower, default: [:]][surface, default: 0] += count
        totalWords += count
        if let b = previous.last {
            addFollower(lower, to: b, count: count)
            if previous.count >= 2 { addFollower(lower, to: previous[previous.count - 2] + " " + b, count: count) }
        }
    }

    /// Adds n-gram counts without touching the unigrams (rows loaded from the history store).
    public mutating func addNgram(context: String, word: String, count: Int) {
        addFollower(word.lowercased(), to: context.lowercased(), count: count)
    }

    /// Adds unigram counts for a surface form (rows loaded from the history store).
    public mutating func addWord(surface: String, count: Int) {
        let lower = surface.lowercased()
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
        let lower = word.lowercased()
        if let c = unigrams.removeValue(forKey: lower) { totalWords -= c }
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
        guard totalWords > 0 else { return 0 }
        var p = Double(unigrams[word] ?? 0) / Double(totalWords)
        for context in contexts(previous) {
            guard let next = followers[context], let total = contextTotals[context], total > 0 else { continue }
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

    /// Lowercased words the user typed that start with `prefix`, with counts (a linear scan: the
    /// user's vocabulary is small, capped by the history store).
    public func words(withPrefix prefix: String) -> [(word: String, count: Int)] {
        unigrams.compactMap { $0.key.hasPrefix(prefix) ? ($0.key, $0.value) : nil }
    }
}
