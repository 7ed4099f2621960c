import Foundation

/// An interpolated modified Kneser-Ney n-gram language model (Chen & Goodman 1998) over token ids
/// `0..<vocabSize`, of order 2 to 4, to mix with the LSTM in the suggestion engine.
///
/// Every order `n >= 2` stores, for each context `h` (the `n - 1` previous tokens) seen in training,
/// the discounted term `alpha(h w) = max(a(h w) - D_n(a(h w)), 0) / sum_v a(h v)` of each word `w` seen
/// after it and the interpolation weight `gamma(h)`, so that
///
///     p_n(w | h) = alpha(h w) + gamma(h) * p_{n-1}(w | h minus its first token)
///
/// (`alpha = 0` for words not seen after `h`; `p_n = p_{n-1}` for contexts not seen at all), down to
/// the unigram distribution `p_1`, itself interpolated with the uniform distribution over the
/// vocabulary so that no word has probability 0. The `a` are modified Kneser-Ney's adjusted counts:
/// raw counts at the highest order and for n-grams starting at a sentence start, the number of
/// distinct words seen before the n-gram otherwise.
///
/// Sentence boundaries use one id, `endOfSentence`: it is predicted at the end of each sentence
/// and is the context at its start, so the first word of a sentence is predicted after
/// `[endOfSentence]`.
///
/// The model is immutable and a value type over copy-on-write arrays, so it is `Sendable` and can be
/// shared by concurrent queries.
public struct NGramModel: Sendable, Equatable {
    /// The n-gram order (2...4): predictions look at the last `order - 1` tokens.
    public let order: Int
    /// Token ids are `0..<vocabSize`.
    public let vocabSize: Int
    /// The id that ends a sentence and is the context at the start of the next.
    public let endOfSentence: Int
    /// The discounts (D1, D2, D3+) used for each order, index 0 for unigrams.
    package let discounts: [NGramDiscounts]
    /// `p_1(w)` for every id: the continuation-count distribution interpolated with the uniform one.
    let unigram: [Float]
    /// Orders 2...order, index 0 for bigrams.
    let levels: [NGramLevel]

    init(order: Int, vocabSize: Int, endOfSentence: Int, discounts: [NGramDiscounts],
         unigram: [Float], levels: [NGramLevel]) {
        self.order = order
        self.vocabSize = vocabSize
        self.endOfSentence = endOfSentence
        self.discounts = discounts
        self.unigram = unigram
        self.levels = levels
    }

    /// The number of stored n-grams of each order, unigrams (every id) first.
    public var ngramCounts: [Int] { [vocabSize] + levels.map(\.words.count) }

    // MARK: - Queries

    /// `p(word | context)`. Only the last `order - 1` ids of `context` matter; an id outside the
    /// vocabulary cuts the context there (no stored n-gram contains it). A `word` outside the
    /// vocabulary has probability 0.
    public func probability(of word: Int, context: [Int]) -> Double {
        guard word >= 0 && word < vocabSize else { return 0 }
        let found = contextMatches(context)
        var p = Double(unigram[word])
        for (level, index) in zip(levels, found) {
            guard let index else { continue }  // unseen context: p_n = p_{n-1}
            p = Double(level.alpha(of: UInt32(word), inContext: index)) + Double(level.backoffs[index]) * p
        }
        return p
    }

