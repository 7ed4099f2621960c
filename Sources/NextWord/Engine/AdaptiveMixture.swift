/// The sources' weights for this user, tuned online from the words the user commits: after each
/// committed word, an EM step moves each weight toward the share of the word's probability that
/// its source gave (its responsibility), so a user who repeats themselves leans on the history and
/// the document cache, and one who does not leans on the corpus models.
///
///     r_s = λ_s p_s(w) / Σ_t λ_t p_t(w)         λ_s ← λ_s + η (r_s − λ_s)
///
/// It starts from the dev-tuned `MixingWeights` (the prior) and stays within bounds, so a run of
/// odd words cannot switch a source off or make it everything.
public struct AdaptiveMixture: Sendable, Equatable, Codable {
    /// Weight of the document cache (before its shrinkage for a short memory).
    public private(set) var cache: Float
    /// Weight of the user's history.
    public private(set) var user: Float
    /// Committed words seen.
    public private(set) var observations = 0

    /// Step size: about a hundred words to move a weight most of the way.
    static let rate: Float = 0.02
    static let bounds: ClosedRange<Float> = 0.02 ... 0.5

    public init(prior: MixingWeights) {
        cache = prior.cache
        user = prior.user
    }

    /// One committed word: the probability each source gave it in its context, and the weights
    /// the ranking used for the cache and the history then (the cache's after shrinkage).
    mutating func observe(base: Float, cache pCache: Float, user pUser: Float, cacheWeight: Float, userWeight: Float) {
        let baseWeight = max(0, 1 - cacheWeight - userWeight)
        let total = baseWeight * base + cacheWeight * pCache + userWeight * pUser
        guard total > 0, total.isFinite else { return }
        observations += 1
        let rate = Self.rate
        if cacheWeight > 0 { cache = clamp(cache + rate * (cacheWeight * pCache / total - cacheWeight)) }
        if userWeight > 0 { user = clamp(user + rate * (userWeight * pUser / total - userWeight)) }
        // Leave the corpus models a share.
        if cache + user > 0.8 {
            let scale = 0.8 / (cache + user)
            cache *= scale
            user *= scale
        }
    }

    /// Whether the weights are within the bounds (a record read back from a history).
    var isValid: Bool {
        Self.bounds.contains(cache) && Self.bounds.contains(user) && cache + user <= 0.8 + 1e-6 && observations >= 0
    }

    private func clamp(_ value: Float) -> Float { min(max(value, Self.bounds.lowerBound), Self.bounds.upperBound) }
}

/// What the sources said about one word the user typed, kept in its typing session until the line
/// is committed (the mixture learns only from committed text, never while incognito).
struct MixtureEvidence: Sendable {
    var base: Float, cache: Float, user: Float
    var cacheWeight: Float, userWeight: Float
}
