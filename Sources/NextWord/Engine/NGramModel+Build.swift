/// Building a model from token ids in memory: count, adjust, discount, prune.
///
/// N-grams are packed into `UInt64` keys (each id in `bits` bits, the first id highest), so counting
/// is sorting a flat array and a sorted key list is already grouped by context in the lexicographic
/// order the model stores.
extension NGramModel {
    /// Builds a model from sentences of token ids.
    ///
    /// Each sentence is predicted token by token after `[endOfSentence]`, then `endOfSentence` is
    /// predicted after its last token; n-grams never reach across sentences. An `endOfSentence`
    /// inside a sentence splits it, and empty sentences are skipped.
    ///
    /// - Parameters:
    ///   - sentences: token ids, each in `0..<vocabSize`.
    ///   - vocabSize: the number of ids; must fit `order` ids in 64 bits (any size up to 2^32 for
    ///     bigrams, 2^21 for trigrams, 2^16 for 4-grams).
    ///   - endOfSentence: the id that ends a sentence and starts the next one's context.
    ///   - order: 2...4.
    ///   - minCount: prune n-grams of order 2 and above seen (raw count) fewer than `minCount` times;
    ///     their probability mass goes to their context's lower-order weight, so distributions still
    ///     sum to 1. Discounts and lower-order counts are computed before pruning. 1 prunes nothing.
    /// - Throws: `NGramError.invalidArgument` for an order, size or id out of range.
    public static func build(sentences: [[Int]], vocabSize: Int, endOfSentence: Int,
                             order: Int = 3, minCount: Int = 1) throws -> NGramModel {
        guard (2...4).contains(order) else { throw NGramError.invalidArgument("order \(order) is not in 2...4") }
        guard vocabSize >= 1 && vocabSize <= Int(UInt32.max) else {
            throw NGramError.invalidArgument("vocabulary size \(vocabSize) is not in 1...\(UInt32.max)")
        }
        guard endOfSentence >= 0 && endOfSentence < vocabSize else {
            throw NGramError.invalidArgument("end-of-sentence id \(endOfSentence) is outside 0..<\(vocabSize)")
        }
        let packer = NGramKeyPacker(vocabSize: vocabSize)
        guard packer.bits * order <= 64 else {
            throw NGramError.invalidArgument("a vocabulary of \(vocabSize) ids is too large for order \(order)")
        }
        let padded = try paddedSentences(sentences, vocabSize: vocabSize, endOfSentence: endOfSentence)

        // Raw counts of every order, from the windows ending at each predicted token.
        var raw: [CountedKeys] = []
        for n in 1...order {
            var keys: [UInt64] = []
            for t in padded where t.count >= n {
                for end in (n - 1)..<t.count where end >= 1 { keys.append(packer.pack(t[(end - n + 1)...end])) }
            }
            raw.append(CountedKeys(sorting: keys))
        }

        // Adjusted counts: raw at the highest order and for n-grams that start a sentence (their
        // first id is the start context, which nothing precedes); elsewhere the number of distinct
        // ids seen right before the n-gram, i.e. of distinct (n+1)-grams it ends.
        var adjusted: [[Int]] = Array(repeating: [], count: order)
        adjusted[order - 1] = raw[order - 1].counts
        let eos = UInt32(endOfSentence)
        for n in stride(from: order - 1, through: 1, by: -1) {
            let continuations = CountedKeys(sorting: raw[n].keys.map { packer.suffix($0, length: n) })
            var counts = [Int](repeating: 0, count: raw[n - 1].keys.count)
            var j = 0
            for (i, key) in raw[n - 1].keys.enumerated() {
                if n >= 2 && packer.id(key, at: 0, length: n) == eos {
                    counts[i] = raw[n - 1].counts[i]
                    continue
                }
                while j < continuations.keys.count && continuations.keys[j] < key { j += 1 }
                if j < continuations.keys.count && continuations.keys[j] == key { counts[i] = continuations.counts[j] }
            }
            adjusted[n - 1] = counts
        }

        let discounts = adjusted.map { counts in
            var n = [0, 0, 0, 0]
            for c in counts where c >= 1 && c <= 4 { n[c - 1] += 1 }
            return NGramDiscounts.estimate(countOfCounts: n)
        }
        let unigram = unigramDistribution(ids: raw[0].keys, adjusted: adjusted[0], discounts: discounts[0],
                                          vocabSize: vocabSize)
        var levels: [NGramLevel] = []
        for n in 2...order {
            levels.append(level(order: n, keys: raw[n - 1], adjusted: adjusted[n - 1], discounts: discounts[n - 1],
                                packer: packer, minCount: minCount))
        }
        return NGramModel(order: order, vocabSize: vocabSize, endOfSentence: endOfSentence, discounts: discounts,
                          unigram: unigram, levels: levels)
    }

