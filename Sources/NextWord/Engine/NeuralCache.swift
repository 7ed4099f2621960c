import CKernels
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
    /// [n, H] states as fp16 bit patterns (half the memory of fp32: a long window is kept by every
    /// context a session caches), and their n words (lowercased), oldest first.
    let states: [UInt16]
    let words: [String]
    /// H, the width of a state.
    let hidden: Int
    /// Items in this node and all its parents.
    let count: Int

    init(parent: CacheMemory?, states: [UInt16], words: [String], hidden: Int) {
        self.parent = parent
        self.states = states
        self.words = words
        self.hidden = hidden
        self.count = (parent?.count ?? 0) + words.count
    }

    /// This memory plus `words` with their `states` ([n, H] fp32, stored as fp16); compacted to
    /// the last `window` items when it grows past twice that.
    static func appending(_ base: CacheMemory?, states: [Float], words: [String], hidden: Int, window: Int) -> CacheMemory? {
        guard !words.isEmpty else { return base }
        var halves = [UInt16](repeating: 0, count: states.count)
        states.withUnsafeBufferPointer { nw_floats_to_halves($0.baseAddress!, &halves, states.count) }
        let node = CacheMemory(parent: base, states: halves, words: words, hidden: hidden)
        guard node.count > 2 * window else { return node }
        // The newest `window` rows, node by node (newest node first), then laid out oldest first.
        var pieces: [(node: CacheMemory, rows: Range<Int>)] = []
        node.forEachRecentRun(window) { pieces.append(($0, $1)) }
        var kept: [UInt16] = [], keptWords: [String] = []
        kept.reserveCapacity(window * hidden)
        for (piece, rows) in pieces.reversed() {
            kept += piece.states[rows.lowerBound * hidden ..< rows.upperBound * hidden]
            keptWords += piece.words[rows]
        }
        return CacheMemory(parent: nil, states: kept, words: keptWords, hidden: hidden)
    }

    /// The word of the newest position.
    var newestWord: String? { words.last ?? parent?.newestWord }

    /// Calls `body` with the runs of rows holding the newest `limit` items, newest node first;
    /// each run is the newest rows of its node, in their order (oldest first).
    func forEachRecentRun(_ limit: Int, _ body: (CacheMemory, Range<Int>) -> Void) {
        var node: CacheMemory? = self
        var left = limit
        while let current = node, left > 0 {
            let take = min(left, current.words.count)
            if take > 0 { body(current, current.words.count - take ..< current.words.count) }
            left -= take
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
        var dots: [Float] = []
        query.withUnsafeBufferPointer { q in
            memory.forEachRecentRun(window) { node, rows in
                // dots [rows] = states [rows, H] · query [H], fp32 from the fp16 states.
                let hidden = node.hidden
                if dots.count < rows.count { dots = [Float](repeating: 0, count: rows.count) }
                node.states.withUnsafeBufferPointer { s in
                    nw_half_gemv(s.baseAddress! + rows.lowerBound * hidden, q.baseAddress!, nil, &dots, rows.count, hidden)
                }
                for i in rows.reversed() {
                    defer { first = false; age += 1 }
                    let word = node.words[i]
                    if first, let justTyped, word == justTyped { continue }
                    scores.append(theta * dots[i - rows.lowerBound] - decay * age)
                    words.append(word)
                }
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
