import CKernels
import XCTest
@testable import NextWord

/// The packed small-matrix products of the recurrent steps (PanelKernels.c, `StepProducts`): the
/// kernel against a product computed directly in Double, and a whole Float training pass with
/// panels against the same pass on the BLAS.
final class PanelKernelTests: XCTestCase {
    /// Every row-block size (1–10 and the cuts of longer batches), ragged last panels, both
    /// packings, written over and added to, and a panel range that leaves other columns alone.
    func testPanelProductEqualsTheDirectProduct() {
        var generator = SeededGenerator(seed: 21)
        for (m, n, k) in [(1, 1, 1), (3, 31, 7), (8, 32, 64), (10, 33, 5), (11, 100, 17), (17, 64, 40), (32, 70, 33)] {
            for transposed in [false, true] {
                for accumulate in [false, true] {
                    let a = (0 ..< m * k).map { _ in generator.nextFloat(in: -1, 1) }
                    // B [k, n]; the source is B itself or, transposed, Bᵀ [n, k].
                    let b = (0 ..< k * n).map { _ in generator.nextFloat(in: -1, 1) }
                    let source = transposed ? (0 ..< n * k).map { i in b[(i % k) * n + i / k] } : b
                    let start = (0 ..< m * n).map { _ in generator.nextFloat(in: -1, 1) }
                    var packed = [Float](repeating: .nan, count: nw_panel_size(k, n))
                    nw_panel_pack(source, k, n, transposed ? 1 : 0, &packed)
                    let panels = (n + 31) / 32
                    // Only the first panel when there are two or more: the rest must stay as they were.
                    let end = panels > 1 ? 1 : panels
                    var c = start
                    nw_panel_product(m, n, k, a, k, packed, 0, end, &c, n, accumulate ? 1 : 0)
                    for r in 0 ..< m {
                        for j in 0 ..< n {
                            let index = r * n + j
                            guard j < end * 32 else {
                                XCTAssertEqual(c[index], start[index], "m \(m) n \(n) k \(k): column \(j) is past the panels asked for")
                                continue
                            }
                            var expected = accumulate ? Double(start[index]) : 0
                            for i in 0 ..< k { expected += Double(a[r * k + i]) * Double(b[i * n + j]) }
                            XCTAssertEqual(Double(c[index]), expected, accuracy: 1e-5 * Double(k),
                                           "m \(m) n \(n) k \(k) transposed \(transposed) accumulate \(accumulate) at [\(r), \(j)]")
                        }
                    }
                }
            }
        }
    }

