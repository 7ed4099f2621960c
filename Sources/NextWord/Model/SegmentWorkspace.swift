/// The hidden and cell state of every layer for B streams, carried from one segment to the next.
///   h[layer]  [B, P]   each layer's output (P = H without a projection)
///   c[layer]  [B, H]
package struct RecurrentState<T: BLASScalar>: Sendable {
    public var h: [[T]]
    public var c: [[T]]

    public init(layers: Int, batch: Int, hidden: Int, output: Int? = nil) {
        h = Array(repeating: Array(repeating: 0, count: batch * (output ?? hidden)), count: layers)
        c = Array(repeating: Array(repeating: 0, count: batch * hidden), count: layers)
    }

    /// A zero state for B streams of a model of this shape.
    public init(config: ModelConfig, batch: Int) {
        self.init(layers: config.layers, batch: batch, hidden: config.hiddenSize, output: config.outputSize)
    }
}

/// Every buffer one pass over a segment (T steps × B streams) needs, allocated once and reused,
/// so the training loop and the engine's steps allocate nothing.
///
/// Rows are time-major: row r = t · B + b.
final class SegmentWorkspace<T: BLASScalar> {
    let config: ModelConfig
    let steps: Int
    let batch: Int
    var rows: Int { steps * batch }

    /// [TB, E] embeddings of the inputs, dropout applied.
    let embedded: UnsafeMutablePointer<T>
    /// [TB, E] the embedding dropout mask (0 or 1/(1−p)).
    let embeddingMask: UnsafeMutablePointer<T>
    /// Per layer [TB, 4H]: gate activations, then (in the backward) pre-activation gradients.
    let gates: [UnsafeMutablePointer<T>]
    /// Per layer: block 0 is the initial state, block t+1 the state after step t; the outputs h
    /// [(T+1)·B, P], the cells [(T+1)·B, H].
    let hidden: [UnsafeMutablePointer<T>]
    let cell: [UnsafeMutablePointer<T>]
    /// Per layer [TB, H]: tanh of the cell state after each step.
    let tanhCell: [UnsafeMutablePointer<T>]
    /// With a projection, per layer [TB, H]: o ⊙ tanh(c) before W_hr projects it to h (empty without).
    let cellOutput: [UnsafeMutablePointer<T>]
    /// [TB, P] with a projection: dLoss/dh_t of every step, for W_hr's gradient in one product.
    let projectedGradient: UnsafeMutablePointer<T>
    /// [B, H] with a projection: dLoss/d(o ⊙ tanh c) of the step being run backwards.
    let dm: UnsafeMutablePointer<T>
    /// Per layer [TB, P]: the layer's output after dropout (the next layer's input; the last
    /// layer's feeds the decoder), and its mask.
    let dropped: [UnsafeMutablePointer<T>]
    let outputMask: [UnsafeMutablePointer<T>]
    /// [TB, V] logits, then probabilities or gradients.
    let logits: UnsafeMutablePointer<T>
    /// [TB, max(E, P)] gradient scratch for layer outputs and inputs.
    let gradientA: UnsafeMutablePointer<T>
    let gradientB: UnsafeMutablePointer<T>
    /// [B, P] dh and [B, H] dc carried backwards through time.
    let dh: UnsafeMutablePointer<T>
    let dc: UnsafeMutablePointer<T>
    /// [4H] bias_ih + bias_hh of the layer being run.
    let gateBias: UnsafeMutablePointer<T>
    /// [TB] ones: column sums (bias gradients) as a matrix-vector product on the BLAS threads.
    let ones: UnsafeMutablePointer<T>
    /// [V] whole-word dropout factors of this segment (`Regularization.embedding`).
    let wordMask: UnsafeMutablePointer<T>
    /// DropConnect buffers on weight_hh, in workspaces made for training with weight drop.
    let weightDrop: WeightDropBuffers<T>?
    /// The recurrent matrices of the segment, packed for the step products.
    let stepProducts: StepProducts<T>
    /// Where the segment's matrix products run in bfloat16 on AMX tiles (training with
    /// `MatmulPrecision.bfloat16`, Float only); nil: the BLAS in T.
    let tiles: TileProducts?

    private var allocations: [UnsafeMutablePointer<T>] = []

    /// `panels: false` runs the step products on the BLAS even where the panel kernel exists.
    init(config: ModelConfig, steps: Int, batch: Int, weightDrop: Bool = false, panels: Bool = true,
         tiles: TileProducts? = nil) {
        self.config = config
        self.tiles = T.self == Float.self ? tiles : nil
        self.steps = steps
        self.batch = batch
        let (e, h, v, layers) = (config.embeddingSize, config.hiddenSize, config.vocabSize, config.layers)
        let o = config.outputSize, projecting = config.projectionSize != nil
        let rows = steps * batch
        var owned: [UnsafeMutablePointer<T>] = []
        func make(_ count: Int) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            owned.append(p)
            return p
        }
        embedded = make(rows * e)
        embeddingMask = make(rows * e)
        gates = (0 ..< layers).map { _ in make(rows * 4 * h) }
        hidden = (0 ..< layers).map { _ in make((steps + 1) * batch * o) }
        cell = (0 ..< layers).map { _ in make((steps + 1) * batch * h) }
        tanhCell = (0 ..< layers).map { _ in make(rows * h) }
        cellOutput = (0 ..< layers).map { _ in make(projecting ? rows * h : 0) }
        projectedGradient = make(projecting ? rows * o : 0)
        dm = make(projecting ? batch * h : 0)
        dropped = (0 ..< layers).map { _ in make(rows * o) }
        outputMask = (0 ..< layers).map { _ in make(rows * o) }
        logits = make(rows * v)
        gradientA = make(rows * max(e, o))
        gradientB = make(rows * max(e, o))
        dh = make(batch * o)
        dc = make(batch * h)
        gateBias = make(4 * h)
        ones = make(rows)
        ones.update(repeating: 1, count: rows)
        wordMask = make(v)
        self.weightDrop = weightDrop ? WeightDropBuffers(layers: layers, count: 4 * h * o) : nil
        stepProducts = StepProducts(panels: panels)
        allocations = owned
    }

    deinit {
        for p in allocations { p.deallocate() }
    }

    /// Fills `mask` [count] with inverted-dropout factors: 0 with probability p, else 1/(1−p).
    func fillMask(_ mask: UnsafeMutablePointer<T>, count: Int, dropout: Float,
                  generator: inout SeededGenerator) {
        if dropout <= 0 {
            mask.update(repeating: 1, count: count)
            return
        }
        let keep = T(1 / (1 - dropout))
        for i in 0 ..< count {
            mask[i] = generator.nextUnitFloat() < dropout ? 0 : keep
        }
    }
}
