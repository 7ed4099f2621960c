import XCTest
@testable import NextWord

/// Every parameter tensor's analytic gradient against central finite differences, all in Double,
/// through the same generic kernels the Float training uses.
final class GradientCheckTests: XCTestCase {
    private func check(tied: Bool, layers: Int, regularization: Regularization, projection: Int? = nil,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 7,
                                 embeddingSize: 5, hiddenSize: tied && projection == nil ? 5 : (projection == nil ? 4 : 7),
                                 layers: layers, tied: tied)
        config.projectionSize = projection
        let model = try LanguageModel.initialized(config: config, seed: 3)
        var generator = SeededGenerator(seed: 11)
        // Scale weights up so gates leave their linear region and every term of the backward matters.
        var parameters = model.parameters.map { Double($0) * 3 + Double(generator.nextFloat(in: -0.05, 0.05)) }
        let (steps, batch) = (4, 2)
        let inputs: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 7) }
        let targets: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 7) }
        var initial = RecurrentState<Double>(config: config, batch: batch)
        for l in 0 ..< layers {
            initial.h[l] = initial.h[l].map { _ in Double(generator.nextFloat(in: -0.5, 0.5)) }
            initial.c[l] = initial.c[l].map { _ in Double(generator.nextFloat(in: -0.5, 0.5)) }
        }
        let pass = NetworkPass<Double>(config: config)
        let ws = SegmentWorkspace<Double>(config: config, steps: steps, batch: batch,
                                          weightDrop: regularization.weightHH > 0)

        func loss(_ p: [Double], gradients: UnsafeMutablePointer<Double>?) -> Double {
            var state = initial
            var masks = SeededGenerator(seed: 99)  // same dropout masks on every evaluation
            return p.withUnsafeBufferPointer { pp in
                inputs.withUnsafeBufferPointer { i in
                    targets.withUnsafeBufferPointer { t in
                        pass.lossAndGradients(parameters: pp.baseAddress!, gradients: gradients,
                                              inputs: i.baseAddress!, targets: t.baseAddress!, state: &state,
                                              workspace: ws, regularization: regularization, generator: &masks)
                        // AR and TAR are part of the objective the gradient is of.
                        + pass.activationPenalty(regularization, workspace: ws)
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

    func testUntiedTwoLayersWithDropout() throws { try check(tied: false, layers: 2, regularization: .uniform(0.3)) }
    func testTiedTwoLayersWithDropout() throws { try check(tied: true, layers: 2, regularization: .uniform(0.25)) }
    func testTiedOneLayerNoDropout() throws { try check(tied: true, layers: 1, regularization: .none) }
    func testUntiedThreeLayers() throws { try check(tied: false, layers: 3, regularization: .none) }

    /// AWD-LSTM's regularisation, every kind at once: locked masks, whole-word embedding dropout
    /// and DropConnect on weight_hh (whose gradient goes through the mask back to the raw matrix).
    func testTiedTwoLayersWithEveryAWDDropout() throws {
        try check(tied: true, layers: 2, regularization: Regularization(input: 0.3, hidden: 0.2, output: 0.35,
                                                                        embedding: 0.2, weightHH: 0.4, locked: true))
    }

    /// An LSTM with a projection (nn.LSTM's proj_size): h = W_hr · (o ⊙ tanh c), 5 wide over 7 cells,
    /// tied at the projection's width; with every dropout kind, DropConnect on the [4H, P] weight_hh.
    func testTiedTwoLayersWithProjectionAndEveryDropout() throws {
        try check(tied: true, layers: 2, regularization: Regularization(input: 0.2, hidden: 0.2, output: 0.3,
                                                                        embedding: 0.1, weightHH: 0.3, locked: true),
                  projection: 5)
    }

    func testUntiedThreeLayersWithProjection() throws {
        try check(tied: false, layers: 3, regularization: .none, projection: 3)
    }

    /// AR and TAR (AWD's activation and temporal activation regularisation) join the loss's
    /// gradient: with locked dropout, and with a projection.
    func testActivationRegularisation() throws {
        try check(tied: true, layers: 2, regularization: Regularization(input: 0.2, hidden: 0.2, output: 0.3, locked: true,
                                                                        activation: 2, temporal: 1))
        try check(tied: false, layers: 2, regularization: Regularization(output: 0.25, activation: 1.5, temporal: 3), projection: 3)
    }

    func testUntiedThreeLayersWithWeightDropOnly() throws {
        try check(tied: false, layers: 3, regularization: Regularization(weightHH: 0.5))
    }
}
