import Foundation

/// Remembered positions of a document for the neural cache (Grave, Joulin & Usunier 2017): the
/// LSTM's top-layer state h_i just before a word, and that word.
///
/// Contexts of one document extend each other, so memories are persistent lists: a context's
/// memory is its base's plus the words read since, sharing the base's nodes. A list longer than
/// twice the window is copied down to the window, so a long session keeps bounded memory.
/// Immutable once made.
final class CacheMemory: @unchecked Sendable {
    let parent: CacheMemory?
    /// [n, H] states and their n words (lowercased), oldest first.
    let states: [Float]
    let words: [String]
    /// Items in this node and all its parents.
    let count: Int

    init(parent: CacheMemory?, states: [Float], words: [String]) {
        self.parent = parent
        self.states = states
        self.words = words
        self.count = (parent?.count ?? 0) + words.count
    }

    /// This memory plus `words` with their `states` ([n, H]); compacted to the last `window` items
    /// when it grows past twice that.
    static func appending(_ base: CacheMemory?, states: [Float], words: [String], hidden: Int, window: Int) -> CacheMemory? {
        guard !words.isEmpty else { return base }
        let node = CacheMemory(parent: base, states: states, words: words)
        guard node.count > 2 * window else { return node }
        var keptStates: [Float] = [], keptWords: [String] = []
        node.forEachRecent(window) { state, word in
            keptStates.append(contentsOf: state)
            keptWords.append(word)
        }
        // forEachRecent goes newest first: store oldest first again.
        let n = keptWords.count
        var ordered = [Float](repeating: 0, count: n * hidden)
        for i in 0 ..< n {
            for j in 0 ..< hidden { ordered[(n - 1 - i) * hidden + j] = keptStates[i * hidden + j] }
        }
        return CacheMemory(parent: nil, states: ordered, words: keptWords.reversed())
    }

    /// The word of the newest position.
    var newestWord: String? { words.last ?? parent?.newestWord }

    /// Calls `body` with the newest `limit` items, newest first.
    func forEachRecent(_ limit: Int, _ body: (ArraySlice<Float>, String) -> Void) {
        var node: CacheMemory? = self
        var left = limit
        while let current = node, left > 0 {
            let hidden = current.words.isEmpty ? 0 : current.states.count / current.words.count
            var i = current.words.count - 1
            while i >= 0 && left > 0 {
                body(current.states[i * hidden ..< (i + 1) * hidden], current.words[i])
                i -= 1
                left -= 1
            }
            node = current.parent
        }
    }
}

/// p_cache(w) ∝ Σ_{i: w_{i+1} = w} exp(θ · h · h_i − decay · age_i) over the last `window`
/// remembered positions, age_i = 0 for the newest (an older position fades; decay 0 is Grave et
/// al.'s cache).
struct NeuralCache {
    let window: Int
    let theta: Float
    /// How fast an older position fades, per position of age.
    var decay: Float = 0

    /// The cache's distribution over the words it remembers, for the state `query` [H].
    ///
    /// With `skippingNewest`, the newest position is left out when its word is that one: it is
    /// the word just typed, remembered by the state just before it, which is the state most like
    /// the query; left in, the cache mostly proposes the word on the screen again.
    func distribution(query: [Float], memory: CacheMemory?, skippingNewest justTyped: String? = nil) -> [String: Float] {
        guard let memory, memory.count > 0, window > 0 else { return [:] }
        var scores: [Float] = [], words: [String] = []
        scores.reserveCapacity(min(window, memory.count))
        var first = true
        var age: Float = 0
        query.withUnsafeBufferPointer { q in
            memory.forEachRecent(window) { state, word in
                defer { first = false; age += 1 }
                if first, let justTyped, word == justTyped { return }
                let dot = state.withUnsafeBufferPointer { dotVectorized(q, $0) }
                scores.append(theta * dot - decay * age)
                words.append(word)
            }
        }
        guard let top = scores.max() else { return [:] }
        var result: [String: Float] = [:]
        var total: Float = 0
        for (score, word) in zip(scores, words) {
            let e = Foundation.exp(score - top)
            result[word, default: 0] += e
            total += e
        }
        for key in result.keys { result[key]! /= total }
        return result
    }
}
