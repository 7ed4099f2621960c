import CKernels
import XCTest
@testable import NextWord

/// Training's segment products in bfloat16 on AMX tiles: each equals the exact product of its
/// bfloat16-rounded operands (fp32 sums) in every orientation and over ragged shapes, and a
/// training pass on them gives the fp32 pass's loss and gradients within bfloat16's precision.
final class TileProductTests: XCTestCase {
    /// Round to the nearest bfloat16, ties to even (what the AVX-512 BF16 conversions do).
    private func bfloat16(_ x: Float) -> Float {
        let bits = x.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }

    func testTheDecisionFollowsTheCPU() {
        XCTAssertEqual(MatmulPrecision.float32.resolved, .float32)
        XCTAssertEqual(MatmulPrecision.bfloat16.resolved, .bfloat16)
        XCTAssertEqual(MatmulPrecision.automatic.resolved, MatmulPrecision.tilesAvailable ? .bfloat16 : .float32)
        XCTAssertEqual(TileProducts() != nil, MatmulPrecision.tilesAvailable)
    }

    func testEveryOrientationIsTheProductOfTheRoundedOperands() throws {
        guard let tiles = TileProducts() else { throw XCTSkip("no AMX-BF16 tiles here: training multiplies in fp32") }
        var generator = SeededGenerator(seed: 41)
        // Shapes below one tile, on tile edges, and with every tail (rows, columns, k) ragged; k
        // beyond one 64-block chunk of k so partial sums are carried across chunks.
        let shapes = [(1, 1, 1), (5, 3, 2), (16, 16, 32), (33, 17, 31), (37, 45, 70), (64, 96, 129), (20, 40, 2100)]
        for (m, n, k) in shapes {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                for beta: Float in [0, 1, 0.5] {
                    let a = (0 ..< m * k).map { _ in generator.nextFloat(in: -1, 1) }
                    let b = (0 ..< k * n).map { _ in generator.nextFloat(in: -1, 1) }
                    let start = (0 ..< m * n).map { _ in generator.nextFloat(in: -1, 1) }
                    var c = start
                    tiles.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, beta: beta, c: &c, threads: 2)
                    var worst = 0.0
                    for i in 0 ..< m {
                        for j in 0 ..< n {
                            var sum = Double(beta) * Double(start[i * n + j])
                            for q in 0 ..< k {
                                let x = transA ? a[q * m + i] : a[i * k + q], y = transB ? b[j * k + q] : b[q * n + j]
                                sum += Double(bfloat16(x)) * Double(bfloat16(y))
                            }
                            worst = max(worst, abs(Double(c[i * n + j]) - sum))
                        }
                    }
                    // fp32 sums of k products of size ≤ 1: a few ulps of √k-sized partial sums.
                    XCTAssertLessThan(worst, 1e-6 * Double(k).squareRoot() * 8 + 1e-6,
                                      "\(m)x\(n)x\(k) transA \(transA) transB \(transB) beta \(beta)")
                }
            }
        }
    }

    /// Plain, and with a projection and DropConnect (the projection's and the dropped matrix's
    /// gradients come from tile products too).
    func testATrainingPassOnTilesMatchesTheFloat32Pass() throws {
        guard let tiles = TileProducts() else { throw XCTSkip("no AMX-BF16 tiles here: training multiplies in fp32") }
        for projection in [nil, 24] as [Int?] {
            var config = ModelConfig(vocabularyFile: "v.txt", vocabularySHA256: "", vocabSize: 203,
                                     embeddingSize: projection ?? 48, hiddenSize: 48, layers: 2, tied: true)
            config.projectionSize = projection
            let model = try LanguageModel.initialized(config: config, seed: 9)
            let (steps, batch) = (7, 9)
            var generator = SeededGenerator(seed: 4)
            let inputs: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 203) }
            let targets: [Int32] = (0 ..< steps * batch).map { _ in Int32(generator.next() % 203) }
            let regularization = projection == nil ? Regularization.none : Regularization(input: 0, hidden: 0, output: 0, weightHH: 0.3)
            func run(_ tiles: TileProducts?) -> (loss: Double, gradients: [Float]) {
                let ws = SegmentWorkspace<Float>(config: config, steps: steps, batch: batch,
                                                 weightDrop: projection != nil, tiles: tiles)
                XCTAssertEqual(ws.tiles != nil, tiles != nil)
                var state = RecurrentState<Float>(config: config, batch: batch)
                var masks = SeededGenerator(seed: 3)
                var gradients = [Float](repeating: 0, count: model.parameters.count)
                let loss = model.parameters.withUnsafeBufferPointer { p in
                    gradients.withUnsafeMutableBufferPointer { g in
                        NetworkPass<Float>(config: config).lossAndGradients(
                            parameters: p.baseAddress!, gradients: g.baseAddress!, inputs: inputs, targets: targets,
                            state: &state, workspace: ws, regularization: regularization, generator: &masks, threads: 2)
                    }
                }
                return (loss, gradients)
            }
            let plain = run(nil), onTiles = run(tiles)
            XCTAssertNotEqual(plain.gradients, onTiles.gradients, "the tile pass rounds its operands")
            XCTAssertEqual(onTiles.loss, plain.loss, accuracy: 1e-3 * plain.loss)
            // The whole gradient, and each parameter block's, within about bfloat16's relative
            // precision (2^-8) of the fp32 one.
            let blocks = [("all", 0 ..< plain.gradients.count)] + ParameterLayout(config).tensors
                .map { ($0.name, $0.range) }
            XCTAssertTrue(blocks.contains { $0.0.contains("weight_hr") } == (projection != nil))
            for (name, range) in blocks {
                let difference = range.reduce(0.0) { $0 + Double((plain.gradients[$1] - onTiles.gradients[$1]) * (plain.gradients[$1] - onTiles.gradients[$1])) }
                let norm = range.reduce(0.0) { $0 + Double(plain.gradients[$1] * plain.gradients[$1]) }
                XCTAssertGreaterThan(norm, 1e-12, name)
                XCTAssertLessThan((difference / norm).squareRoot(), 1e-2, "projection \(String(describing: projection)): \(name)")
            }
        }
    }
}
