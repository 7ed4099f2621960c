import XCTest
@testable import NextWord

/// Every parameter tensor's analytic gradient against central finite differences, all in Double,
/// through the same generic kernels the Float training uses.
final class GradientCheckTests: XCTestCase {
    private func check(tied: Bool, layers: Int, dropout: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 7,
                                 embeddingSize: 5, hiddenSize: tied ? 5 : 4, layers: layers, tied: tied)
        let model = try LanguageModel.initialized(config: config, seed: 3)
        var generator = SeededGenerator(seed: 11)
        // Scale weights up so gates leave their linear region and every term of the backward matters.
        var parameters = model.parameters.map { Double($0) * 3 + Double(generator.nextFloat(in: -0.05, 0.05)) }
        let (steps, batch) = (4, 2)
        let inputs: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 7) }
        let targets: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 7) }
        var initial = RecurrentState<Double>(layers: layers, batch: batch, hidden: config.hiddenSize)
        for l in 0 ..< layers {
            initial.h[l] = initial.h[l].map { _ in Double(generator.nextFloat(in: -0.5, 0.5)) }
            initial.c[l] = initial.c[l].map { _ in Double(generator.nextFloat(in: -0.5, 0.5)) }
        }
        let pass = NetworkPass<Double>(config: config)
        let ws = SegmentWorkspace<Double>(config: config, steps: steps, batch: batch)

        func loss(_ p: [Double], gradients: UnsafeMutablePointer<Double>?) -> Double {
            var state = initial
            var masks = SeededGenerator(seed: 99)  // same dropout masks on every evaluation
            return p.withUnsafeBufferPointer { pp in
                inputs.withUnsafeBufferPointer { i in
                    targets.withUnsafeBufferPointer { t in
                        pass.lossAndGradients(parameters: pp.baseAddress!, gradients: gradients,
                                              inputs: i.baseAddress!, targets: t.baseAddress!, state: &state,
                                              workspace: ws, dropout: dropout, generator: &masks)
                    }
                }
            } / Double(steps * batch)
        }

        var analytic = [Double](repeating: 0, count: parameters.count)
        _ = analytic.withUnsafeMutableBufferPointer { loss(parameters, gradients: $0.baseAddress!) }
        let epsilon = 1e-6
        var worst = 0.0
        for tensor in model.layout.tensors {
            // Every element of every tensor: the model is tiny.
            var tensorNorm = 0.0
            for index in tensor.range { tensorNorm = max(tensorNorm, abs(analytic[index])) }
            XCTAssertGreaterThan(tensorNorm, 1e-8, "\(tensor.name) got no gradient at all", file: file, line: line)
            for index in tensor.range {
                let saved = parameters[index]
                parameters[index] = saved + epsilon
                let plus = loss(parameters, gradients: nil)
                parameters[index] = saved - epsilon
                let minus = loss(parameters, gradients: nil)
                parameters[index] = saved
                let numeric = (plus - minus) / (2 * epsilon)
                let error = abs(numeric - analytic[index]) / max(1e-3, abs(numeric) + abs(analytic[index]))
                worst = max(worst, error)
                XCTAssertLessThan(error, 1e-5, "\(tensor.name)[\(index - tensor.offset)]: analytic \(analytic[index]) numeric \(numeric)",
                                  file: file, line: line)
            }
        }
        XCTAssertLessThan(worst, 1e-5, file: file, line: line)
    }

    func testUntiedTwoLayersWithDropout() throws { try check(tied: false, layers: 2, dropout: 0.3) }
    func testTiedTwoLayersWithDropout() throws { try check(tied: true, layers: 2, dropout: 0.25) }
    func testTiedOneLayerNoDropout() throws { try check(tied: true, layers: 1, dropout: 0) }
    func testUntiedThreeLayers() throws { try check(tied: false, layers: 3, dropout: 0) }
}

final class KernelTests: XCTestCase {
    /// The vectorised exponential against Foundation's over the softmax's whole input range.
    func testFastExponentialMatchesFoundation() {
        var generator = SeededGenerator(seed: 5)
        var values = (0 ..< 1003).map { _ in generator.nextFloat(in: -90, 5) }
        values[0] = 0; values[1] = -87; values[2] = -200
        let original = values
        let sum = values.withUnsafeMutableBufferPointer { Float.exponentiate($0.baseAddress!, count: $0.count, shift: 1.5) }
        var expected = 0.0
        for (x, e) in zip(original, values) {
            let reference = Foundation.exp(Double(x - Float(1.5)))  // the argument as the kernel rounds it
            expected += reference
            XCTAssertEqual(Double(e), reference, accuracy: max(reference * 1e-6, 1e-37), "exp(\(x) - 1.5)")
        }
        XCTAssertEqual(Double(sum), expected, accuracy: expected * 1e-5)
    }
}

