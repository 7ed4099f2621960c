import CKernels
import XCTest
@testable import NextWord

/// The fp16 kernels behind the engine's batch-1 output layer: conversions checked against Swift's
/// own Float16 where the platform has it, the vector product against the portable one and a
/// Double reference, and the session's distribution (fp16 gates, int8 decoder) against the
/// full-precision model.
final class HalfKernelTests: XCTestCase {
    func testEveryHalfSurvivesTheRoundTrip() {
        let halves = (0 ... UInt16.max).map { $0 }
        var floats = [Float](repeating: 0, count: halves.count)
        nw_halves_to_floats(halves, &floats, halves.count)
        var back = [UInt16](repeating: 0, count: halves.count)
        nw_floats_to_halves(floats, &back, floats.count)
        for (index, half) in halves.enumerated() {
            if floats[index].isNaN {
                XCTAssertTrue((back[index] & 0x7C00) == 0x7C00 && (back[index] & 0x3FF) != 0, "NaN \(half) stays NaN")
            } else {
                XCTAssertEqual(back[index], half, "half \(String(half, radix: 16))")
            }
            #if !(os(macOS) && arch(x86_64))
            let reference = Float(Float16(bitPattern: half))
            XCTAssertTrue(reference.bitPattern == floats[index].bitPattern || (reference.isNaN && floats[index].isNaN))
            #endif
        }
    }

    #if !(os(macOS) && arch(x86_64))
    func testFloatToHalfRoundsLikeSwift() {
        var generator = SeededGenerator(seed: 3)
        // Normal, subnormal, overflowing and tie cases; an odd count exercises the vector tail.
        var values: [Float] = [0, -0, 65504, 65520, 65519.99, 1e6, -1e6, 5.96e-8, 2.98e-8, 2.99e-8, 1e-10,
                               .infinity, -.infinity, 1 + 1.0 / 2048, 1 + 3.0 / 2048]
        for _ in 0 ..< 20_001 {
            let exponent = Int(generator.next() % 60) - 30
            values.append(generator.nextFloat(in: -1, 1) * Float(sign: .plus, exponent: exponent, significand: 1))
        }
        var halves = [UInt16](repeating: 0, count: values.count)
        nw_floats_to_halves(values, &halves, values.count)
        for (value, half) in zip(values, halves) {
            XCTAssertEqual(half, Float16(value).bitPattern, "\(value)")
        }
    }
    #endif

    /// The start-up weight check: the first value beyond the limit or not a number, wherever it
    /// falls (inside a vectorized block, at its edges, in the tail), and none in a clean array.
    func testFirstOutOfRangeFindsTheFirstBadValue() {
        var generator = SeededGenerator(seed: 12)
        let clean = (0 ..< 1000).map { _ in generator.nextFloat(in: -65_504, 65_504) }
        XCTAssertEqual(nw_first_out_of_range(clean, clean.count, 65_504), 1000)
        XCTAssertEqual(nw_first_out_of_range(clean, 0, 65_504), 0)
        for position in [0, 1, 255, 256, 511, 700, 999] {
            for bad: Float in [.nan, .infinity, -.infinity, 65_505, -1e37] {
                var values = clean
                values[position] = bad
                if position + 3 < values.count { values[position + 3] = .nan }  // a later one is not the first
                XCTAssertEqual(nw_first_out_of_range(values, values.count, 65_504), position, "\(bad) at \(position)")
            }
        }
    }