    /// Builds a model from one stream of ids in which `endOfSentence` separates sentences.
    public static func build(stream: [Int], vocabSize: Int, endOfSentence: Int,
                             order: Int = 3, minCount: Int = 1) throws -> NGramModel {
        try build(sentences: [stream], vocabSize: vocabSize, endOfSentence: endOfSentence,
                  order: order, minCount: minCount)
    }

    /// Sentences split at `endOfSentence`, empty ones dropped, each as `[eos] + tokens + [eos]`.
    private static func paddedSentences(_ sentences: [[Int]], vocabSize: Int,
                                        endOfSentence: Int) throws -> [[UInt32]] {
        var padded: [[UInt32]] = []
        let eos = UInt32(endOfSentence)
        for (s, sentence) in sentences.enumerated() {
            var current: [UInt32] = [eos]
            for id in sentence {
                guard id >= 0 && id < vocabSize else {
                    throw NGramError.invalidArgument("token id \(id) in sentence \(s) is outside 0..<\(vocabSize)")
                }
                current.append(UInt32(id))
                if id == endOfSentence {
                    if current.count > 2 { padded.append(current) }
                    current = [eos]
                }
            }
            if current.count > 1 { padded.append(current + [eos]) }
        }
        return padded
    }

    /// `p_1(w) = max(a(w) - D, 0) / sum a + gamma / V`, with `gamma = sum_w D(a(w)) / sum a`: the
    /// continuation distribution, its discounted mass spread uniformly over the whole vocabulary.
    private static func unigramDistribution(ids: [UInt64], adjusted: [Int], discounts: NGramDiscounts,
                                            vocabSize: Int) -> [Float] {
        let total = Double(adjusted.reduce(0, +))
        guard total > 0 else { return [Float](repeating: 1 / Float(vocabSize), count: vocabSize) }
        let gamma = adjusted.reduce(0.0) { $0 + discounts($1) } / total
        var p = [Double](repeating: gamma / Double(vocabSize), count: vocabSize)
        for (key, a) in zip(ids, adjusted) { p[Int(key)] += max(Double(a) - discounts(a), 0) / total }
        return p.map { Float($0) }
    }

    /// One order's contexts, words, `alpha` and `gamma`, with pruning applied.
    private static func level(order n: Int, keys: CountedKeys, adjusted: [Int], discounts: NGramDiscounts,
                              packer: NGramKeyPacker, minCount: Int) -> NGramLevel {
        var contextIDs: [UInt32] = [], offsets: [UInt32] = [0], backoffs: [Float] = []
        var words: [UInt32] = [], probs: [Float] = []
        var start = 0
        while start < keys.keys.count {
            let context = keys.keys[start] >> UInt64(packer.bits)
            var end = start
            var total = 0.0
            while end < keys.keys.count && keys.keys[end] >> UInt64(packer.bits) == context {
                total += Double(adjusted[end])
                end += 1
            }
            defer { start = end }
            guard total > 0 else { continue }
            // gamma(h) = (D1 N1(h) + D2 N2(h) + D3+ N3+(h) + the alpha of pruned words) / total.
            var gammaMass = 0.0
            var kept: [(word: UInt32, alpha: Float)] = []
            for e in start..<end {
                let a = adjusted[e]
                let alpha = max(Double(a) - discounts(a), 0) / total
                gammaMass += Double(a) / total - alpha
                if keys.counts[e] >= minCount {
                    kept.append((packer.id(keys.keys[e], at: n - 1, length: n), Float(alpha)))
                } else {
                    gammaMass += alpha
                }
            }
            guard !kept.isEmpty else { continue }  // every word pruned: the context backs off entirely
            for k in 0..<(n - 1) { contextIDs.append(packer.id(keys.keys[start], at: k, length: n)) }
            for entry in kept {
                words.append(entry.word)
                probs.append(entry.alpha)
            }
            offsets.append(UInt32(words.count))
            backoffs.append(Float(min(gammaMass, 1)))
        }
        return NGramLevel(contextLength: n - 1, contextIDs: contextIDs, offsets: offsets, backoffs: backoffs,
                          words: words, probs: probs)
    }
}

