import Foundation

/// The neural cache over the document being typed (Grave, Joulin & Usunier 2017) as a source:
/// p(w) ∝ Σ exp(θ · h · h_i) over the remembered positions followed by w (`NeuralCache`).
///
/// What it remembers is the field's own text, read with the context (`ReadContext.memory`, kept
/// by each typing session and made as learning would see the text: nothing the policy refuses).
/// It learns nothing: forgetting, clearing and incognito drop the sessions' memories (the
/// engine's memory generation), and a forgotten word is not taken from the text again.
final class DocumentCacheSource: PredictionSource {
    let kind = SourceKind.documentCache
    let cache: NeuralCache
    /// The cache's weight is scaled by n / (n + this), n the positions it remembers.
    let shrinkage: Float

    init(weights: MixingWeights) {
        cache = NeuralCache(window: weights.cacheWindow, theta: weights.cacheTheta, decay: weights.cacheDecay)
        shrinkage = Float(weights.cacheShrinkage)
    }

    /// Whether the engine keeps a document memory at all (a cache with weight or window 0 does not).
    static func isOn(_ weights: MixingWeights) -> Bool { weights.cache > 0 && weights.cacheWindow > 0 }

    func distribution(after context: ReadContext) -> SourceDistribution {
        // The word just typed is left out when it is the newest position: remembered by the state
        // most like the query, it would mostly be proposed again.
        .sparse(cache.distribution(query: context.query, memory: context.memory, skippingNewest: context.lastWord))
    }

    func confidence(after context: ReadContext) -> Float {
        guard let memory = context.memory else { return 0 }
        let remembered = min(memory.count, cache.window)
        // Nothing to offer when the only position in view is the word just typed (left out above).
        let offered = remembered - (context.lastWord != nil && memory.newestWord == context.lastWord ? 1 : 0)
        guard offered > 0 else { return 0 }
        return Float(remembered) / (Float(remembered) + shrinkage)
    }
}