    func testVectorProductMatchesPortableAndDouble() {
        var generator = SeededGenerator(seed: 9)
        for (rows, cols) in [(37, 19), (64, 192), (5, 8), (3, 3), (101, 256), (2, 192), (1, 33)] {
            let weights = (0 ..< rows * cols).map { _ in generator.nextFloat(in: -0.5, 0.5) }
            var halves = [UInt16](repeating: 0, count: weights.count)
            nw_floats_to_halves(weights, &halves, weights.count)
            var exact = [Float](repeating: 0, count: weights.count)
            nw_halves_to_floats(halves, &exact, halves.count)
            let x = (0 ..< cols).map { _ in generator.nextFloat(in: -2, 2) }
            let bias = (0 ..< rows).map { _ in generator.nextFloat(in: -1, 1) }
            var fast = [Float](repeating: .nan, count: rows), portable = fast
            nw_half_gemv(halves, x, bias, &fast, rows, cols)
            nw_half_gemv_portable(halves, x, bias, &portable, rows, cols)
            for r in 0 ..< rows {
                var reference = Double(bias[r])
                for c in 0 ..< cols { reference += Double(exact[r * cols + c]) * Double(x[c]) }
                XCTAssertEqual(Double(fast[r]), reference, accuracy: 1e-4, "fast row \(r) of \(rows)x\(cols)")
                XCTAssertEqual(Double(portable[r]), reference, accuracy: 1e-4, "portable row \(r) of \(rows)x\(cols)")
            }
        }
    }

    /// With weights that fp16 holds exactly (as in a model loaded from an fp16 file), the session's
    /// distribution is the full-precision model's.
    func testSessionMatchesFullPrecisionModel() throws {
        try checkSessionMatchesFullPrecisionModel(hidden: 16, projection: nil)
    }

    /// The same with a projection (h = W_hr · (o ⊙ tanh c): 24 cells projected to 16).
    func testSessionWithAProjectionMatchesFullPrecisionModel() throws {
        try checkSessionMatchesFullPrecisionModel(hidden: 24, projection: 16)
    }

    private func checkSessionMatchesFullPrecisionModel(hidden: Int, projection: Int?) throws {
        var config = ModelConfig(vocabularyFile: "t", vocabularySHA256: "", vocabSize: 53, embeddingSize: 16,
                                 hiddenSize: hidden, layers: 2, tied: true, tokenization: .pretokenized)
        config.projectionSize = projection
        var model = try LanguageModel.initialized(config: config, seed: 4)
        var halves = [UInt16](repeating: 0, count: model.parameters.count)
        nw_floats_to_halves(model.parameters, &halves, halves.count)
        nw_halves_to_floats(halves, &model.parameters, halves.count)
        let tokens = [3, 17, 52, 0, 9]
        let reference = try model.logProbabilities(of: tokens)
        let session = InferenceSession(model: model)
        let decoder = ParameterLayout(config).offsets(layers: config.layers).decoderWeight
        let width = config.outputSize
        var state = session.initialState()
        for (t, token) in tokens.enumerated() {
            session.advance(&state, with: [Int32(token)])
            let p = session.probabilities(after: state)
            XCTAssertEqual(Double(p.reduce(0, +)), 1, accuracy: 1e-5)
            // The gates run on the file's fp16 weights exactly; the decoder on int8 rows, whose
            // logits are within s_r/2 · Σ|h| + hs/2 · Σ_c s_r |q_rc| of the exact ones (see
            // QuantizedKernelTests), so each log-probability is within twice the largest of those.
            let h = state.h[config.layers - 1]
            let hScale = Double(h.map { abs($0) }.max()!) / 127, hMass = h.reduce(0) { $0 + Double(abs($1)) }
            var bound = 0.0
            for v in 0 ..< config.vocabSize {
                let row = model.parameters[decoder + v * width ..< decoder + (v + 1) * width]
                let rowScale = Double(row.map { abs($0) }.max()!) / 127
                // Σ_c s_r |q_rc| ≤ Σ_c |w_rc| + P · s_r / 2 (each level rounded at most half a step up).
                let levelMass = row.reduce(0) { $0 + Double(abs($1)) } + Double(width) * rowScale / 2
                bound = max(bound, rowScale / 2 * hMass + hScale / 2 * levelMass)
            }
            XCTAssertLessThan(bound, 0.01, "a bound this loose would not test the LSTM")
            for v in 0 ..< config.vocabSize {
                XCTAssertEqual(log(Double(p[v])), Double(reference[t][v]), accuracy: 2 * bound + 1e-4, "step \(t) word \(v)")
            }
        }
    }
}