/// Packs up to `64 / bits` ids into a `UInt64`, the first id in the highest bits, so that keys sort
/// like id tuples and a key shifted right by `bits` is its context.
struct NGramKeyPacker {
    let bits: Int

    init(vocabSize: Int) {
        bits = max(1, Int.bitWidth - (vocabSize - 1).leadingZeroBitCount)
    }

    func pack(_ ids: ArraySlice<UInt32>) -> UInt64 {
        ids.reduce(0) { ($0 << UInt64(bits)) | UInt64($1) }
    }

    /// Id `position` (0 = first) of a key holding `length` ids.
    func id(_ key: UInt64, at position: Int, length: Int) -> UInt32 {
        let mask: UInt64 = (1 << UInt64(bits)) - 1
        return UInt32((key >> UInt64(bits * (length - 1 - position))) & mask)
    }

    /// The key of the last `length` ids of `key`.
    func suffix(_ key: UInt64, length: Int) -> UInt64 {
        let width = bits * length
        return width >= 64 ? key : key & ((1 << UInt64(width)) - 1)
    }
}

/// Distinct sorted keys with how often each occurred.
struct CountedKeys {
    var keys: [UInt64] = []
    var counts: [Int] = []

    init(sorting unsorted: [UInt64]) {
        let sorted = unsorted.sorted()
        var i = 0
        while i < sorted.count {
            var j = i + 1
            while j < sorted.count && sorted[j] == sorted[i] { j += 1 }
            keys.append(sorted[i])
            counts.append(j - i)
            i = j
        }
    }
}

/// The discounts of one order: how much modified Kneser-Ney takes from an n-gram seen once, twice,
/// and three or more times, to give to the lower order.
package struct NGramDiscounts: Sendable, Equatable, Codable {
    public var d1: Double
    public var d2: Double
    public var d3Plus: Double

    public init(d1: Double, d2: Double, d3Plus: Double) {
        self.d1 = d1
        self.d2 = d2
        self.d3Plus = d3Plus
    }

    /// KenLM's `--discount_fallback` values, used for an order whose estimate is out of range.
    public static let fallback = NGramDiscounts(d1: 0.5, d2: 1.0, d3Plus: 1.5)

    /// The discount for an n-gram of adjusted count `count` (0 for 0).
    public func callAsFunction(_ count: Int) -> Double {
        switch count {
        case ...0: return 0
        case 1: return d1
        case 2: return d2
        default: return d3Plus
        }
    }

    /// Chen & Goodman's estimate from the count-of-counts `n[k-1]` = number of n-grams of adjusted
    /// count k (k = 1...4): `Y = n1 / (n1 + 2 n2)`, `D_k = k - (k + 1) Y n_{k+1} / n_k`. Like KenLM,
    /// an estimate that is not a number or lies outside `0...k` for any k (tiny corpora) gives
    /// `fallback` for the whole order.
    public static func estimate(countOfCounts n: [Int]) -> NGramDiscounts {
        guard n.count >= 4 else { return fallback }
        let n1 = Double(n[0]), n2 = Double(n[1]), n3 = Double(n[2]), n4 = Double(n[3])
        let y = n1 / (n1 + 2 * n2)
        let d = NGramDiscounts(d1: 1 - 2 * y * n2 / n1, d2: 2 - 3 * y * n3 / n2, d3Plus: 3 - 4 * y * n4 / n3)
        let valid = [d.d1, d.d2, d.d3Plus].enumerated().allSatisfy { k, v in v.isFinite && v >= 0 && v <= Double(k + 1) }
        return valid ? d : fallback
    }
}
