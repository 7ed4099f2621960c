import Foundation

/// The engine's prediction sources, by name: what the mixture weighs, the evidence it learns
/// from, and the records each keeps in the user's history.
public enum SourceKind: String, Sendable, CaseIterable, Codable {
    /// The LSTM's softmax, with the user's decoder-bias adaptation (`LanguageModelSource`).
    case languageModel = "lstm"
    /// The corpus Kneser-Ney trigram (`KneserNeySource`).
    case kneserNey = "kneser-ney"
    /// The neural cache over the text of the field being typed (`DocumentCacheSource`).
    case documentCache = "document-cache"
    /// The user's own trigram over everything they committed (`UserHistorySource`).
    case userHistory = "history"
    /// The neural cache over the user's committed text, kept in the history (`UserCacheSource`).
    case userCache = "user-cache"

    /// Sources that hold what the user taught (a suggestion from them is `.history`).
    var isUsers: Bool { self == .userHistory || self == .userCache }
}

/// A source's probabilities for the word after one context.
enum SourceDistribution {
    /// [V] over the vocabulary, by id, summing to 1.
    case dense([Float])
    /// Over lowercased words, in the vocabulary or not; a word it does not name has 0.
    case sparse([String: Float])
}

/// What a source learns from one committed line, in the engine's two steps around its lock:
/// `work` runs outside it on the line as the LSTM read it (it may take milliseconds: a keystroke
/// in another field must not wait), `apply` under it once the line is in the history. A source
/// takes what `work` needs from its state when it makes the lesson (under the lock), so `work`
/// reads nothing that changes. Without a `work`, the line is not read for it.
struct SourceLesson {
    var work: ((LineReading) -> Void)?
    var apply: () -> Void
    /// Rows the history keeps of the line for this source, written in the line's own transaction
    /// (read after `work`).
    var positions: () -> [HistoryStore.CachePosition] = { [] }
}

/// A committed line as the LSTM reads it from a sentence start, as typing reads it: `</s>` first,
/// what the policy refused read as `<unk>`. Read once per line outside the engine's lock and
/// handed to every lesson's `work` (the decoder-bias gradient and the user cache both learn from
/// these states).
struct LineReading {
    /// [N] token ids, `</s>` first.
    let ids: [Int32]
    /// [N] the learnable word (lowercased) at each position; nil for `</s>`, punctuation and refused text.
    let words: [String?]
    /// [N] the state after reading `ids[0...t]`.
    let states: [RecurrentState<Float>]
    /// Per layer [N, 4H] the gate activations and [N, H] tanh of the cell at each step: with the
    /// states' cells, what the backward through the line needs (`gateRecord`).
    let gates: [[Float]]
    let tanhCells: [[Float]]

    init(_ line: CommittedLine, vocabulary: Vocabulary, session: InferenceSession) {
        var ids: [Int32] = [Int32(vocabulary.endOfSentenceID)]
        var words: [String?] = [nil]
        for token in line.tokens {
            switch token {
            case .word(_, let lower):
                ids.append(Int32(vocabulary.idOrUnknown(lower)))
                words.append(lower)
            case .punctuation(let text):
                // As typing reads it: the model's own token for it.
                ids.append(Int32(vocabulary.idOrUnknown(text)))
                words.append(nil)
            case .breaker:
                ids.append(Int32(vocabulary.unknownID))
                words.append(nil)
            }
        }
        var state = session.initialState()
        var states: [RecurrentState<Float>] = []
        states.reserveCapacity(ids.count)
        let config = session.model.config
        var gates = [[Float]](repeating: [], count: config.layers), tanhCells = gates
        for id in ids {
            session.advance(&state, with: [id]) { layer, g, tanhC in
                gates[layer].append(contentsOf: UnsafeBufferPointer(start: g, count: 4 * config.hiddenSize))
                tanhCells[layer].append(contentsOf: UnsafeBufferPointer(start: tanhC, count: config.hiddenSize))
            }
            states.append(state)
        }
        (self.ids, self.words, self.states, self.gates, self.tanhCells) = (ids, words, states, gates, tanhCells)
    }

    /// The forward's record of steps `first...last` for `GateBiasBackward`: the cell before
    /// `first` is the state's after the step before it (zero at the line's start).
    func gateRecord(from first: Int, through last: Int) -> GateBiasBackward.Record<Float> {
        let layers = gates.count
        let hidden = states.first.map { $0.c[0].count } ?? 0
        var cells = (0 ..< layers).map { first > 0 ? states[first - 1].c[$0] : [Float](repeating: 0, count: hidden) }
        for layer in 0 ..< layers {
            for t in first ... last { cells[layer] += states[t].c[layer] }
        }
        return GateBiasBackward.Record(gates: gates.map { Array($0[first * 4 * hidden ..< (last + 1) * 4 * hidden]) }, cells: cells,
                                       tanhCells: tanhCells.map { Array($0[first * hidden ..< (last + 1) * hidden]) })
    }
}

