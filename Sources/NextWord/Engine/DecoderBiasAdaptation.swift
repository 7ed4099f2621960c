import CKernels
import Foundation

/// Dynamic evaluation of the decoder bias (Krause, Kahembwe, Murray & Renals 2018, "Dynamic
/// evaluation of neural sequence models"), per user: after each committed line, one gradient step
/// on that line's cross-entropy for the decoder's bias, pulled back toward the trained bias.
///
///     g      = Σ_t (p_t − onehot(w_{t+1})) / T        over the T positions whose next token is a
///                                                     learnable word (p_t [V] the model's softmax)
///     offset ← (1 − decay) · offset − rate · g        logits_t = D h_t + bias + offset
///
/// Only learnable words are targets (`LearningPolicy`), so nothing the policy refuses is ever
/// pushed up; incognito lines never arrive here. The offsets [V] are kept in the history as one
/// record per model (`HistoryStore.adaptationRecord`), fp16, keyed by the model's SHA-256, so a new
/// model starts from zero; `history clear` removes them and forgetting a word sets its offset back
/// to 0 (the push it got from the user's lines is undone; what those lines took from other words
/// is a share of their probability too small to matter).
///
/// The LSTM's biases are not adapted here: their gradient needs the backward pass through time
/// (the trainer's, on OpenBLAS), which the keystroke process does not load.
package struct DecoderBiasAdaptation: Sendable, Equatable {
    /// [V] the offsets added to the decoder's logits; all zero at the start.
    public private(set) var offsets: [Float]
    /// Lines learned since the offsets were zero.
    public private(set) var lines = 0

    public init(vocabularySize: Int) {
        offsets = [Float](repeating: 0, count: vocabularySize)
    }

    /// The bias gradient of one line's mean cross-entropy (see the type's formula), from the
    /// model's distributions before each target: [V] and the number of targets.
    ///
    /// - Parameters:
    ///   - ids: the line's token ids, starting with the `</s>` that precedes a line ([N]).
    ///   - isTarget: per position, whether its token is a word the policy lets the model learn.
    ///   - session: the user's inference session, its offsets as they stand.
    static func gradient(ids: [Int32], isTarget: [Bool], session: InferenceSession) -> (gradient: [Float], targets: Int) {
        var state = session.initialState()
        let states = ids.map { id -> RecurrentState<Float> in
            session.advance(&state, with: [id])
            return state
        }
        return gradient(ids: ids, isTarget: isTarget, states: states, session: session)
    }

    /// The same from the states already read: `states[t]` [N] is the state after `ids[0...t]`
    /// (`LineReading`); `session` only scores them.
    static func gradient(ids: [Int32], isTarget: [Bool], states: [RecurrentState<Float>],
                         session: InferenceSession) -> (gradient: [Float], targets: Int) {
        let v = session.model.config.vocabSize
        var gradient = [Float](repeating: 0, count: v)
        var targets = 0
        for t in 0 ..< max(ids.count - 1, 0) where isTarget[t + 1] {
            let p = session.probabilities(after: states[t])
            for i in 0 ..< v { gradient[i] += p[i] }
            gradient[Int(ids[t + 1])] -= 1
            targets += 1
        }
        if targets > 1 { for i in 0 ..< v { gradient[i] /= Float(targets) } }
        return (gradient, targets)
    }

    /// One step on `gradient` ([V], a mean over the line's targets).
    mutating func step(gradient: [Float], rate: Float, decay: Float) {
        let keep = 1 - decay
        for i in offsets.indices { offsets[i] = keep * offsets[i] - rate * gradient[i] }
        lines += 1
    }

    /// Undoes what the user's lines gave word `id`.
    mutating func forget(id: Int) {
        guard offsets.indices.contains(id) else { return }
        offsets[id] = 0
    }

    /// Whether every offset is 0 (nothing learned, or all undone).
    public var isZero: Bool { offsets.allSatisfy { $0 == 0 } }

    // MARK: The history record

    /// The record's format: "NWB1", the line count (UInt32, little-endian), then V fp16 offsets.
    static let magic = Array("NWB1".utf8)

    /// The record's bytes.
    var encoded: Data {
        var data = Data(Self.magic)
        withUnsafeBytes(of: UInt32(clamping: lines).littleEndian) { data.append(contentsOf: $0) }
        var halves = [UInt16](repeating: 0, count: offsets.count)
        offsets.withUnsafeBufferPointer { nw_floats_to_halves($0.baseAddress!, &halves, offsets.count) }
        halves.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// The lines a record was learned from, read from its header (nil: not a record).
    public static func lineCount(inRecord record: Data) -> Int? {
        let bytes = [UInt8](record.prefix(8))
        guard bytes.count == 8, Array(bytes[0 ..< 4]) == magic else { return nil }
        return Int(UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
    }

    /// Reads a record; nil when it is not one for a vocabulary of `vocabularySize` (another
    /// format, another model's size, a non-finite value): the adaptation then starts from zero.
    init?(record: Data, vocabularySize: Int) {
        let bytes = [UInt8](record)
        guard bytes.count == 8 + 2 * vocabularySize, let lines = Self.lineCount(inRecord: record) else { return nil }
        self.lines = lines
        var halves = [UInt16](repeating: 0, count: vocabularySize)
        for i in 0 ..< vocabularySize { halves[i] = UInt16(bytes[8 + 2 * i]) | UInt16(bytes[9 + 2 * i]) << 8 }
        offsets = [Float](repeating: 0, count: vocabularySize)
        halves.withUnsafeBufferPointer { nw_halves_to_floats($0.baseAddress!, &offsets, vocabularySize) }
        guard offsets.allSatisfy(\.isFinite) else { return nil }
    }
}
