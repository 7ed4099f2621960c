/// The sparse sources' weights for this user, tuned online from the words the user commits: after
/// each committed word, an EM step moves each weight toward the share of the word's probability
/// that its source gave (its responsibility), so a user who repeats themselves leans on the history
/// and the document cache, and one who does not leans on the corpus models.
///
///     r_s = λ_s p_s(w) / Σ_t λ_t p_t(w)         λ_s ← λ_s + η (r_s − λ_s)
///
/// It starts from the dev-tuned `MixingWeights` (the prior) and stays within bounds, so a run of
/// odd words cannot switch a source off or make it everything.
public struct AdaptiveMixture: Sendable, Equatable {
    /// The weight of each sparse source (before its confidence after a context scales it).
    public private(set) var weights: [SourceKind: Float]
    /// Committed words seen.
    public private(set) var observations = 0

    /// Step size: about four hundred words to move a weight most of the way. Tuned on the five dev
    /// texts (`simulate --learn`, KSR summed): 0 → 246.04, 0.0025 → 246.59, 0.005 → 246.65,
    /// 0.01 → 246.55, 0.02 → 246.47, 0.05 → 246.25 (faster steps chase each document's likelihood).
    static let rate: Float = 0.005
    static let bounds: ClosedRange<Float> = 0.02 ... 0.5
    /// What the sparse sources may take together: the corpus models keep the rest.
    static let sparseLimit: Float = 0.8

    public init(prior: MixingWeights) {
        weights = [.documentCache: prior.cache, .userHistory: prior.user, .userCache: prior.userCache]
    }

    /// Weight of the document cache.
    public var cache: Float { weight(of: .documentCache) }
    /// Weight of the user's history.
    public var user: Float { weight(of: .userHistory) }

    public func weight(of kind: SourceKind) -> Float { weights[kind] ?? 0 }

    /// One committed word: what each source gave it in its context, and the weights the ranking
    /// used for them then (after their confidence).
    mutating func observe(_ evidence: MixtureEvidence) {
        let sparseWeight = evidence.sources.reduce(0) { $0 + $1.weight }
        var total = max(0, 1 - sparseWeight) * evidence.corpus
        for item in evidence.sources { total += item.weight * item.probability }
        guard total > 0, total.isFinite else { return }
        observations += 1
        for item in evidence.sources where item.weight > 0 {
            weights[item.kind] = clamp(weight(of: item.kind) + Self.rate * (item.weight * item.probability / total - item.weight))
        }
        // Leave the corpus models a share.
        // In a fixed order: a dictionary's order changes from one process to the next.
        let sum = SourceKind.allCases.reduce(0) { $0 + weight(of: $1) }
        if sum > Self.sparseLimit {
            let scale = Self.sparseLimit / sum
            for kind in weights.keys { weights[kind]! *= scale }
        }
    }

    /// Whether the weights are within the bounds (a record read back from a history).
    var isValid: Bool {
        weights.values.allSatisfy { $0 == 0 || Self.bounds.contains($0) } && weights.values.reduce(0, +) <= Self.sparseLimit + 1e-6
            && observations >= 0
    }

    private func clamp(_ value: Float) -> Float { min(max(value, Self.bounds.lowerBound), Self.bounds.upperBound) }
}

extension AdaptiveMixture: Codable {
    /// The record's keys: one per source (the names it had when the mixture had two), and the count.
    private enum CodingKeys: String, CodingKey { case cache, user, userCache, observations }
    private static let keys: [SourceKind: CodingKeys] = [.documentCache: .cache, .userHistory: .user, .userCache: .userCache]

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // A record from before a source existed starts that source at its default prior.
        let prior = AdaptiveMixture(prior: MixingWeights())
        weights = [:]
        for (kind, key) in Self.keys {
            weights[kind] = try container.decodeIfPresent(Float.self, forKey: key) ?? prior.weight(of: kind)
        }
        observations = try container.decode(Int.self, forKey: .observations)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        for (kind, key) in Self.keys { try container.encode(weight(of: kind), forKey: key) }
        try container.encode(observations, forKey: .observations)
    }
}

/// What the sources said about one word the user typed, kept in its typing session until the line
/// is committed (the mixture learns only from committed text, never while incognito): the corpus
/// row's probability, and each sparse source's with the weight the ranking gave it.
struct MixtureEvidence: Sendable {
    var corpus: Float
    var sources: [(kind: SourceKind, probability: Float, weight: Float)]
}
