import Foundation

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

/// The closing lines of a keystroke simulation, in the format docs/KSR.md (Output) fixes for every
/// simulator, so scripts can read the project's numbers and Presage's the same way:
///
///     kn: 55
///     ki: 8
///     ks: 10
///     words: 10
///     {"kn": 55, "ki": 8, "ks": 10, "words": 10, "KSR": 67.27, "k": 3, "order": null, "learn": false, "predict_calls": 10, "mean_predict_ms": 0.001}
///     KSR: 67.27
///
/// The JSON keys come in the reference tool's order; `KSR` is printed with two decimals like the last
/// line, `mean_predict_ms` with three.
public enum KSRReport {
    /// The six closing lines, the `KSR:` line last.
    ///
    /// - Parameters:
    ///   - result: the simulation's outcome.
    ///   - order: the n-gram order of the engine when it has one, else `nil` (printed as `null`).
    public static func lines(for result: KSRResult, order: Int? = nil) -> [String] {
        [
            "kn: \(result.kn)",
            "ki: \(result.ki)",
            "ks: \(result.ks)",
            "words: \(result.words)",
            jsonLine(for: result, order: order),
            "KSR: \(twoDecimals(result.ksr))",
        ]
    }

    /// The closing lines joined, each ending with a line break.
    public static func text(for result: KSRResult, order: Int? = nil) -> String {
        lines(for: result, order: order).map { $0 + "\n" }.joined()
    }

    /// The JSON object line: kn, ki, ks, words, KSR, k, order, learn, predict_calls,
    /// mean_predict_ms. Written by hand rather than with JSONEncoder to keep the key order fixed and
    /// the numbers formatted like the reference.
    public static func jsonLine(for result: KSRResult, order: Int? = nil) -> String {
        let orderText = order.map(String.init) ?? "null"
        return "{\"kn\": \(result.kn), \"ki\": \(result.ki), \"ks\": \(result.ks), \"words\": \(result.words), "
            + "\"KSR\": \(twoDecimals(result.ksr)), \"k\": \(result.k), \"order\": \(orderText), "
            + "\"learn\": \(result.learn), \"predict_calls\": \(result.predictCalls), "
            + "\"mean_predict_ms\": \(fixed(result.meanPredictMs, decimals: 3))}"
    }

    /// `value` with two decimals, as C's `%.2f` prints it.
    public static func twoDecimals(_ value: Double) -> String { fixed(value, decimals: 2) }

    /// `%.Nf`, with a non-finite value (which a valid result never holds) printed as 0 so the JSON
    /// line stays parseable.
    static func fixed(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", value.isFinite ? value : 0)
    }
}
