import Foundation

/// A probability in 16 bits, as the n-gram file stores alphas and gammas: `code = round(-ln(p) * 2048)`.
///
/// A fixed step in log space gives every value the same relative precision (half a step: at most
/// e^(1/4096) - 1 = 0.0244 %), down to e^-32 = 1.3e-14; Float16's precision falls apart below its
/// 6e-5 normal range, where most n-gram alphas live (a word seen once after "the" has an alpha near
/// 3e-6). The largest code is kept for 0, which discounting can produce (`alpha` of an n-gram whose
/// count equals its discount); values below e^-32 also become 0. Every code decodes to a finite
/// value in 0...1, so a damaged file cannot hold an out-of-range probability, and decoding then
/// encoding gives the same code (the Float rounding is far smaller than half a step).
enum NGramLogCode {
    /// Codes per unit of natural log.
    static let stepsPerNat: Double = 2048
    /// The code of probability 0.
    static let zero: UInt16 = .max

    /// The code nearest to `p` in log space; `p` at or below 0 (or not a number) gives `zero`, above
    /// 1 gives the code of 1.
    static func code(of p: Float) -> UInt16 {
        guard p > 0 else { return zero }
        let steps = (-Foundation.log(Double(p)) * stepsPerNat).rounded()
        guard steps > 0 else { return 0 }
        return steps < Double(zero) ? UInt16(steps) : zero
    }

    /// The probability a code stands for.
    static func probability(of code: UInt16) -> Float {
        code == zero ? 0 : Float(Foundation.exp(-Double(code) / stepsPerNat))
    }
}