final class VectorKernelTests: XCTestCase {
    /// The Float cell forward (vectorised for H % 8 == 0) against the scalar Double kernel.
    func testVectorisedCellMatchesScalarDouble() {
        let (batch, hidden) = (3, 16)
        var generator = SeededGenerator(seed: 21)
        let pre = (0 ..< batch * 4 * hidden).map { _ in generator.nextFloat(in: -12, 12) }
        let previous = (0 ..< batch * hidden).map { _ in generator.nextFloat(in: -3, 3) }
        var gatesF = pre, cF = [Float](repeating: 0, count: batch * hidden), tF = cF, hF = cF
        var gatesD = pre.map(Double.init), cD = [Double](repeating: 0, count: batch * hidden), tD = cD, hD = cD
        let previousD = previous.map(Double.init)
        lstmCellForward(batch: batch, hidden: hidden, gates: &gatesF, cPrev: previous, c: &cF, tanhC: &tF, h: &hF)
        lstmCellForward(batch: batch, hidden: hidden, gates: &gatesD, cPrev: previousD, c: &cD, tanhC: &tD, h: &hD)
        for (a, b) in zip(gatesF, gatesD) { XCTAssertEqual(Double(a), b, accuracy: 2e-6) }
        for (a, b) in zip(cF, cD) { XCTAssertEqual(Double(a), b, accuracy: 2e-6) }
        for (a, b) in zip(tF, tD) { XCTAssertEqual(Double(a), b, accuracy: 2e-6) }
        for (a, b) in zip(hF, hD) { XCTAssertEqual(Double(a), b, accuracy: 2e-6) }
    }
}

final class SoftmaxKernelTests: XCTestCase {
    /// Float's sixteen-lane maximum and scale against the generic scalar loops (Double), at lengths
    /// around the vector width and with the maximum in the first, middle and last place.
    func testVectorisedMaximumAndScaleMatchScalar() {
        var generator = SeededGenerator(seed: 8)
        for count in [1, 15, 16, 17, 33, 1003] {
            for place in [0, count / 2, count - 1] {
                var values = (0 ..< count).map { _ in generator.nextFloat(in: -50, 50) }
                values[place] = 60
                let doubles = values.map(Double.init)
                XCTAssertEqual(Float.maximum(values, count: count), 60)
                XCTAssertEqual(Double.maximum(doubles, count: count), 60)

                var sums = (0 ..< count).map { _ in generator.nextFloat(in: -1, 1) }
                var sumsD = sums.map(Double.init), scaledD = doubles
                Float.scale(&values, count: count, by: 0.37, addingInto: &sums)
                Double.scale(&scaledD, count: count, by: Double(Float(0.37)), addingInto: &sumsD)
                for i in 0 ..< count {
                    XCTAssertEqual(Double(values[i]), scaledD[i], accuracy: 1e-5)
                    XCTAssertEqual(Double(sums[i]), sumsD[i], accuracy: 1e-5)
                }
            }
        }
    }

    /// Training's softmax split over threads (each with its own bias-gradient column sums) gives
    /// the loss and every gradient of the single-threaded pass.
    func testThreadedSoftmaxMatchesSingleThread() throws {
        let config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 37,
                                 embeddingSize: 8, hiddenSize: 8, layers: 2, tied: true)
        let model = try LanguageModel.initialized(config: config, seed: 2)
        let (steps, batch) = (5, 3)
        var generator = SeededGenerator(seed: 4)
        let inputs: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 37) }
        let targets: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 37) }
        let pass = NetworkPass<Float>(config: config)
        func run(threads: Int) -> (Double, [Float]) {
            let ws = SegmentWorkspace<Float>(config: config, steps: steps, batch: batch)
            var state = RecurrentState<Float>(layers: 2, batch: batch, hidden: 8)
            var masks = SeededGenerator(seed: 6)
            var gradients = [Float](repeating: 0, count: model.parameters.count)
            let loss = model.parameters.withUnsafeBufferPointer { p in
                gradients.withUnsafeMutableBufferPointer { g in
                    pass.lossAndGradients(parameters: p.baseAddress!, gradients: g.baseAddress!, inputs: inputs,
                                          targets: targets, state: &state, workspace: ws, dropout: 0.2,
                                          generator: &masks, threads: threads)
                }
            }
            return (loss, gradients)
        }
        let (single, singleGradients) = run(threads: 1)
        let (split, splitGradients) = run(threads: 4)
        XCTAssertEqual(single, split, accuracy: 1e-4)
        let bias = model.layout.tensor(named: "decoder.bias")!.range
        XCTAssertGreaterThan(singleGradients[bias].map(abs).max()!, 1e-4)
        for (a, b) in zip(singleGradients, splitGradients) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }
}