/// The softmax's C passes (AVX-512, AVX2 or portable, whichever this CPU runs) against Double.
final class SoftmaxCKernelTests: XCTestCase {
    func testScoreRowsMatchesADoubleLogSoftmax() {
        var generator = SeededGenerator(seed: 21)
        for cols in [1, 7, 16, 33, 1000] {
            let rows = 5
            let logits = (0 ..< rows * cols).map { _ in generator.nextFloat(in: -30, 30) }
            let bias = (0 ..< cols).map { _ in generator.nextFloat(in: -2, 2) }
            let targets: [Int32] = (0 ..< rows).map { $0 == 2 ? -1 : Int32(generator.next() % UInt64(cols)) }
            var reference = 0.0
            for r in 0 ..< rows where targets[r] >= 0 {
                let row = (0 ..< cols).map { Double(logits[r * cols + $0]) + Double(bias[$0]) }
                let top = row.max()!
                let logSum = log(row.reduce(0) { $0 + exp($1 - top) }) + top
                reference -= row[Int(targets[r])] - logSum
            }
            XCTAssertEqual(nw_score_rows(logits, bias, targets, rows, cols), reference, accuracy: 1e-4 * max(1, abs(reference)), "cols \(cols)")
            XCTAssertEqual(nw_score_rows_portable(logits, bias, targets, rows, cols), reference, accuracy: 1e-6 * max(1, abs(reference)))
            XCTAssertEqual(nw_score_rows(logits, nil, targets, rows, cols),
                           nw_score_rows_portable(logits, nil, targets, rows, cols), accuracy: 1e-4 * max(1, abs(reference)))
        }
    }

    func testExponentiateAndMaximumMatchScalarMath() {
        var generator = SeededGenerator(seed: 22)
        for count in [1, 5, 16, 17, 100, 16_001] {
            let values = (0 ..< count).map { _ in generator.nextFloat(in: -90, 10) }
            var copy = values
            let shift: Float = 3
            let sum = nw_exponentiate(&copy, count, shift)
            var expected = 0.0
            for i in 0 ..< count {
                let e = exp(Double(values[i] - shift))
                expected += e
                XCTAssertEqual(Double(copy[i]), e, accuracy: 1e-6 * max(e, 1e-30), "element \(i) of \(count)")
            }
            XCTAssertEqual(Double(sum), expected, accuracy: 1e-5 * expected)
            XCTAssertEqual(nw_max(values, count), values.max()!)
        }
    }

    /// Training's fused C softmax (bias added inside) against the Swift kernel on biased logits.
    func testFusedSoftmaxGradientMatchesTheSwiftKernel() throws {
        try XCTSkipIf(nw_softmax_gradient_available() == 0, "no AVX-512 here: training uses the Swift kernel")
        var generator = SeededGenerator(seed: 23)
        for cols in [5, 16, 40, 1000] {
            let rows = 4
            let logits = (0 ..< rows * cols).map { _ in generator.nextFloat(in: -8, 8) }
            let bias = (0 ..< cols).map { _ in generator.nextFloat(in: -1, 1) }
            let targets: [Int32] = [0, Int32(cols - 1), -1, Int32(cols / 2)]
            var biased = (0 ..< rows * cols).map { logits[$0] + bias[$0 % cols] }
            var swiftSums = [Float](repeating: 0, count: cols)
            let swiftLoss = softmaxCrossEntropy(rows: rows, vocab: cols, logits: &biased, targets: targets,
                                                gradientScale: 0.25, columnSums: &swiftSums)
            var fused = logits
            var fusedSums = [Float](repeating: 0, count: cols)
            let fusedLoss = nw_softmax_gradient_rows(&fused, bias, targets, rows, cols, 0.25, &fusedSums)
            XCTAssertEqual(fusedLoss, swiftLoss, accuracy: 1e-4 * max(1, abs(swiftLoss)))
            for i in 0 ..< rows * cols { XCTAssertEqual(fused[i], biased[i], accuracy: 1e-6, "gradient \(i) of \(cols)") }
            for j in 0 ..< cols { XCTAssertEqual(fusedSums[j], swiftSums[j], accuracy: 1e-6) }
        }
    }
}
