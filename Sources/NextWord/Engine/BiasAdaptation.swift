import CKernels
import Foundation

/// Dynamic evaluation of the model's biases (Krause, Kahembwe, Murray & Renals 2018, "Dynamic
/// evaluation of neural sequence models"), per user: after each committed line, one gradient step
/// on that line's cross-entropy for the decoder's bias and every LSTM layer's gate biases, pulled
/// back toward the trained biases.
///
///     L      = Σ_t −log p(w_{t+1} | h_t) / T           over the T positions whose next token is a
///                                                     learnable word (p_t [V] the model's softmax)
///     ∂L/∂b_decoder = Σ_t (p_t − onehot(w_{t+1})) / T
///     ∂L/∂b_gates   = backpropagation through the line from ∂L/∂h_t = Dᵀ (p_t − onehot) / T
///                     (`GateBiasBackward`; D [V, P] the decoder, as the engine's int8 rows),
///                     over the line's last `gateWindow` targets
///     offset ← (1 − decay) · offset − rate · ∂L/∂b  logits = D h + bias + offset, gates likewise
///
/// Only learnable words are targets (`LearningPolicy`), so nothing the policy refuses is ever
/// pushed up; incognito lines never arrive here. The offsets are kept in the history as one record
/// per model (`HistoryStore.adaptationRecord`), fp16, keyed by the model's SHA-256, so a new model
/// starts from zero; `history clear` removes them. Forgetting a word sets its decoder offset back to
/// 0 (the push it got from the user's lines is undone; what those lines took from other words is a
/// share of their probability too small to matter) and the gate offsets to 0: what the word's lines
/// gave the shared gate biases cannot be told apart from the other lines' part.
package struct BiasAdaptation: Sendable, Equatable {
    /// [V] the offsets added to the decoder's logits; all zero at the start.
    public private(set) var offsets: [Float]
    /// Per layer [4H] the offsets added to the gates' pre-activations.
    public private(set) var gateOffsets: [[Float]]
    /// Lines learned since the offsets were zero.
    public private(set) var lines = 0

    public init(config: ModelConfig) {
        offsets = [Float](repeating: 0, count: config.vocabSize)
        gateOffsets = [[Float]](repeating: [Float](repeating: 0, count: 4 * config.hiddenSize), count: config.layers)
    }

    /// One line's gradient: the decoder bias's [V], each layer's gate biases' [4H], and the
    /// number of targets it averages over.
    struct Gradient {
        var decoder: [Float]
        var gates: [[Float]]
        var targets: Int
    }

    /// The gradient of one line's mean cross-entropy (see the type's formula) at the states the
    /// user's session read (`LineReading`, with its gate record); `session` scores them, with the
    /// user's offsets as they stand. `withGates` false leaves the LSTM's part zero (not computed).
    static func gradient(reading: LineReading, isTarget: [Bool], session: InferenceSession, withGates: Bool = true) -> Gradient {
        let model = session.model, config = model.config
        let (v, p) = (config.vocabSize, config.outputSize)
        let ids = reading.ids
        var result = Gradient(decoder: [Float](repeating: 0, count: v),
                              gates: [[Float]](repeating: [Float](repeating: 0, count: 4 * config.hiddenSize), count: config.layers),
                              targets: 0)
        let positions = (0 ..< max(ids.count - 1, 0)).filter { isTarget[$0 + 1] }
        guard let last = positions.last else { return result }
        result.targets = positions.count
        let scale = 1 / Float(positions.count)
        // The gates learn from the line's last `gateWindow` targets, back through the steps from
        // the first of them (a long pasted paragraph costs no more than a sentence).
        let window = withGates ? Array(positions.suffix(gateWindow)) : []
        let first = window.first ?? 0
        // output [last − first + 1, P]: ∂L/∂h_t for the window's steps, from the rows
        // g_t = (p_t − onehot) / T ([n, V], 64 KB each for the default model) in one pass over D.
        var output = [Float](repeating: 0, count: window.isEmpty ? 0 : (last - first + 1) * p)
        var rows = [Float](repeating: 0, count: window.count * v)
        var windowRow = 0
        for t in positions {
            var g = session.probabilities(after: reading.states[t])
            g[Int(ids[t + 1])] -= 1
            for i in 0 ..< v { g[i] *= scale; result.decoder[i] += g[i] }
            if !window.isEmpty, t >= first {
                rows.withUnsafeMutableBufferPointer { (r: inout UnsafeMutableBufferPointer<Float>) in
                    (r.baseAddress! + windowRow * v).update(from: g, count: v)
                }
                windowRow += 1
            }
        }
        guard !window.isEmpty else { return result }
        // combined [n, P] = rows [n, V] · D [V, P] on the engine's int8 decoder (the one its
        // forward used), the rows split between two threads (the product is most of a line's
        // learning time).
        var combined = [Float](repeating: 0, count: window.count * p)
        let halves = window.count > 1 ? 2 : 1
        rows.withUnsafeBufferPointer { g in
            combined.withUnsafeMutableBufferPointer { out in
                // Each half writes its own rows of `combined`; the product reads only shared weights.
                nonisolated(unsafe) let shared = (g: g.baseAddress!, out: out.baseAddress!, session: session)
                let count = window.count
                DispatchQueue.concurrentPerform(iterations: halves) { half in
                    let lower = count * half / halves, upper = count * (half + 1) / halves
                    shared.session.decoderTransposedProduct(shared.g + lower * v, into: shared.out + lower * p, positions: upper - lower)
                }
            }
        }
        for (row, t) in window.enumerated() {
            for j in 0 ..< p { output[(t - first) * p + j] = combined[row * p + j] }
        }
        var record = reading.gateRecord(from: first, through: last)
        result.gates = model.parameters.withUnsafeBufferPointer { parameters in
            GateBiasBackward.gradient(config: config, parameters: parameters.baseAddress!, record: &record, output: output)
        }
        return result
    }

    /// The most targets of a line the gate biases learn from (its last ones): bench's learn p99
    /// 25–26 ms with 16, 32–35 with 32 (the decoder product grows with it); KSR the same within
    /// 0.02 on the five dev texts.
    static let gateWindow = 16

    /// One step on `gradient` (means over a line's targets): `rate` for the decoder bias,
    /// `gateRate` for the gate biases.
    mutating func step(_ gradient: Gradient, rate: Float, gateRate: Float, decay: Float) {
        let keep = 1 - decay
        for i in offsets.indices { offsets[i] = keep * offsets[i] - rate * gradient.decoder[i] }
        if gateRate > 0 {
            for layer in gateOffsets.indices {
                for i in gateOffsets[layer].indices {
                    gateOffsets[layer][i] = keep * gateOffsets[layer][i] - gateRate * gradient.gates[layer][i]
                }
            }
        }
        lines += 1
    }

    /// Undoes what the user's lines gave word `id` (and the shared gate offsets).
    mutating func forget(id: Int) {
        guard offsets.indices.contains(id) else { return }
        offsets[id] = 0
        for layer in gateOffsets.indices { gateOffsets[layer] = [Float](repeating: 0, count: gateOffsets[layer].count) }
    }

    /// Whether every decoder offset is 0 (nothing learned, or all undone).
    public var isZero: Bool { offsets.allSatisfy { $0 == 0 } }
    /// Whether every gate offset is 0.
    public var gatesAreZero: Bool { gateOffsets.allSatisfy { $0.allSatisfy { $0 == 0 } } }

    // MARK: The history record

    /// The record's format: "NWB2", the line count (UInt32, little-endian), V fp16 decoder
    /// offsets, then L · 4H fp16 gate offsets (layer 0 first). "NWB1" records (the decoder's
    /// offsets alone, written before the gates were adapted) are read with zero gate offsets.
    static let magic = Array("NWB2".utf8)
    static let decoderOnlyMagic = Array("NWB1".utf8)

    /// The record's bytes.
    var encoded: Data {
        var data = Data(Self.magic)
        withUnsafeBytes(of: UInt32(clamping: lines).littleEndian) { data.append(contentsOf: $0) }
        let values = offsets + gateOffsets.flatMap { $0 }
        var halves = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { nw_floats_to_halves($0.baseAddress!, &halves, values.count) }
        halves.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// The lines a record was learned from, read from its header (nil: not a record).
    public static func lineCount(inRecord record: Data) -> Int? {
        let bytes = [UInt8](record.prefix(8))
        guard bytes.count == 8, [magic, decoderOnlyMagic].contains(Array(bytes[0 ..< 4])) else { return nil }
        return Int(UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24)
    }

    /// Reads a record; nil when it is not one for a model of this shape (another format, another
    /// model's size, a non-finite value): the adaptation then starts from zero.
    init?(record: Data, config: ModelConfig) {
        let bytes = [UInt8](record)
        guard let lines = Self.lineCount(inRecord: record) else { return nil }
        let (v, gateCount) = (config.vocabSize, 4 * config.hiddenSize)
        let withGates = Array(bytes[0 ..< 4]) == Self.magic
        let count = v + (withGates ? config.layers * gateCount : 0)
        guard bytes.count == 8 + 2 * count else { return nil }
        var halves = [UInt16](repeating: 0, count: count)
        for i in 0 ..< count { halves[i] = UInt16(bytes[8 + 2 * i]) | UInt16(bytes[9 + 2 * i]) << 8 }
        var values = [Float](repeating: 0, count: count)
        halves.withUnsafeBufferPointer { nw_halves_to_floats($0.baseAddress!, &values, count) }
        guard values.allSatisfy(\.isFinite) else { return nil }
        self.init(config: config)
        self.lines = lines
        offsets = Array(values[0 ..< v])
        if withGates {
            gateOffsets = (0 ..< config.layers).map { Array(values[v + $0 * gateCount ..< v + ($0 + 1) * gateCount]) }
        }
    }
}
