import XCTest
@testable import NextWord

/// The Float kernels that are vectorised by hand (exponential, LSTM cell, softmax passes) against
/// scalar references, and the softmax split over threads against one thread.
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
            var state = RecurrentState<Float>(config: config, batch: batch)
            var masks = SeededGenerator(seed: 6)
            var gradients = [Float](repeating: 0, count: model.parameters.count)
            let loss = model.parameters.withUnsafeBufferPointer { p in
                gradients.withUnsafeMutableBufferPointer { g in
                    pass.lossAndGradients(parameters: p.baseAddress!, gradients: g.baseAddress!, inputs: inputs,
                                          targets: targets, state: &state, workspace: ws, regularization: .uniform(0.2),
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
