import XCTest
@testable import NextWord

/// A plain LSTM widened to more cells with a projection computes the same function, and training
/// then gives the new cells a part.
final class ModelWideningTests: XCTestCase {
    private func config(hidden: Int, projection: Int?) -> ModelConfig {
        var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "abc", vocabSize: 11,
                                 embeddingSize: 6, hiddenSize: hidden, layers: 2, tied: true)
        config.projectionSize = projection
        return config
    }

    func testTheWidenedModelComputesTheSameFunction() throws {
        var small = try LanguageModel.initialized(config: config(hidden: 6, projection: nil), seed: 3)
        // Nonzero, unequal biases and larger weights, so a wrong row mapping shows.
        var generator = SeededGenerator(seed: 8)
        small.parameters = small.parameters.map { $0 * 3 + generator.nextFloat(in: -0.2, 0.2) }
        let target = config(hidden: 10, projection: 6)
        XCTAssertTrue(small.canWiden(to: target))
        let grown = try small.widened(to: target, seed: 5)
        XCTAssertEqual(grown.config.projectionSize, 6)
        let tokens = [1, 4, 2, 9, 3, 3, 7, 0, 5]
        let before = try small.logProbabilities(of: tokens), after = try grown.logProbabilities(of: tokens)
        for (a, b) in zip(before, after) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
        // The new cells are live: W_hr's zero columns get a gradient.
        let pass = NetworkPass<Float>(config: target)
        let ws = SegmentWorkspace<Float>(config: target, steps: 4, batch: 2)
        var state = RecurrentState<Float>(config: target, batch: 2)
        var gradients = [Float](repeating: 0, count: grown.parameters.count)
        var masks = SeededGenerator(seed: 1)
        let inputs: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8], targets: [Int32] = [2, 3, 4, 5, 6, 7, 8, 9]
        _ = grown.parameters.withUnsafeBufferPointer { p in
            gradients.withUnsafeMutableBufferPointer { g in
                pass.lossAndGradients(parameters: p.baseAddress!, gradients: g.baseAddress!, inputs: inputs, targets: targets,
                                      state: &state, workspace: ws, regularization: .none, generator: &masks)
            }
        }
        let hr = try XCTUnwrap(grown.layout.tensor(named: "lstm.1.weight_hr"))
        let newColumns = (0 ..< 6).flatMap { p in (6 ..< 10).map { hr.offset + p * 10 + $0 } }
        XCTAssertGreaterThan(newColumns.map { abs(gradients[$0]) }.max() ?? 0, 1e-6)
    }

    func testOnlyAPlainModelWidensToMoreCellsAtItsOwnWidth() throws {
        let small = try LanguageModel.initialized(config: config(hidden: 6, projection: nil), seed: 3)
        XCTAssertFalse(small.canWiden(to: config(hidden: 10, projection: 5)), "the projection must be the old width")
        XCTAssertFalse(small.canWiden(to: config(hidden: 6, projection: nil)), "more cells")
        var otherVocabulary = config(hidden: 10, projection: 6)
        otherVocabulary.vocabularySHA256 = "def"
        XCTAssertFalse(small.canWiden(to: otherVocabulary))
        XCTAssertThrowsError(try small.widened(to: config(hidden: 10, projection: 5), seed: 1))
    }
}
