import Foundation

/// Settings of a training run; the defaults are the brown-lm benchmark configuration.
package struct TrainingOptions: Codable, Sendable, Equatable {
    /// Parallel streams per mini-batch (B).
    public var batchSize = 32
    /// Truncated-BPTT length in steps (T); the state is carried across segments.
    public var bptt = 35
    /// Dropout of every kind (the plain 0.4 of PyTorch's example by default).
    public var regularization = Regularization.uniform(0.4)
    /// One dropout rate on the embeddings, between layers and on the decoder input, a fresh mask
    /// every step (setting it replaces `regularization`).
    public var dropout: Float {
        get { regularization.output }
        set { regularization = .uniform(newValue) }
    }
    /// L2 weight decay: θ ← θ·(1 − lr·decay) with every step (after the clip, as PyTorch's SGD).
    public var weightDecay: Float = 0
    /// NT-ASGD (AWD-LSTM): average the weights of every step from the epoch whose validation is
    /// worse than the best of the epochs before the last `n`; validation and the saved model use
    /// the average from then on. Replaces annealing. nil: plain SGD with annealing.
    public var averagingNonmonotone: Int?
    /// NT-ASGD at the latest after this many epochs, plateau or not: a run with a time budget
    /// (AWD-LSTM's own runs take 500+ epochs to plateau) still gets the average's gain in the
    /// epochs it has left; 0 averages from the first step (fine-tuning a trained model, as
    /// AWD-LSTM's finetune.py). Needs `averagingNonmonotone`; nil: only the plateau starts it.
    public var averagingStartEpoch: Int?
    /// Plain SGD learning rate (as PyTorch's word-language-model example).
    public var learningRate: Float = 20
    /// Global gradient-norm clip.
    public var clip: Float = 0.25
    /// Divide the learning rate by this when validation perplexity does not improve.
    public var annealFactor: Float = 4
    /// "Does not improve" means by less than this fraction of the best so far (0: any gain counts,
    /// as in PyTorch's example; 0.01: a gain under 1% is a plateau too).
    public var annealThreshold: Double = 0
    public var epochs = 12
    public var seed: UInt64 = 1
    /// Threads for BLAS and for the softmax.
    public var threads = 2
    /// Stop an epoch early after this many minutes of training in total (nil: no limit).
    public var maxMinutes: Double?
    /// The segment's matrix products (`MatmulPrecision`): bfloat16 on AMX tiles where the CPU has
    /// them, or fp32 on the BLAS.
    public var matmulPrecision = MatmulPrecision.automatic

    public init() {}
}

/// What a trainer reports while it runs.
package struct TrainingProgress: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var meanLoss: Double
    public var tokensPerSecond: Double
    public var secondsLeftInEpoch: Double
}

/// Where a run stands between epochs: enough, with the weights, to resume it exactly.
package struct TrainingState: Codable, Sendable, Equatable {
    public var epochsDone = 0
    public var learningRate: Float
    public var bestValidPerplexity: Double?
    public var history: [EpochRecord] = []
    public var generator: SeededGenerator
    public var trainingSeconds = 0.0
    public var tokensTrained = 0
    /// Where NT-ASGD's averaging stands once it has started (nil: not yet, or not asked for).
    public var averaging: AveragingState?

    public init(options: TrainingOptions) {
        learningRate = options.learningRate
        generator = SeededGenerator(seed: options.seed &+ 0x5EED)
    }
}