/// One source of the engine's mixture (`SuggestionEngine`), behind the same small protocol: its
/// distribution after a context, and its part in learning, forgetting, clearing and what the
/// history keeps of it. Incognito is the engine's: a source in an incognito field is simply never
/// taught, and nothing of it is written.
///
/// A source lives inside one engine and is called only under the engine's lock (except a lesson's
/// `work`); it is a class so the engine's parts share one instance of its state.
protocol PredictionSource: AnyObject {
    var kind: SourceKind { get }
    /// Changes whenever what the source would say after an already read context changes (a line
    /// learned, a word forgotten, a reload), so a context's cached distribution is recomputed.
    /// Sources that read only the context itself keep 0.
    var version: Int { get }
    /// Its distribution after the context, computed once per context (and version): every
    /// keystroke of the word after it reuses it.
    func distribution(after context: ReadContext) -> SourceDistribution
    /// How much of its mixture weight it claims after this context, 0…1: a cache that remembers
    /// two words is not trusted as one that remembers a hundred, an empty history not at all.
    func confidence(after context: ReadContext) -> Float
    /// Its probability of `word` after the context, where it is more than its distribution holds
    /// (nil: the distribution's value, 0 for a word it does not name).
    func probability(of word: String, after context: ReadContext) -> Float?
    /// Rarer words with the typed letters that it knows beyond its distribution after the context,
    /// with their probabilities; at most `limit`.
    func completions(of typed: String, after context: ReadContext, limit: Int) -> [(word: String, probability: Float)]
    /// What a committed line teaches it (nil: nothing). Never called for incognito text.
    func lesson(from line: CommittedLine) -> SourceLesson?
    /// Forgets a word (lowercased) at once.
    func forget(_ lower: String)
    /// Forgets everything learned.
    func clear()
    /// Its record in the history beside the learned lines (derived data, kept per model), or nil.
    var recordKind: HistoryStore.AdaptationKind? { get }
    func encodedRecord() -> Data?
    /// Takes up a record read back from the history; a malformed one is ignored.
    func restore(record: Data)
    /// Takes up the positions the history kept of its lessons (`SourceLesson.positions`), oldest
    /// first, less what the words forgotten in this engine's life took part in (their forget may
    /// not have reached the history yet).
    func restore(positions: [(line: Int64, position: HistoryStore.CachePosition)], forgetting forgotten: Set<String>)
}

extension PredictionSource {
    var version: Int { 0 }
    func confidence(after context: ReadContext) -> Float { 1 }
    func probability(of word: String, after context: ReadContext) -> Float? { nil }
    func completions(of typed: String, after context: ReadContext, limit: Int) -> [(word: String, probability: Float)] { [] }
    func lesson(from line: CommittedLine) -> SourceLesson? { nil }
    func forget(_ lower: String) {}
    func clear() {}
    var recordKind: HistoryStore.AdaptationKind? { nil }
    func encodedRecord() -> Data? { nil }
    func restore(record: Data) {}
    func restore(positions: [(line: Int64, position: HistoryStore.CachePosition)], forgetting forgotten: Set<String>) {}
}

/// What the engine read of a context (the text before the word being typed), which the sources
/// compute their distributions from.
struct ReadContext {
    /// The LSTM's state after the context.
    var state: RecurrentState<Float>
    /// Last token ids fed to the model (for the n-gram), at most two.
    var lastIDs: [Int32]
    /// The last two tokens for the user's n-grams: lowercased words and punctuation, `</s>` at a
    /// line's start (`LearnedToken.wordsInContext`'s chains, as learning makes them).
    var previousWords: [String]
    /// The last word of the context, whatever punctuation followed it: the word just typed.
    var lastWord: String?
    /// Whether the next word starts a sentence (document start, after . ! ? or a line break).
    var sentenceStart: Bool
    /// The neural cache's memory of the document: the states before its words.
    var memory: CacheMemory?
    /// Whether the last apostrophe typed inside a word of the context was `’` (U+2019) rather
    /// than `'`: the user's style, which suggestions follow before the word's own apostrophe.
    var curlyApostrophes = false

    /// The top layer's state: what the neural caches compare remembered positions with.
    var query: [Float] { state.h[state.h.count - 1] }
}
