import Foundation

/// The LSTM as a source: it reads each context (one batch-1 step per token on fp16 gate and int8
/// decoder weights, `InferenceSession`) and gives its softmax, with the user's bias adaptation
/// (`BiasAdaptation`) added to the logits and the gates.
///
/// Learning is dynamic evaluation: a committed line's bias gradients are computed outside the
/// engine's lock on a reader session of its own (a softmax per word and a backward through the
/// line: milliseconds), and only the step is applied under it. Forgetting a word sets its decoder
/// offset and the gate offsets back to 0; clearing starts from zero.
final class LanguageModelSource: PredictionSource {
    let kind = SourceKind.languageModel
    let resources: EngineResources
    /// The engine's session: the one that reads contexts for every typing session.
    let session: InferenceSession
    private let rate: Float, gateRate: Float, decay: Float
    /// The user's bias adaptation (nil when `MixingWeights.dynamicRate` is 0). The session's
    /// offsets follow it (none while they are zero).
    private(set) var adaptation: BiasAdaptation? {
        didSet {
            session.decoderBiasOffsets = adaptation.flatMap { $0.isZero ? nil : $0.offsets }
            session.gateBiasOffsets = currentGateOffsets
            applyTemperature()
        }
    }

    init(resources: EngineResources, weights: MixingWeights) {
        self.resources = resources
        session = InferenceSession(model: resources.bundle.model, weights: resources.inferenceWeights)
        rate = weights.dynamicRate
        gateRate = weights.dynamicGateRate
        decay = weights.dynamicDecay
        temperature = weights.lstmTemperature
        temperatureFadeLines = weights.temperatureFadeLines
        if rate > 0 { adaptation = BiasAdaptation(config: resources.bundle.model.config) }
        applyTemperature()
    }

    /// `MixingWeights.lstmTemperature` and the lines over which it fades.
    private let temperature: Float, temperatureFadeLines: Float

    /// The softmax's temperature for the lines adapted so far: 1 + (T − 1) · exp(−lines / fade).
    /// A fresh engine hedges against text unlike the corpus with a flatter LSTM; dynamic evaluation
    /// then moves the decoder toward the user's own words, which does that job better.
    private func applyTemperature() {
        let lines = Float(adaptation?.lines ?? 0)
        let fade = temperatureFadeLines > 0 ? exp(-lines / temperatureFadeLines) : 1
        session.logitScale = 1 / (1 + (temperature - 1) * fade)
    }

    /// The gate offsets a session reading for this user applies (nil: the trained biases).
    var currentGateOffsets: [[Float]]? { adaptation.flatMap { $0.gatesAreZero ? nil : $0.gateOffsets } }

    func distribution(after context: ReadContext) -> SourceDistribution {
        .dense(session.probabilities(after: context.state))
    }

    func lesson(from line: CommittedLine) -> SourceLesson? {
        guard let offsets = adaptation.map({ $0.isZero ? nil : $0.offsets }) else { return nil }
        let vocabulary = resources.bundle.vocabulary
        var step: BiasAdaptation.Gradient?
        let (resources, withGates) = (self.resources, gateRate > 0)
        return SourceLesson(work: { reading in
            // Only the line's words the model knows are targets; refused text never is.
            let isTarget = reading.words.map { $0.map { vocabulary.id($0) != nil } ?? false }
            let scorer = InferenceSession(model: resources.bundle.model, weights: resources.inferenceWeights)
            scorer.decoderBiasOffsets = offsets
            step = BiasAdaptation.gradient(reading: reading, isTarget: isTarget, session: scorer, withGates: withGates)
        }, apply: { [self] in
            guard let step, step.targets > 0 else { return }
            adaptation?.step(step, rate: rate, gateRate: gateRate, decay: decay)
        })
    }

    func forget(_ lower: String) {
        guard var adapted = adaptation, let id = resources.bundle.vocabulary.id(lower) else { return }
        adapted.forget(id: id)
        adaptation = adapted
    }

    func clear() {
        if adaptation != nil { adaptation = BiasAdaptation(config: resources.bundle.model.config) }
    }

    var recordKind: HistoryStore.AdaptationKind? { adaptation == nil ? nil : .decoderBias }

    func encodedRecord() -> Data? { adaptation?.encoded }

    func restore(record: Data) {
        guard adaptation != nil, let restored = BiasAdaptation(record: record, config: resources.bundle.model.config) else { return }
        adaptation = restored
    }
}

/// The corpus Kneser-Ney trigram as a source: its distribution after the last two tokens read.
final class KneserNeySource: PredictionSource {
    let kind = SourceKind.kneserNey
    let model: NGramModel
    /// [V] the distribution last computed: a word boundary allocates only what the context cache
    /// keeps (the row is handed out and, once mixed and dropped, written in place again).
    private var scratch: [Float] = []

    init(model: NGramModel) { self.model = model }

    func distribution(after context: ReadContext) -> SourceDistribution {
        model.distribution(context: context.lastIDs.map(Int.init), into: &scratch)
        return .dense(scratch)
    }
}
