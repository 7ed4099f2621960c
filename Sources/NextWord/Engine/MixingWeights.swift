/// How the engine mixes its sources into one probability per word:
///
///     P(w) = (1 − cache − user) · [ (1 − ngram) · P_lstm(w) + ngram · P_kn(w) ]
///            + cache · P_document(w) + user · P_history(w | last two words)
///
/// P_lstm is the LSTM's softmax, P_kn the corpus Kneser-Ney trigram, P_document the share of w
/// among the last `cacheWindow` words of the text, P_history the user's own Witten-Bell trigram.
/// Words the model only knows as `<unk>` take P(<unk>) split by their corpus (lexicon) counts.
/// A source that is absent gives its weight back to the others. Tuned on ../shared/data/dev
/// (see BENCHMARKS.md): the defaults are the tuned values.
public struct MixingWeights: Codable, Sendable, Equatable {
    /// Share of the Kneser-Ney n-gram in the corpus model.
    public var ngram: Float = 0.25
    /// Weight of the document cache.
    public var cache: Float = 0.06
    /// Weight of the user's history.
    public var user: Float = 0.12
    /// Words of the document the cache looks back over.
    public var cacheWindow = 400
    /// Times the user must type a word the model does not know before it is suggested (typos
    /// typed once are not).
    public var newWordMinimumCount = 2

    public init() {}
}
