import Foundation

/// What the engine knows after reading a context (the text before the word being typed): what it
/// read (`ReadContext`), the corpus models' mixed distribution, and each other source's
/// distribution once asked for.
final class ContextEntry {
    /// The context's UTF-8 bytes: the key, and what later contexts are compared against.
    let key: [UInt8]
    let context: ReadContext
    /// The corpus models mixed with their fixed shares, over the vocabulary [V]:
    /// (1 − n-gram share) · P_lstm + n-gram share · P_kn.
    let corpus: [Float]
    /// The learning policy's state over the document so far, the chunk still being typed, and the
    /// words the LSTM has read whose learnability the policy has not settled yet, with their states.
    let scanner: LearningScanner
    let pendingChunk: String
    let pendingWords: [(state: [Float], word: String)]
    /// The sparse sources' distributions after this context, with the source version each was
    /// computed for: made at the first keystroke after it, reused by the rest of the word.
    var sparse: [SourceKind: (version: Int, distribution: [String: Float])] = [:]
    /// Each sparse distribution's words with the letters typed last, so the next keystroke of the
    /// same word filters those few instead of the whole distribution (a full user cache offers
    /// thousands of words after a context; the typed letters only ever narrow them).
    private var narrowed: [SourceKind: (version: Int, typed: String, words: [(word: String, probability: Float)])] = [:]

    init(key: [UInt8], context: ReadContext, corpus: [Float], scanner: LearningScanner,
         pendingChunk: String, pendingWords: [(state: [Float], word: String)]) {
        self.key = key; self.context = context; self.corpus = corpus
        self.scanner = scanner; self.pendingChunk = pendingChunk; self.pendingWords = pendingWords
    }

    /// `source`'s distribution after this context, computed once per source version.
    func distribution(of source: PredictionSource) -> [String: Float] {
        if let known = sparse[source.kind], known.version == source.version { return known.distribution }
        let distribution: [String: Float]
        switch source.distribution(after: context) {
        case .sparse(let words): distribution = words
        case .dense: distribution = [:]  // a corpus model's share is in `corpus` already
        }
        sparse[source.kind] = (source.version, distribution)
        return distribution
    }

    /// The words of `source`'s distribution that start with `typed` (lowercased letters, not
    /// empty), in no particular order.
    func words(of source: PredictionSource, withPrefix typed: String) -> [(word: String, probability: Float)] {
        let words: [(word: String, probability: Float)]
        if let last = narrowed[source.kind], last.version == source.version, typed.hasPrefix(last.typed) {
            words = last.typed == typed ? last.words : last.words.filter { $0.word.hasPrefix(typed) }
        } else {
            words = distribution(of: source).compactMap { $0.key.hasPrefix(typed) ? ($0.key, $0.value) : nil }
        }
        narrowed[source.kind] = (source.version, typed, words)
        return words
    }

    /// `source`'s probability of `word` after this context.
    func probability(of word: String, from source: PredictionSource) -> Float {
        source.probability(of: word, after: context) ?? distribution(of: source)[word] ?? 0
    }
}

/// Remembers the few contexts most recently read, so a keystroke inside a word reuses its
/// context's distribution outright and a new word costs one LSTM step from the context before it.
/// Not thread-safe: the engine uses it under its lock.
final class ContextCache {
    private var entries: [ContextEntry] = []
    let capacity: Int

    init(capacity: Int = 16) { self.capacity = capacity }

    /// The entry for exactly `key`, or the cached entry whose key is the longest prefix of it.
    func lookup(_ key: [UInt8]) -> (exact: Bool, base: ContextEntry?) {
        var best: ContextEntry?
        // Most recently used first: a keystroke inside a word finds its context at once.
        for entry in entries.reversed() where entry.key.count <= key.count {
            if let current = best, current.key.count >= entry.key.count { continue }
            let isPrefix = entry.key.isEmpty || entry.key.withUnsafeBytes { e in
                key.withUnsafeBytes { k in memcmp(e.baseAddress!, k.baseAddress!, e.count) == 0 }
            }
            guard isPrefix else { continue }
            best = entry
            if entry.key.count == key.count { break }
        }
        if let best {
            // Keep `entries` in order of use, most recent last.
            if let index = entries.firstIndex(where: { $0 === best }) { entries.append(entries.remove(at: index)) }
        }
        return (best?.key.count == key.count, best)
    }

    func insert(_ entry: ContextEntry) {
        if entries.count >= capacity { entries.removeFirst() }  // the least recently used
        entries.append(entry)
    }

    func removeAll() { entries.removeAll() }
}
