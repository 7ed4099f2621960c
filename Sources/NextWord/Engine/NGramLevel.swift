/// The n-grams of one order `n >= 2`, in the layout the model file stores: the distinct contexts
/// (`n - 1` ids each) sorted lexicographically, and for each a run of the words seen after it, sorted
/// by id, with their discounted terms. Flat arrays of 32-bit values keep a trigram model over a 20k
/// vocabulary at a few bytes per n-gram and let lookups be binary searches without pointers.
struct NGramLevel: Sendable, Equatable {
    /// The context length, `n - 1`.
    let contextLength: Int
    /// Context `i` is `contextIDs[i * contextLength ..< (i + 1) * contextLength]`.
    let contextIDs: [UInt32]
    /// Context `i`'s words are entries `offsets[i] ..< offsets[i + 1]`; `offsets.count` = contexts + 1.
    let offsets: [UInt32]
    /// `gamma(h)` of each context: the weight of the lower order.
    let backoffs: [Float]
    /// The words seen after each context.
    let words: [UInt32]
    /// `alpha(h w)` of each entry: the discounted probability of the word after the context.
    let probs: [Float]

    /// The number of contexts.
    var contextCount: Int { backoffs.count }

    /// The entries of context `index`.
    func entries(ofContext index: Int) -> Range<Int> {
        Int(offsets[index])..<Int(offsets[index + 1])
    }

    /// The index of `context` (exactly `contextLength` ids), by binary search.
    func find(context: ArraySlice<UInt32>) -> Int? {
        var low = 0, high = contextCount
        while low < high {
            let mid = (low + high) / 2
            switch compare(contextAt: mid, with: context) {
            case 0: return mid
            case ..<0: low = mid + 1
            default: high = mid
            }
        }
        return nil
    }

    /// `alpha(h w)` of `word` after context `index`, 0 when the word was not seen after it.
    func alpha(of word: UInt32, inContext index: Int) -> Float {
        var low = Int(offsets[index]), high = Int(offsets[index + 1])
        while low < high {
            let mid = (low + high) / 2
            let w = words[mid]
            if w == word { return probs[mid] }
            if w < word { low = mid + 1 } else { high = mid }
        }
        return 0
    }

    /// Lexicographic comparison of stored context `index` with `context`: negative, 0 or positive.
    func compare(contextAt index: Int, with context: ArraySlice<UInt32>) -> Int {
        let base = index * contextLength
        var j = context.startIndex
        for k in 0..<contextLength {
            let a = contextIDs[base + k], b = context[j]
            if a != b { return a < b ? -1 : 1 }
            j += 1
        }
        return 0
    }

    /// Checks the invariants queries rely on, for a level read from a file: array lengths agree,
    /// contexts strictly increasing, every context non-empty with strictly increasing word ids, ids in
    /// the vocabulary, probabilities and weights finite and within 0...1.
    ///
    /// - Returns: the first problem found, or nil.
    func problem(vocabSize: Int) -> String? {
        let n = contextLength + 1
        guard contextIDs.count == contextCount * contextLength, offsets.count == contextCount + 1,
              probs.count == words.count else { return "order \(n): array lengths disagree" }
        guard offsets.first == 0, offsets.last.map(Int.init) == words.count else {
            return "order \(n): offsets do not span the entries"
        }
        // All offsets first: the entry loop below indexes by them.
        for i in 0..<contextCount where offsets[i] >= offsets[i + 1] {
            return "order \(n): context \(i) has no words or offsets decrease"
        }
        let limit = UInt32(clamping: vocabSize)
        if let bad = contextIDs.first(where: { $0 >= limit }) { return "order \(n): context id \(bad) out of range" }
        for i in 0..<contextCount {
            if i > 0 && compare(contextAt: i - 1, with: contextIDs[(i * contextLength)..<((i + 1) * contextLength)]) >= 0 {
                return "order \(n): contexts not strictly sorted at \(i)"
            }
            let b = backoffs[i]
            guard b.isFinite && b >= 0 && b <= 1 else { return "order \(n): weight \(b) of context \(i) out of range" }
            var previous: UInt32? = nil
            for e in entries(ofContext: i) {
                let w = words[e], p = probs[e]
                guard w < limit else { return "order \(n): word id \(w) out of range" }
                if let previous, w <= previous { return "order \(n): words of context \(i) not strictly sorted" }
                guard p.isFinite && p >= 0 && p <= 1 else { return "order \(n): probability \(p) out of range" }
                previous = w
            }
        }
        return nil
    }
}
