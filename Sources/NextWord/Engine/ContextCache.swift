import Foundation

/// What the engine knows after reading a context (the text before the word being typed): the
/// LSTM state, the mixed model distribution over the vocabulary, and the words just written.
final class ContextEntry {
    /// The context's UTF-8 bytes: the key, and what later contexts are compared against.
    let key: [UInt8]
    let state: RecurrentState<Float>
    /// Last token ids fed to the model (for the n-gram), at most two.
    let lastIDs: [Int32]
    /// (1 − n-gram share) · P_lstm + n-gram share · P_kn over the vocabulary [V].
    let distribution: [Float]
    /// The last two lowercased words (for the user's n-grams); punctuation breaks the chain.
    let previousWords: [String]
    /// The last word of the context, whatever punctuation followed it: the word just typed.
    let lastWord: String?
    /// Whether the next word starts a sentence (document start, after . ! ? or a line break).
    let sentenceStart: Bool
    /// The neural cache's memory of the document (states before its words), and its distribution
    /// for this context (`NeuralCache`), lowercased words.
    let memory: CacheMemory?
    let cacheDistribution: [String: Float]
    /// The learning policy's state over the document so far, the chunk still being typed, and the
    /// words the LSTM has read whose learnability the policy has not settled yet, with their states.
    let scanner: LearningScanner
    let pendingChunk: String
    let pendingWords: [(state: [Float], word: String)]
    /// The user-history term (weight × P_history) of the words worth boosting after this context —
    /// its followers in the user's n-grams and the user's most frequent words — with the user-model
    /// version it was computed for. Built at the first keystroke, reused by the rest of the word.
    var userBoosts: [String: Float] = [:]
    var userBoostsVersion = -1

    init(key: [UInt8], state: RecurrentState<Float>, lastIDs: [Int32], distribution: [Float], previousWords: [String],
         lastWord: String?, sentenceStart: Bool, memory: CacheMemory?, cacheDistribution: [String: Float], scanner: LearningScanner,
         pendingChunk: String, pendingWords: [(state: [Float], word: String)]) {
        self.key = key; self.state = state; self.lastIDs = lastIDs; self.distribution = distribution
        self.previousWords = previousWords; self.lastWord = lastWord; self.sentenceStart = sentenceStart
        self.memory = memory; self.cacheDistribution = cacheDistribution
        self.scanner = scanner; self.pendingChunk = pendingChunk; self.pendingWords = pendingWords
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
