import CKernels
import Foundation

/// The neural cache over the user's committed text (Grave, Joulin & Usunier 2017, the user's part):
/// the LSTM's top-layer state h_i before each learnable word of the last `capacity` committed
/// positions, with that word, kept across sessions in the history; after a context with state h
///
///     p(w) ∝ Σ_{i: w_i = w} exp(θ · h · h_i)
///
/// The document cache (`DocumentCacheSource`) remembers the field being typed; this one what the
/// user wrote before, in any field and any session: a phrase typed last week is offered after the
/// context it followed then.
///
/// A line is read from a sentence start, as typing reads it, with what the policy refused read as
/// `<unk>` (so no state holds a refused token's content), and only learnable words are remembered.
/// Forgetting a word removes every position of the lines that held it (the states after it were
/// computed from it); the history keeps the positions per model (`HistoryStore.CachePosition`),
/// so a new model starts an empty cache and fills it from what is committed next.
final class UserCacheSource: PredictionSource {
    let kind = SourceKind.userCache
    let resources: EngineResources
    /// Positions kept, the newest.
    let capacity: Int
    let theta: Float
    /// The weight is scaled by n / (n + this), n the positions remembered.
    let shrinkage: Float
    private(set) var version = 0
    /// [n, H] fp16 states, oldest first, with their n words (lowercased) and lines.
    private var states: [UInt16] = []
    private var words: [String] = []
    private var lines: [Int64] = []
    private var nextLine: Int64 = 1
    /// [n] each position's word as an index into `distinctWords`, so a query sums by index
    /// instead of hashing a string per position.
    private var wordIndices: [Int32] = []
    private var distinctWords: [String] = []
    private var indexOfWord: [String: Int32] = [:]
    /// [n] scores of the last query, [distinct] sums by word (zero between queries): kept to
    /// spare allocations per word boundary.
    private var scores: [Float] = []
    private var sums: [Float] = []
    /// The distribution keeps its most probable words: the ranker goes over every word of a
    /// sparse distribution at each keystroke, and a tail of hundreds of words cost about a
    /// millisecond a word boundary (`nextword bench`, BENCHMARKS.md) for no keystrokes saved.
    static let offeredWords = 24
    /// Whether a remembered word may be offered: the history's rule for learned words (a word
    /// the model and the corpus do not know only once the user typed it often enough).
    private let isSuggestible: (String) -> Bool

    init(resources: EngineResources, weights: MixingWeights, isSuggestible: @escaping (String) -> Bool) {
        self.resources = resources
        self.isSuggestible = isSuggestible
        capacity = weights.userCacheSize
        theta = weights.cacheTheta
        shrinkage = Float(weights.cacheShrinkage)
    }

    var count: Int { words.count }
    /// The word after each remembered position, oldest first.
    var rememberedWords: [String] { words }
    private var hidden: Int { resources.bundle.config.outputSize }  // the top layer's output width

    func distribution(after context: ReadContext) -> SourceDistribution {
        let n = words.count
        guard n > 0 else { return .sparse([:]) }
        if scores.count != n { scores = [Float](repeating: 0, count: n) }
        // scores [n] = states [n, H] · query [H], in fp32 from the fp16 states.
        let query = context.query
        states.withUnsafeBufferPointer { s in
            nw_half_gemv(s.baseAddress!, query, nil, &scores, n, hidden)
        }
        var top = -Float.infinity
        for i in 0 ..< n { scores[i] *= theta; top = max(top, scores[i]) }
        if sums.count < distinctWords.count { sums = [Float](repeating: 0, count: distinctWords.count) }
        var touched: [Int32] = []
        var total: Float = 0
        for i in 0 ..< n {
            let e = Foundation.exp(scores[i] - top)
            let word = Int(wordIndices[i])
            if sums[word] == 0 { touched.append(Int32(word)) }
            sums[word] += e
            total += e
        }
        // The most probable words the learned-word rule lets through, normalised over every
        // position (a word not offered keeps its share out of the rest's).
        var best = TopK(Self.offeredWords + 16)
        for word in touched { best.insert(id: word, score: sums[Int(word)]) }
        for word in touched { sums[Int(word)] = 0 }
        var offered: [String: Float] = [:]
        for item in best.items where offered.count < Self.offeredWords {
            let word = distinctWords[Int(item.id)]
            if isSuggestible(word) { offered[word] = item.score / total }
        }
        return .sparse(offered)
    }

