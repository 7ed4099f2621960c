import CKernels
import XCTest
@testable import NextWord

/// The backward through a line to the gate biases (`GateBiasBackward`) that the engine's dynamic
/// evaluation steps on: against central finite differences in Double and against the trainer's
/// own bias gradients; the engine's Float path (fp16 gates, int8 decoder) against the Double
/// figure; the decoder's transposed row combination against a Double product.
final class GateBiasBackwardTests: XCTestCase {
    /// A tiny tied model with weights scaled up so the gates leave their linear region.
    private func model(layers: Int, projection: Int?) throws -> (ModelConfig, [Double]) {
        var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 7,
                                 embeddingSize: 5, hiddenSize: projection == nil ? 5 : 6, layers: layers, tied: true)
        config.projectionSize = projection
        let model = try LanguageModel.initialized(config: config, seed: 5)
        var generator = SeededGenerator(seed: 17)
        return (config, model.parameters.map { Double($0) * 3 + Double(generator.nextFloat(in: -0.05, 0.05)) })
    }

    /// Mean cross-entropy over the scored targets (a target < 0 is not scored) from a zero state,
    /// as the engine scores a line; with `record`, what the forward left and ∂L/∂h_top per step.
    private func lineLoss(config: ModelConfig, parameters: [Double], inputs: [Int32], targets: [Int32],
                          initial: RecurrentState<Double>? = nil, gradients: UnsafeMutablePointer<Double>? = nil,
                          record: UnsafeMutablePointer<(GateBiasBackward.Record<Double>, [Double])>? = nil) -> Double {
        let steps = inputs.count
        let (h, p, v) = (config.hiddenSize, config.outputSize, config.vocabSize)
        let pass = NetworkPass<Double>(config: config)
        let ws = SegmentWorkspace<Double>(config: config, steps: steps, batch: 1)
        var state = initial ?? RecurrentState<Double>(config: config, batch: 1)
        var generator = SeededGenerator(seed: 1)
        let scored = Double(targets.filter { $0 >= 0 }.count)
        let total = parameters.withUnsafeBufferPointer { pp in
            inputs.withUnsafeBufferPointer { i in
                targets.withUnsafeBufferPointer { t in
                    pass.lossAndGradients(parameters: pp.baseAddress!, gradients: gradients, inputs: i.baseAddress!,
                                          targets: t.baseAddress!, state: &state, workspace: ws, regularization: .none,
                                          generator: &generator)
                }
            }
        }
        // The trainer's gradients are of the sum over its T rows / T (scored or not).
        if let gradients { for i in 0 ..< parameters.count { gradients[i] *= Double(steps) / scored } }
        if let record {
            // The forward again (the trainer's backward consumed the gates), then ∂L/∂h_t = Dᵀ (p_t − y) / n.
            var fresh = RecurrentState<Double>(config: config, batch: 1)
            parameters.withUnsafeBufferPointer { pp in
                inputs.withUnsafeBufferPointer { i in
                    pass.forwardHidden(parameters: pp.baseAddress!, inputs: i.baseAddress!, state: &fresh, workspace: ws,
                                       regularization: .none, generator: &generator)
                }
                pass.decode(parameters: pp.baseAddress!, workspace: ws)
            }
            let layers = config.layers
            let rec = GateBiasBackward.Record<Double>(
                gates: (0 ..< layers).map { Array(UnsafeBufferPointer(start: ws.gates[$0], count: steps * 4 * h)) },
                cells: (0 ..< layers).map { Array(UnsafeBufferPointer(start: ws.cell[$0], count: (steps + 1) * h)) },
                tanhCells: (0 ..< layers).map { Array(UnsafeBufferPointer(start: ws.tanhCell[$0], count: steps * h)) })
            let decoder = pass.offsets.decoderWeight
            var output = [Double](repeating: 0, count: steps * p)
            for t in 0 ..< steps where targets[t] >= 0 {
                let z = (0 ..< v).map { ws.logits[t * v + $0] }
                let top = z.max()!
                let e = z.map { exp($0 - top) }
                let sum = e.reduce(0, +)
                for w in 0 ..< v {
                    let g = (e[w] / sum - (w == Int(targets[t]) ? 1 : 0)) / scored
                    for j in 0 ..< p { output[t * p + j] += g * parameters[decoder + w * p + j] }
                }
            }
            record.pointee = (rec, output)
        }
        return total / scored
    }

    private func check(layers: Int, projection: Int?, file: StaticString = #filePath, line: UInt = #line) throws {
        var (config, parameters) = try model(layers: layers, projection: projection)
        let inputs: [Int32] = [1, 4, 2, 6, 3, 5]
        let targets: [Int32] = [4, -1, 6, 3, -1, 2]  // two positions not scored, as refused words are not
        var pieces = (GateBiasBackward.Record<Double>(gates: [], cells: [], tanhCells: []), [Double]())
        var trainer = [Double](repeating: 0, count: parameters.count)
        _ = trainer.withUnsafeMutableBufferPointer { g in
            lineLoss(config: config, parameters: parameters, inputs: inputs, targets: targets, gradients: g.baseAddress!, record: &pieces)
        }
        let analytic = parameters.withUnsafeBufferPointer { pp in
            GateBiasBackward.gradient(config: config, parameters: pp.baseAddress!, record: &pieces.0, output: pieces.1)
        }
        let offsets = ParameterLayout(config).offsets(layers: layers)
        let epsilon = 1e-6
        for layer in 0 ..< layers {
            XCTAssertGreaterThan(analytic[layer].map(abs).max()!, 1e-6, "layer \(layer) got a gradient", file: file, line: line)
            for r in 0 ..< 4 * config.hiddenSize {
                let index = offsets.biasIH[layer] + r
                let saved = parameters[index]
                parameters[index] = saved + epsilon
                let plus = lineLoss(config: config, parameters: parameters, inputs: inputs, targets: targets)
                parameters[index] = saved - epsilon
                let minus = lineLoss(config: config, parameters: parameters, inputs: inputs, targets: targets)
                parameters[index] = saved
                let numeric = (plus - minus) / (2 * epsilon)
                let error = abs(numeric - analytic[layer][r]) / max(1e-3, abs(numeric) + abs(analytic[layer][r]))
                XCTAssertLessThan(error, 1e-5, "layer \(layer) gate bias \(r): analytic \(analytic[layer][r]) numeric \(numeric)",
                                  file: file, line: line)
                // The trainer's gradients of bias_ih and bias_hh are the same number.
                XCTAssertEqual(trainer[index], analytic[layer][r], accuracy: 1e-10, file: file, line: line)
                XCTAssertEqual(trainer[offsets.biasHH[layer] + r], analytic[layer][r], accuracy: 1e-10, file: file, line: line)
            }
        }
    }

    func testOneLayerMatchesFiniteDifferences() throws { try check(layers: 1, projection: nil) }
    func testTwoLayersMatchFiniteDifferences() throws { try check(layers: 2, projection: nil) }
    func testThreeLayersWithAProjectionMatchFiniteDifferences() throws { try check(layers: 3, projection: 5) }

    /// The engine's gradient of a committed line (fp16 gates, int8 decoder, Float) against the
    /// Double trainer's on the same weights: the same direction and size within the rounding of
    /// the engine's weights (0.3 % on this fixture; a missing term or a wrong layer is off by far
    /// more than the 1 % allowed).
    func testTheEnginesLineGradientMatchesTheTrainersInDouble() throws {
        for projection in [nil, 5] as [Int?] {
            let bundle = try EngineFixture.bundle(projection: projection)
            let config = bundle.model.config
            let line = try XCTUnwrap(LearningPolicy.committedLines("we met them in the park", tokenizer: Tokenizer(mode: .natural)).first)
            let session = InferenceSession(model: bundle.model)
            let reading = LineReading(line, vocabulary: bundle.vocabulary, session: session)
            let isTarget = reading.words.map { $0.map { bundle.vocabulary.id($0) != nil } ?? false }
            let engine = BiasAdaptation.gradient(reading: reading, isTarget: isTarget, session: session)
            XCTAssertGreaterThan(engine.targets, 2)

            let parameters = bundle.model.parameters.map(Double.init)
            let inputs = Array(reading.ids.dropLast())
            let targets = (1 ..< reading.ids.count).map { isTarget[$0] ? reading.ids[$0] : -1 }
            var trainer = [Double](repeating: 0, count: parameters.count)
            _ = trainer.withUnsafeMutableBufferPointer { g in
                lineLoss(config: config, parameters: parameters, inputs: inputs, targets: targets, gradients: g.baseAddress!)
            }
            let offsets = ParameterLayout(config).offsets(layers: config.layers)
            for layer in 0 ..< config.layers {
                let expected = (0 ..< 4 * config.hiddenSize).map { trainer[offsets.biasIH[layer] + $0] }
                let got = engine.gates[layer].map(Double.init)
                let norm = sqrt(expected.reduce(0) { $0 + $1 * $1 })
                let difference = sqrt(zip(expected, got).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
                XCTAssertGreaterThan(norm, 1e-4, "projection \(String(describing: projection)) layer \(layer)")
                XCTAssertLessThan(difference, 1e-2 * norm, "projection \(String(describing: projection)) layer \(layer)")
            }
            let decoderExpected = (0 ..< config.vocabSize).map { trainer[offsets.decoderBias + $0] }
            let decoderDifference = sqrt(zip(decoderExpected, engine.decoder).reduce(0) { $0 + ($1.0 - Double($1.1)) * ($1.0 - Double($1.1)) })
            XCTAssertLessThan(decoderDifference, 1e-2 * sqrt(decoderExpected.reduce(0) { $0 + $1 * $1 }))
        }
    }

    /// A line longer than the window: the gates learn from its last `gateWindow` targets, back
    /// through the steps from the first of them (its state as read), each target weighing 1/T of
    /// the line's T as in the decoder's part.
    func testALongLinesGatesLearnFromItsLastTargets() throws {
        let bundle = try EngineFixture.bundle()
        let config = bundle.model.config
        let words = ["we", "met", "them", "in", "the", "park"]
        let text = (0 ..< 5).flatMap { _ in words }.joined(separator: " ")
        let line = try XCTUnwrap(LearningPolicy.committedLines(text, tokenizer: Tokenizer(mode: .natural)).first)
        let session = InferenceSession(model: bundle.model)
        let reading = LineReading(line, vocabulary: bundle.vocabulary, session: session)
        let isTarget = reading.words.map { $0.map { bundle.vocabulary.id($0) != nil } ?? false }
        let engine = BiasAdaptation.gradient(reading: reading, isTarget: isTarget, session: session)
        let positions = (0 ..< reading.ids.count - 1).filter { isTarget[$0 + 1] }
        XCTAssertGreaterThan(positions.count, BiasAdaptation.gateWindow)
        let first = positions[positions.count - BiasAdaptation.gateWindow]

        var initial = RecurrentState<Double>(config: config, batch: 1)
        for layer in 0 ..< config.layers {
            initial.h[layer] = reading.states[first - 1].h[layer].map(Double.init)
            initial.c[layer] = reading.states[first - 1].c[layer].map(Double.init)
        }
        let inputs = Array(reading.ids[first ..< reading.ids.count - 1])
        let targets = (first + 1 ..< reading.ids.count).map { isTarget[$0] ? reading.ids[$0] : -1 }
        let parameters = bundle.model.parameters.map(Double.init)
        var trainer = [Double](repeating: 0, count: parameters.count)
        _ = trainer.withUnsafeMutableBufferPointer { g in
            lineLoss(config: config, parameters: parameters, inputs: inputs, targets: targets, initial: initial, gradients: g.baseAddress!)
        }
        let share = Double(BiasAdaptation.gateWindow) / Double(positions.count)
        let offsets = ParameterLayout(config).offsets(layers: config.layers)
        for layer in 0 ..< config.layers {
            let expected = (0 ..< 4 * config.hiddenSize).map { trainer[offsets.biasIH[layer] + $0] * share }
            let got = engine.gates[layer].map(Double.init)
            let norm = sqrt(expected.reduce(0) { $0 + $1 * $1 })
            let difference = sqrt(zip(expected, got).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) })
            XCTAssertGreaterThan(norm, 1e-5, "layer \(layer)")
            XCTAssertLessThan(difference, 1e-2 * norm, "layer \(layer)")
        }
    }

    func testRowCombinationIsTheProduct() {
        var generator = SeededGenerator(seed: 23)
        for (steps, rows, cols) in [(1, 1, 1), (3, 40, 7), (5, 1000, 192), (2, 33, 65), (16, 300, 17), (3, 50, 300)] {
            var g = (0 ..< steps * rows).map { _ in generator.nextFloat(in: -1, 1) }
            for i in stride(from: 0, to: g.count, by: 3) { g[i] = 0 }  // exact zeros are skipped
            let w = (0 ..< rows * cols).map { _ in generator.nextFloat(in: -1, 1) }
            var out = [Float](repeating: .nan, count: steps * cols), portable = out
            nw_row_combination(g, w, &out, steps, rows, cols)
            nw_row_combination_portable(g, w, &portable, steps, rows, cols)
            // The int8 form: the same product over the quantized rows (levels × scale).
            var levels = [Int8](repeating: 0, count: rows * cols), scales = [Float](repeating: 0, count: rows)
            var rowSums = [Int32](repeating: 0, count: rows)
            nw_int8_quantize_rows(w, rows, cols, &levels, &scales, &rowSums)
            var quantized = [Float](repeating: .nan, count: steps * cols), quantizedPortable = quantized
            nw_row_combination_int8(g, levels, scales, &quantized, steps, rows, cols)
            nw_row_combination_int8_portable(g, levels, scales, &quantizedPortable, steps, rows, cols)
            for t in 0 ..< steps {
                for c in 0 ..< cols {
                    var expected = 0.0, expectedQuantized = 0.0
                    for r in 0 ..< rows {
                        expected += Double(g[t * rows + r]) * Double(w[r * cols + c])
                        expectedQuantized += Double(g[t * rows + r]) * Double(scales[r]) * Double(levels[r * cols + c])
                    }
                    let at = "\(steps)x\(rows)x\(cols) [\(t), \(c)]"
                    XCTAssertEqual(Double(out[t * cols + c]), expected, accuracy: 1e-5 * Double(rows), at)
                    XCTAssertEqual(Double(portable[t * cols + c]), expected, accuracy: 1e-5 * Double(rows), "portable " + at)
                    XCTAssertEqual(Double(quantized[t * cols + c]), expectedQuantized, accuracy: 1e-5 * Double(rows), "int8 " + at)
                    XCTAssertEqual(Double(quantizedPortable[t * cols + c]), expectedQuantized, accuracy: 1e-5 * Double(rows), "int8 portable " + at)
                }
            }
        }
    }
}