    /// A training pass with every step product on panels gives the loss, the final state and every
    /// gradient of the same pass on the BLAS: plain and with a projection, with DropConnect (the
    /// dropped matrix is packed), a batch of 13 (row blocks 7 + 6), and products large enough to be
    /// shared between threads (128 cells, a batch of 20, 2 threads).
    func testTrainingOnPanelsMatchesTheBLAS() throws {
        try XCTSkipUnless(nw_panel_product_available() != 0, "no AVX-512 here: every product runs on the BLAS")
        for (hidden, projection, batch, threads) in [(12, nil, 13, 1), (12, 6, 13, 1), (128, nil, 20, 2)] as [(Int, Int?, Int, Int)] {
            var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 41,
                                     embeddingSize: projection ?? hidden, hiddenSize: hidden, layers: 2, tied: true)
            config.projectionSize = projection
            let model = try LanguageModel.initialized(config: config, seed: 5)
            let steps = 6
            var generator = SeededGenerator(seed: 8)
            let inputs: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 41) }
            let targets: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 41) }
            let regularization = Regularization(input: 0.1, hidden: 0.1, output: 0.1, weightHH: 0.3)
            func run(panels: Bool) -> (loss: Double, gradients: [Float], state: RecurrentState<Float>) {
                let ws = SegmentWorkspace<Float>(config: config, steps: steps, batch: batch, weightDrop: true, panels: panels)
                XCTAssertEqual(ws.stepProducts.usesPanels, panels)
                var state = RecurrentState<Float>(config: config, batch: batch)
                var masks = SeededGenerator(seed: 3)
                var gradients = [Float](repeating: 0, count: model.parameters.count)
                let pass = NetworkPass<Float>(config: config)
                let loss = model.parameters.withUnsafeBufferPointer { p in
                    gradients.withUnsafeMutableBufferPointer { g in
                        pass.lossAndGradients(parameters: p.baseAddress!, gradients: g.baseAddress!, inputs: inputs,
                                              targets: targets, state: &state, workspace: ws, regularization: regularization,
                                              generator: &masks, threads: threads)
                    }
                }
                return (loss, gradients, state)
            }
            if batch * 4 * hidden * hidden >= 1 << 20 {
                XCTAssertGreaterThan(StepProducts<Float>.parts(threads: threads, m: batch, n: 4 * hidden, k: hidden), 1,
                                     "this shape's step products are shared between threads")
            }
            let blas = run(panels: false), panels = run(panels: true)
            XCTAssertEqual(panels.loss, blas.loss, accuracy: 1e-4 * abs(blas.loss))
            XCTAssertGreaterThan(blas.gradients.map(abs).max()!, 1e-3)
            for (index, (a, b)) in zip(panels.gradients, blas.gradients).enumerated() {
                XCTAssertEqual(a, b, accuracy: 1e-5 + 1e-4 * abs(b), "projection \(String(describing: projection)): gradient \(index)")
            }
            for layer in 0 ..< config.layers {
                for (a, b) in zip(panels.state.h[layer], blas.state.h[layer]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
                for (a, b) in zip(panels.state.c[layer], blas.state.c[layer]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
            }
        }
    }
}

/// Scoring through the packed model (input projections on panels, the logits never written)
/// against the BLAS products and the C scoring: the same total and state for a segment, over
/// ragged vocabularies, unscored rows, a projection and threads.
final class PackedModelTests: XCTestCase {
    func testPackedScoringEqualsTheBLASScoring() throws {
        try XCTSkipUnless(nw_panel_product_available() != 0, "no AVX-512 here: evaluation scores on the BLAS")
        for (vocab, projection) in [(37, nil), (64, nil), (101, 6)] as [(Int, Int?)] {
            var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: vocab,
                                     embeddingSize: projection ?? 10, hiddenSize: 10, layers: 2, tied: true)
            config.projectionSize = projection
            var model = try LanguageModel.initialized(config: config, seed: 9)
            var generator = SeededGenerator(seed: 2)
            // Larger weights than the initialisation: logits spread over tens, as a trained model's do.
            model.parameters = model.parameters.map { $0 * 8 + generator.nextFloat(in: -0.2, 0.2) }
            let (steps, batch) = (7, 11)
            let inputs: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % UInt64(vocab)) }
            var targets: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % UInt64(vocab)) }
            targets[3] = -1; targets[40] = -1
            targets[5] = Int32(vocab - 1)  // the last, ragged panel's last column
            let decoder = try XCTUnwrap(PackedModel(model: model))
            let pass = NetworkPass<Float>(config: config)
            func total(packed: PackedModel?, threads: Int) -> (Double, RecurrentState<Float>) {
                let ws = SegmentWorkspace<Float>(config: config, steps: steps, batch: batch)
                var state = RecurrentState<Float>(config: config, batch: batch)
                let nll = pass.score(parameters: model.parameters, inputs: inputs, targets: targets, state: &state,
                                     workspace: ws, threads: threads, packed: packed)
                return (nll, state)
            }
            let (blas, blasState) = total(packed: nil, threads: 1)
            XCTAssertGreaterThan(blas, 1, "vocab \(vocab): a loss to compare")
            for threads in [1, 2, 3] {
                let (packed, packedState) = total(packed: decoder, threads: threads)
                XCTAssertEqual(packed, blas, accuracy: 1e-5 * blas, "vocab \(vocab), \(threads) threads")
                for (layer, (a, b)) in zip(packedState.h, blasState.h).enumerated() {
                    let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThan(difference, 1e-5, "vocab \(vocab), layer \(layer): the state is the LSTM's either way")
                }
            }
        }
    }
}