    /// The whole next-word distribution after `context`: on return `scores[w] = p(w | context)` for
    /// every id `w`, summing to 1 (`scores` is resized to `vocabSize`).
    ///
    /// Cost: one scaled copy of the unigram vector plus the words seen after each matched context.
    /// Unrolling the recursion, the weight of the unigram term is the product of the matched contexts'
    /// `gamma`, and each order's `alpha` terms are weighted by the `gamma` of the orders above it.
    public func distribution(context: [Int], into scores: inout [Float]) {
        let found = contextMatches(context)
        // weights[i]: the factor of level i's alpha terms = product of gamma of the matched levels above.
        var weights = [Float](repeating: 1, count: levels.count)
        var scale: Float = 1
        for i in stride(from: levels.count - 1, through: 0, by: -1) {
            weights[i] = scale
            if let index = found[i] { scale *= levels[i].backoffs[index] }
        }
        if scores.count != vocabSize { scores = [Float](repeating: 0, count: vocabSize) }
        scores.withUnsafeMutableBufferPointer { out in
            unigram.withUnsafeBufferPointer { uni in
                for w in 0..<out.count { out[w] = scale * uni[w] }
            }
            for (i, level) in levels.enumerated() {
                guard let index = found[i] else { continue }
                let weight = weights[i]
                let range = level.entries(ofContext: index)
                level.words.withUnsafeBufferPointer { words in
                    level.probs.withUnsafeBufferPointer { probs in
                        for e in range { out[Int(words[e])] += weight * probs[e] }
                    }
                }
            }
        }
    }

    /// The `limit` most probable next words after `context`, best first (ties by smaller id).
    public func topCandidates(context: [Int], limit: Int) -> [(word: Int, probability: Float)] {
        guard limit > 0 else { return [] }
        var scores: [Float] = []
        distribution(context: context, into: &scores)
        // Keep a small sorted list: O(V log limit) for the few candidates a keyboard shows.
        var best: [(word: Int, probability: Float)] = []
        best.reserveCapacity(limit + 1)
        for (w, p) in scores.enumerated() {
            if best.count == limit, let last = best.last, p <= last.probability { continue }
            let at = best.firstIndex { p > $0.probability } ?? best.count
            best.insert((w, p), at: at)
            if best.count > limit { best.removeLast() }
        }
        return best
    }

    /// Natural-log probability of a sentence: each token predicted after the ones before it (the
    /// first after `[endOfSentence]`), then `endOfSentence`. The scoring convention of KenLM and of
    /// `shared/data/README.md`: perplexity = exp(-sum / (tokens + sentences)). A token outside the
    /// vocabulary has probability 0, which makes the sum `-infinity`; map such tokens to an unknown-word
    /// id first.
    public func logProbability(ofSentence sentence: [Int]) -> Double {
        var context = [endOfSentence]
        var total = 0.0
        for word in sentence + [endOfSentence] {
            total += log(probability(of: word, context: context))
            context.append(word)
            if context.count >= order { context.removeFirst(context.count - (order - 1)) }
        }
        return total
    }

    /// For each level (bigrams first), the index of the context it stores for `context`, if any.
    private func contextMatches(_ context: [Int]) -> [Int?] {
        // The usable suffix: at most order - 1 ids, and none before an out-of-vocabulary id.
        var start = max(0, context.count - (order - 1))
        for i in start..<context.count where context[i] < 0 || context[i] >= vocabSize { start = i + 1 }
        let usable = context[start...].map { UInt32($0) }
        var found = [Int?](repeating: nil, count: levels.count)
        for (i, level) in levels.enumerated() {
            let length = i + 1  // the context length of order i + 2
            guard usable.count >= length else { break }
            found[i] = level.find(context: usable[(usable.count - length)...])
        }
        return found
    }
}

/// Everything that can go wrong building, loading or saving an n-gram model, with the file and the
/// problem named so the CLI can print one readable line.
public enum NGramError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// Arguments that do not describe a model that can be built (an order outside 2...4, a token id
    /// outside the vocabulary, a vocabulary too large to pack n-grams of this order).
    case invalidArgument(String)
    /// A model file that is truncated, foreign, of another version, or internally inconsistent.
    case corrupt(file: String, problem: String)
    /// A model file that could not be read or written.
    case io(file: String, problem: String)

    /// The same one line as `description`, for `localizedDescription`.
    public var errorDescription: String? { description }

    public var description: String {
        switch self {
        case .invalidArgument(let why): return "n-gram model: \(why)"
        case .corrupt(let file, let problem): return "\(file): not a valid n-gram model: \(problem)"
        case .io(let file, let problem): return "\(file): \(problem)"
        }
    }
}
