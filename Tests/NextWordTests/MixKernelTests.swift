import CKernels
import Foundation
import XCTest
@testable import NextWord

/// The corpus models' log-linear product (`nw_geometric_mix`, the vector log and exp of
/// MixKernels.c) against the same product in Double, on probabilities as the models give them:
/// from near 1 down to below the smallest normal float, zero included.
final class MixKernelTests: XCTestCase {
    private func probabilities(_ count: Int, _ generator: inout SeededGenerator) -> [Float] {
        (0 ..< count).map { i in
            switch i % 11 {
            case 3: return 0
            case 7: return Float.leastNormalMagnitude / 8  // subnormal: read as the smallest normal float
            default: return Float(pow(10, Double(generator.nextFloat(in: -12, 0))))
            }
        }
    }

    func testGeometricMixMatchesDoubleMath() {
        var generator = SeededGenerator(seed: 31)
        for count in [1, 7, 8, 15, 16, 17, 100, 16_001] {
            let a = probabilities(count, &generator), b = probabilities(count, &generator)
            for weight: Float in [0, 0.2, 0.5, 1] {
                var out = [Float](repeating: -1, count: count), portable = out
                let sum = nw_geometric_mix(a, b, count, weight, &out)
                let portableSum = nw_geometric_mix_portable(a, b, count, weight, &portable)
                var expected = 0.0
                for i in 0 ..< count {
                    let x = log(Double(max(a[i], Float.leastNormalMagnitude))), y = log(Double(max(b[i], Float.leastNormalMagnitude)))
                    let e = exp((1 - Double(weight)) * x + Double(weight) * y)
                    expected += e
                    // Relative (float carries ln x of a small probability, about -27, to a few 1e-7 of it, which
                    // the exp multiplies), except near the smallest normal float, where exp's input is clamped
                    // (e^-87.3) and float's own precision runs out: nothing there reaches a ranking.
                    let tolerance = max(1e-5 * e, 1e-37)
                    XCTAssertEqual(Double(out[i]), e, accuracy: tolerance, "element \(i) of \(count), w \(weight)")
                    XCTAssertEqual(Double(portable[i]), e, accuracy: tolerance, "portable, element \(i) of \(count), w \(weight)")
                }
                // Summed in float: 16,001 terms in one accumulator lose about 1e-5 of the total.
                XCTAssertEqual(Double(sum), expected, accuracy: 1e-4 * expected)
                XCTAssertEqual(Double(portableSum), expected, accuracy: 1e-4 * expected)
            }
        }
    }

    /// The exponent's ends are the models themselves: w = 0 gives a, w = 1 gives b.
    func testGeometricMixEndsAreTheInputs() {
        let a: [Float] = [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.001953125, 0.0009765625]
        let b = Array(a.reversed())
        var out = [Float](repeating: 0, count: a.count)
        _ = nw_geometric_mix(a, b, a.count, 0, &out)
        for (x, y) in zip(out, a) { XCTAssertEqual(x, y, accuracy: 1e-6 * y) }
        _ = nw_geometric_mix(a, b, a.count, 1, &out)
        for (x, y) in zip(out, b) { XCTAssertEqual(x, y, accuracy: 1e-6 * y) }
    }
}