/// Truncated backpropagation through time with plain SGD, global-norm clipping and annealing on a
/// validation plateau, as in PyTorch's word-language-model example.
package final class Trainer {
    public private(set) var model: LanguageModel
    public let options: TrainingOptions
    public var state: TrainingState
    private let pass: NetworkPass<Float>
    private var gradients: [Float]
    private var workspaces: [Int: SegmentWorkspace<Float>] = [:]
    /// The bfloat16 tile products' scratch, when `options.matmulPrecision` resolves to them.
    private let tiles: TileProducts?
    /// NT-ASGD's running mean of the weights of every step since averaging began [P].
    public private(set) var average: ParameterAverage?

    /// `average`: the running mean saved with a checkpoint of a run that was averaging.
    public init(model: LanguageModel, options: TrainingOptions, state: TrainingState? = nil, average: [Float]? = nil) {
        self.model = model
        self.options = options
        self.state = state ?? TrainingState(options: options)
        pass = NetworkPass(config: model.config)
        gradients = [Float](repeating: 0, count: model.parameters.count)
        tiles = options.matmulPrecision.resolved == .bfloat16 ? TileProducts() : nil
        // `averagingStartEpoch` 0: average from the first step (AWD-LSTM's fine-tuning pass over a
        // trained model).
        if let averaging = self.state.averaging {
            self.average = ParameterAverage(mean: average ?? model.parameters, steps: averaging.steps)
        } else if self.state.epochsDone == 0, options.averagingNonmonotone != nil, options.averagingStartEpoch == 0 {
            startAveraging()
        }
        setBLASThreads(options.threads)
    }

    /// NT-ASGD from here on: the mean of the weights of every step after this one.
    private func startAveraging() {
        state.averaging = AveragingState(sinceEpoch: state.epochsDone, steps: 0)
        average = ParameterAverage(mean: model.parameters, steps: 0)
    }

    /// The weights to validate and to save: NT-ASGD's average once it runs, else the current ones.
    public var evaluationParameters: [Float] { average?.mean ?? model.parameters }

    private func workspace(steps: Int) -> SegmentWorkspace<Float> {
        if let ws = workspaces[steps] { return ws }
        let ws = SegmentWorkspace<Float>(config: model.config, steps: steps, batch: options.batchSize,
                                         weightDrop: options.regularization.weightHH > 0, tiles: tiles)
        workspaces[steps] = ws
        return ws
    }

    /// Trains one epoch over `stream` (token ids, `</s>` after every line) and returns the mean
    /// training loss. Calls `progress` about every `progressEvery` batches.
    public func trainEpoch(stream: [Int32], progressEvery: Int = 20,
                           progress: (TrainingProgress) -> Void = { _ in }) -> Double {
        let b = options.batchSize
        let columns = stream.count / b
        guard columns > 1 else { return .nan }
        let epoch = state.epochsDone + 1
        var recurrent = RecurrentState<Float>(config: model.config, batch: b)
        var inputs = [Int32](repeating: 0, count: options.bptt * b)
        var targets = inputs
        let batches = (columns - 1 + options.bptt - 1) / options.bptt
        var lossSum = 0.0, tokens = 0, batch = 0
        let start = Date()
        var position = 0
        while position < columns - 1 {
            let steps = min(options.bptt, columns - 1 - position)
            // Time-major gather: stream b covers columns [b·n, (b+1)·n).
            for t in 0 ..< steps {
                for s in 0 ..< b {
                    inputs[t * b + s] = stream[s * columns + position + t]
                    targets[t * b + s] = stream[s * columns + position + t + 1]
                }
            }
            let ws = workspace(steps: steps)
            // `gradients` is all zeros here: it starts so and `applyClippedStep` clears it.
            let loss = model.parameters.withUnsafeBufferPointer { p in
                gradients.withUnsafeMutableBufferPointer { g in
                    inputs.withUnsafeBufferPointer { i in
                        targets.withUnsafeBufferPointer { t in
                            pass.lossAndGradients(parameters: p.baseAddress!, gradients: g.baseAddress!,
                                                  inputs: i.baseAddress!, targets: t.baseAddress!, state: &recurrent,
                                                  workspace: ws, regularization: options.regularization, generator: &state.generator,
                                                  threads: options.threads)
                        }
                    }
                }
            }
            applyClippedStep()
            if average != nil {
                average?.add(model.parameters)  // in place: the optional is mutated where it is stored
                state.averaging?.steps = average?.steps ?? 0
            }
            lossSum += loss
            tokens += steps * b
            batch += 1
            position += steps
            let elapsed = Date().timeIntervalSince(start)
            if batch % progressEvery == 0 || position >= columns - 1 {
                let rate = Double(tokens) / max(elapsed, 1e-9)
                progress(TrainingProgress(epoch: epoch, batch: batch, batches: batches, meanLoss: lossSum / Double(tokens),
                                          tokensPerSecond: rate,
                                          secondsLeftInEpoch: Double((columns - 1 - position) * b) / max(rate, 1e-9)))
            }
            if let limit = options.maxMinutes, (state.trainingSeconds + elapsed) / 60 > limit { break }
        }
        state.trainingSeconds += Date().timeIntervalSince(start)
        state.tokensTrained += tokens
        return lossSum / Double(max(tokens, 1))
    }

    /// θ ← θ·(1 − lr·decay) − lr · g · min(1, clip / ‖g‖), the global norm over every parameter;
    /// leaves g zero for the next batch (in the same pass, as the update reads it anyway).
    private func applyClippedStep() {
        let count = gradients.count
        let squares = gradients.withUnsafeBufferPointer { sumOfSquares($0.baseAddress!, count: count) }
        let norm = Float(squares.squareRoot())
        let factor = -state.learningRate * (norm > options.clip ? options.clip / norm : 1)
        let keep = 1 - state.learningRate * options.weightDecay
        model.parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeMutableBufferPointer { g in
                if keep == 1 {
                    for i in 0 ..< count { p[i] += factor * g[i]; g[i] = 0 }
                } else {
                    for i in 0 ..< count { p[i] = p[i] * keep + factor * g[i]; g[i] = 0 }
                }
            }
        }
    }

    /// Σ x² in Float lanes of 16, each block of 4,096 added into a Double so millions of terms
    /// keep their precision.
    private func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let raw = UnsafeRawPointer(x)
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(start + 4096, count)
            var lanes = SIMD16<Float>()
            var i = start
            while i + 16 <= end {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                lanes += v * v
                i += 16
            }
            var block = lanes.sum()
            while i < end { block += x[i] * x[i]; i += 1 }
            total += Double(block)
            start = end
        }
        return total
    }

    /// Closes an epoch: records it, anneals the learning rate when validation did not improve (or,
    /// under NT-ASGD, starts averaging), and says whether this epoch's model (`evaluationParameters`)
    /// is the best so far (the one to keep).
    public func finishEpoch(trainLoss: Double, validPerplexity: Double, seconds: Double, tokensPerSecond: Double) -> Bool {
        let earlier = state.history.map(\.validPerplexity)
        state.epochsDone += 1
        state.history.append(EpochRecord(epoch: state.epochsDone, trainLoss: trainLoss, validPerplexity: validPerplexity,
                                         learningRate: state.learningRate, seconds: seconds, tokensPerSecond: tokensPerSecond,
                                         averaged: state.averaging == nil ? nil : true))
        if let n = options.averagingNonmonotone, state.averaging == nil,
           AveragingState.triggers(validPerplexity: validPerplexity, earlier: earlier, nonmonotone: n)
            || options.averagingStartEpoch.map({ state.epochsDone >= $0 }) == true {
            startAveraging()
        }
        guard let best = state.bestValidPerplexity else {
            state.bestValidPerplexity = validPerplexity
            return true
        }
        if options.averagingNonmonotone == nil, !(validPerplexity < best * (1 - options.annealThreshold)) {
            state.learningRate /= options.annealFactor
        }
        guard validPerplexity < best else { return false }
        state.bestValidPerplexity = validPerplexity
        return true
    }

    /// Replaces the weights (to go back to the best model after a bad epoch, say).
    public func setParameters(_ parameters: [Float]) { model.parameters = parameters }
}
