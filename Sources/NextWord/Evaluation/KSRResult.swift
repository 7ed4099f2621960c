/// The outcome of one keystroke simulation (docs/KSR.md, Score).
///
/// Encodes with the key names of the protocol's JSON line (`predict_calls`, `mean_predict_ms`,
/// `KSR`), so a saved result reads like the reference tool's output.
public struct KSRResult: Codable, Sendable, Equatable {
    /// Characters (Unicode scalars) in the simulated text, each line break counting 1.
    public let kn: Int
    /// Characters typed: literals and word characters.
    public let ki: Int
    /// Suggestions selected.
    public let ks: Int
    /// Words simulated.
    public let words: Int
    /// Suggestions the simulated user looked at per keystroke.
    public let k: Int
    /// Whether the predictor learned from each line once it was typed.
    public let learn: Bool
    /// Calls made to the predictor.
    public let predictCalls: Int
    /// Mean wall-clock time of one predictor call, in milliseconds (monotonic clock).
    public let meanPredictMs: Double
    /// Keystroke savings rate in percent, `100 * (kn - ki - ks) / kn` (0 for an empty text).
    public let ksr: Double

    /// Builds a result; `ksr` is derived from the counts.
    public init(kn: Int, ki: Int, ks: Int, words: Int, k: Int, learn: Bool, predictCalls: Int, meanPredictMs: Double) {
        self.kn = kn
        self.ki = ki
        self.ks = ks
        self.words = words
        self.k = k
        self.learn = learn
        self.predictCalls = predictCalls
        self.meanPredictMs = meanPredictMs
        self.ksr = kn > 0 ? 100 * Double(kn - ki - ks) / Double(kn) : 0
    }

    enum CodingKeys: String, CodingKey {
        case kn, ki, ks, words, k, learn
        case predictCalls = "predict_calls"
        case meanPredictMs = "mean_predict_ms"
        case ksr = "KSR"
    }
}