    func confidence(after context: ReadContext) -> Float {
        words.isEmpty ? 0 : Float(words.count) / (Float(words.count) + shrinkage)
    }

    /// The positions a committed line adds: the top-layer state before each learnable word.
    func positions(of reading: LineReading) -> [HistoryStore.CachePosition] {
        var result: [HistoryStore.CachePosition] = []
        for t in reading.words.indices.dropFirst() {
            guard let word = reading.words[t] else { continue }
            let before = reading.states[t - 1].h[reading.states[t - 1].h.count - 1]
            var halves = [UInt16](repeating: 0, count: hidden)
            before.withUnsafeBufferPointer { nw_floats_to_halves($0.baseAddress!, &halves, hidden) }
            result.append(HistoryStore.CachePosition(word: word, state: halves))
        }
        return result
    }

    func lesson(from line: CommittedLine) -> SourceLesson? {
        guard capacity > 0 else { return nil }
        var found: [HistoryStore.CachePosition] = []
        return SourceLesson(work: { [self] reading in found = positions(of: reading) },
                            apply: { [self] in append(found) }, positions: { found })
    }

    /// Adds positions (one committed line's, or the history's at open), keeping the newest `capacity`.
    func append(_ positions: [HistoryStore.CachePosition], line: Int64? = nil) {
        guard !positions.isEmpty else { return }
        let line = line ?? nextLine
        nextLine = max(nextLine, line + 1)
        for position in positions where position.state.count == hidden {
            states += position.state
            words.append(position.word)
            wordIndices.append(index(of: position.word))
            lines.append(line)
        }
        if words.count > capacity {
            let drop = words.count - capacity
            states.removeFirst(drop * hidden)
            words.removeFirst(drop)
            wordIndices.removeFirst(drop)
            lines.removeFirst(drop)
        }
        // Words that left the window stay in the table; rebuild it before it outgrows the window.
        if distinctWords.count > 4 * max(capacity, 64) { reindex() }
        version += 1
    }

    private func index(of word: String) -> Int32 {
        if let known = indexOfWord[word] { return known }
        let index = Int32(distinctWords.count)
        distinctWords.append(word)
        indexOfWord[word] = index
        return index
    }

    /// The word table from the positions kept (after a forget, or when it holds too many gone words).
    private func reindex() {
        (distinctWords, indexOfWord, sums) = ([], [:], [])
        wordIndices = words.map(index(of:))
    }

    func restore(positions: [(line: Int64, position: HistoryStore.CachePosition)], forgetting forgotten: Set<String>) {
        clear()
        defer { for word in forgotten { forget(word) } }
        var start = positions.startIndex
        while start < positions.endIndex {
            let line = positions[start].line
            let end = positions[start...].firstIndex { $0.line != line } ?? positions.endIndex
            append(positions[start ..< end].map(\.position), line: line)
            start = end
        }
    }

    func forget(_ lower: String) {
        let doomed = Set(zip(words, lines).filter { $0.0 == lower }.map(\.1))
        guard !doomed.isEmpty else { return }
        var keptStates: [UInt16] = [], keptWords: [String] = [], keptLines: [Int64] = []
        for i in words.indices where !doomed.contains(lines[i]) {
            keptStates += states[i * hidden ..< (i + 1) * hidden]
            keptWords.append(words[i])
            keptLines.append(lines[i])
        }
        (states, words, lines) = (keptStates, keptWords, keptLines)
        reindex()  // the forgotten word leaves the table too
        version += 1
    }

    func clear() {
        (states, words, lines) = ([], [], [])
        reindex()
        version += 1
    }
}
