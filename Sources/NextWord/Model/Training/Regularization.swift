/// The dropout of a training pass, every kind AWD-LSTM uses (Merity, Keskar & Socher 2018,
/// "Regularizing and optimizing LSTM language models"), each with its own rate.
///
/// With `locked` off and one rate everywhere it is the plain (Zaremba) dropout of PyTorch's
/// word-language-model example, drawn exactly as before this type existed.
public struct Regularization: Codable, Sendable, Equatable {
    /// On the embedding output, the first layer's input (AWD's `dropouti`).
    public var input: Float = 0
    /// On the output of every layer but the last, the next layer's input (`dropouth`).
    public var hidden: Float = 0
    /// On the last layer's output, the decoder's input (`dropout`).
    public var output: Float = 0
    /// Whole words: a dropped word's embedding row is zero for the whole segment, the others are
    /// scaled by 1/(1 − p) (`dropoute`). Only the input lookup: the tied decoder sees every row.
    public var embedding: Float = 0
    /// DropConnect on every layer's recurrent matrix weight_hh, one mask per segment (`wdrop`).
    public var weightHH: Float = 0
    /// One mask per stream for the whole segment instead of one per step (locked, or variational,
    /// dropout): the same units are off at every step of a stream.
    public var locked = false
    /// Activation regularisation (AR, AWD's `alpha`): α · mean(x²) of the last layer's dropped
    /// output, added to the loss.
    public var activation: Float = 0
    /// Temporal activation regularisation (TAR, AWD's `beta`): β · mean((h_t − h_{t−1})²) of the
    /// last layer's output (before dropout) over the steps of a segment.
    public var temporal: Float = 0

    public init(input: Float = 0, hidden: Float = 0, output: Float = 0, embedding: Float = 0,
                weightHH: Float = 0, locked: Bool = false, activation: Float = 0, temporal: Float = 0) {
        self.input = input; self.hidden = hidden; self.output = output
        self.embedding = embedding; self.weightHH = weightHH; self.locked = locked
        self.activation = activation; self.temporal = temporal
    }

    private enum CodingKeys: String, CodingKey {
        case input, hidden, output, embedding, weightHH, locked, activation, temporal
    }

    /// Every field may be missing (a record from before it existed): it is then off.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func rate(_ key: CodingKeys) throws -> Float { try c.decodeIfPresent(Float.self, forKey: key) ?? 0 }
        self.init(input: try rate(.input), hidden: try rate(.hidden), output: try rate(.output),
                  embedding: try rate(.embedding), weightHH: try rate(.weightHH),
                  locked: try c.decodeIfPresent(Bool.self, forKey: .locked) ?? false,
                  activation: try rate(.activation), temporal: try rate(.temporal))
    }

    /// No dropout at all: evaluation and the engine.
    public static let none = Regularization()

    /// One rate on the embeddings, between layers and on the output, a fresh mask every step.
    public static func uniform(_ rate: Float) -> Regularization {
        Regularization(input: rate, hidden: rate, output: rate)
    }

    /// Every rate, for a validation message: each must be in [0, 1).
    package var rates: [(name: String, value: Float)] {
        [("input", input), ("hidden", hidden), ("output", output), ("embedding", embedding), ("weight-drop", weightHH)]
    }
}

extension SegmentWorkspace {
    /// Fills `mask` [rows, width] with inverted-dropout factors for this segment: independent per
    /// element, or with `locked` one [B, width] block drawn once and repeated at every step (rows
    /// are time-major, so block t covers rows t·B ..< (t+1)·B).
    func fillMask(_ mask: UnsafeMutablePointer<T>, width: Int, dropout: Float, locked: Bool,
                  generator: inout SeededGenerator) {
        guard locked, dropout > 0 else {
            fillMask(mask, count: rows * width, dropout: dropout, generator: &generator)
            return
        }
        let block = batch * width
        fillMask(mask, count: block, dropout: dropout, generator: &generator)
        for t in 1 ..< max(steps, 1) { (mask + t * block).update(from: mask, count: block) }
    }

    /// The embedding mask [TB, E] under `regularization`: each row is its word's whole-word factor
    /// (drawn once per segment for the whole vocabulary, as AWD-LSTM's embedded_dropout) times the
    /// input dropout's factors.
    func fillEmbeddingMask(inputs: UnsafePointer<Int32>, regularization r: Regularization,
                           generator: inout SeededGenerator) {
        let e = config.embeddingSize
        fillMask(embeddingMask, width: e, dropout: r.input, locked: r.locked, generator: &generator)
        guard r.embedding > 0 else { return }
        fillMask(wordMask, count: config.vocabSize, dropout: r.embedding, generator: &generator)
        for row in 0 ..< rows {
            let factor = wordMask[Int(inputs[row])]
            let target = embeddingMask + row * e
            for j in 0 ..< e { target[j] *= factor }
        }
    }

    /// Draws this segment's DropConnect mask on each layer's weight_hh and writes the dropped
    /// matrices W ⊙ mask; returns where each layer's recurrent matrix for this pass lives (the
    /// parameters themselves when nothing is dropped).
    ///   parameters + offsets[l]  [4H, P]   the raw weight_hh of layer l
    func recurrentWeights(parameters: UnsafePointer<T>, offsets: [Int], rate: Float,
                          generator: inout SeededGenerator) -> [UnsafePointer<T>] {
        weightDrop?.applied = rate > 0
        guard rate > 0, let drop = weightDrop else { return offsets.map { parameters + $0 } }
        let count = 4 * config.hiddenSize * config.outputSize
        return offsets.indices.map { layer in
            let mask = drop.masks[layer], dropped = drop.weights[layer]
            fillMask(mask, count: count, dropout: rate, generator: &generator)
            let raw = parameters + offsets[layer]
            for i in 0 ..< count { dropped[i] = raw[i] * mask[i] }
            return UnsafePointer(dropped)
        }
    }
}

/// The buffers DropConnect on weight_hh needs, per layer [4H, P]: the mask of this segment, the
/// dropped matrix the pass runs on, and the gradient with respect to the dropped matrix before the
/// mask takes it back to the raw one. Only training workspaces that drop weights have them.
final class WeightDropBuffers<T: BLASScalar> {
    let masks: [UnsafeMutablePointer<T>]
    let weights: [UnsafeMutablePointer<T>]
    let gradient: UnsafeMutablePointer<T>
    /// Whether the last forward pass ran on the dropped matrices (its backward must too).
    var applied = false

    init(layers: Int, count: Int) {
        func make() -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        masks = (0 ..< layers).map { _ in make() }
        weights = (0 ..< layers).map { _ in make() }
        gradient = make()
    }

    deinit {
        for p in masks + weights + [gradient] { p.deallocate() }
    }
}
