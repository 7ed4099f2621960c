import CKernels
import XCTest
@testable import NextWord

/// The int8 decoder product of the engine's word boundary: every vector path gives the portable
/// path's bits, the result is the exact product of the quantized operands, and the quantization
/// stays within its analytic error bound of the full-precision product.
final class QuantizedKernelTests: XCTestCase {
    private struct Case {
        let rows: Int, cols: Int
        let weights: [Float], x: [Float], bias: [Float]
        var levels: [Int8], scales: [Float], rowSums: [Int32]

        init(rows: Int, cols: Int, generator: inout SeededGenerator) {
            self.rows = rows; self.cols = cols
            weights = (0 ..< rows * cols).map { _ in generator.nextFloat(in: -0.6, 0.6) }
            x = (0 ..< cols).map { _ in generator.nextFloat(in: -3, 3) }
            bias = (0 ..< rows).map { _ in generator.nextFloat(in: -1, 1) }
            levels = [Int8](repeating: 0, count: rows * cols)
            scales = [Float](repeating: 0, count: rows)
            rowSums = [Int32](repeating: 0, count: rows)
            nw_int8_quantize_rows(weights, rows, cols, &levels, &scales, &rowSums)
        }
    }

    /// Shapes that exercise the VNNI column tail (cols not a multiple of 64), the AVX2 tail (not of
    /// 16), the row tails (rows not a multiple of 4 or 2), and the heap scratch (cols > 2048).
    private let shapes = [(1, 1), (3, 7), (5, 63), (4, 64), (9, 65), (37, 192), (16, 200), (6, 3000)]

    func testVectorPathGivesThePortableBits() {
        var generator = SeededGenerator(seed: 31)
        for (rows, cols) in shapes {
            let c = Case(rows: rows, cols: cols, generator: &generator)
            var chosen = [Float](repeating: .nan, count: rows), portable = chosen
            XCTAssertEqual(nw_int8_gemv(c.levels, c.scales, c.rowSums, c.x, c.bias, &chosen, rows, cols), 0)
            XCTAssertEqual(nw_int8_gemv_path(NW_INT8_PATH_PORTABLE, c.levels, c.scales, c.rowSums, c.x, c.bias, &portable, rows, cols), 0)
            XCTAssertEqual(chosen.map(\.bitPattern), portable.map(\.bitPattern), "\(rows)x\(cols)")
            for path in [NW_INT8_PATH_AVX2, NW_INT8_PATH_VNNI] {
                var y = [Float](repeating: .nan, count: rows)
                let status = nw_int8_gemv_path(path, c.levels, c.scales, c.rowSums, c.x, c.bias, &y, rows, cols)
                guard status != -2 else { continue }  // this CPU lacks the path
                XCTAssertEqual(status, 0)
                XCTAssertEqual(y.map(\.bitPattern), portable.map(\.bitPattern), "path \(path), \(rows)x\(cols)")
            }
        }
    }

    func testVectorQuantizationGivesThePortableLevels() {
        var generator = SeededGenerator(seed: 30)
        for (rows, cols) in shapes + [(3, 17), (2, 31)] {
            let c = Case(rows: rows, cols: cols, generator: &generator)
            // Values near half steps, where rounding to even matters.
            var weights = c.weights
            weights[0] = 0.6; if weights.count > 2 { weights[1] = 0.6 * 2.5 / 127; weights[2] = -0.6 * 3.5 / 127 }
            var levels = [Int8](repeating: 0, count: rows * cols), scales = [Float](repeating: 0, count: rows)
            var sums = [Int32](repeating: 0, count: rows)
            var portableLevels = levels, portableScales = scales, portableSums = sums
            nw_int8_quantize_rows(weights, rows, cols, &levels, &scales, &sums)
            nw_int8_quantize_rows_portable(weights, rows, cols, &portableLevels, &portableScales, &portableSums)
            XCTAssertEqual(levels, portableLevels, "\(rows)x\(cols)")
            XCTAssertEqual(scales.map(\.bitPattern), portableScales.map(\.bitPattern))
            XCTAssertEqual(sums, portableSums)
            XCTAssertTrue(levels.allSatisfy { $0 >= -127 }, "levels stay symmetric")
        }
    }

    func testResultIsTheExactProductOfTheQuantizedOperands() {
        var generator = SeededGenerator(seed: 32)
        for (rows, cols) in shapes {
            let c = Case(rows: rows, cols: cols, generator: &generator)
            var y = [Float](repeating: .nan, count: rows)
            XCTAssertEqual(nw_int8_gemv(c.levels, c.scales, c.rowSums, c.x, nil, &y, rows, cols), 0)
            // x's levels as the kernel defines them: round(x · 127 / max|x|).
            let largest = c.x.map { abs($0) }.max()!
            let xs = largest / 127
            let xq = c.x.map { ($0 * (127 / largest)).rounded(.toNearestOrEven) }
            for r in 0 ..< rows {
                var levelSum = 0
                for col in 0 ..< cols { levelSum += Int(c.levels[r * cols + col]) * Int(xq[col]) }
                XCTAssertEqual(c.rowSums[r], Int32(c.levels[r * cols ..< (r + 1) * cols].reduce(0) { $0 + Int($1) }))
                let expected = Double(levelSum) * Double(c.scales[r]) * Double(xs)
                XCTAssertEqual(Double(y[r]), expected, accuracy: 1e-5 * max(1, abs(expected)), "row \(r) of \(rows)x\(cols)")
            }
        }
    }

    /// |y − W·x| ≤ Σ_c (|w_c − s·q_c| · |x_c| + s·|q_c| · |x_c − xs·xq_c|) ≤ s/2 · Σ|x| + xs/2 · Σ s·|q|.
    func testQuantizationErrorStaysWithinItsBound() {
        var generator = SeededGenerator(seed: 33)
        for (rows, cols) in shapes {
            let c = Case(rows: rows, cols: cols, generator: &generator)
            var y = [Float](repeating: .nan, count: rows)
            XCTAssertEqual(nw_int8_gemv(c.levels, c.scales, c.rowSums, c.x, c.bias, &y, rows, cols), 0)
            let xs = Double(c.x.map { abs($0) }.max()!) / 127
            let absoluteX = c.x.reduce(0) { $0 + Double(abs($1)) }
            var largestError = 0.0
            for r in 0 ..< rows {
                var exact = Double(c.bias[r]), weightMass = 0.0
                for col in 0 ..< cols {
                    exact += Double(c.weights[r * cols + col]) * Double(c.x[col])
                    weightMass += Double(c.scales[r]) * Double(abs(c.levels[r * cols + col]))
                }
                let bound = Double(c.scales[r]) / 2 * absoluteX + xs / 2 * weightMass + 1e-5 * max(1, abs(exact))
                XCTAssertLessThanOrEqual(abs(Double(y[r]) - exact), bound, "row \(r) of \(rows)x\(cols)")
                largestError = max(largestError, abs(Double(y[r]) - exact))
            }
            // And it is not trivially loose: a quantizer that dropped x's precision would break it.
            if cols >= 64 { XCTAssertLessThan(largestError, 0.05 * absoluteX * 0.6 / 3) }
        }
    }

    func testZeroInputGivesTheBiasAndTooWideInputIsRefused() {
        var generator = SeededGenerator(seed: 34)
        let c = Case(rows: 5, cols: 40, generator: &generator)
        var y = [Float](repeating: .nan, count: 5)
        XCTAssertEqual(nw_int8_gemv(c.levels, c.scales, c.rowSums, [Float](repeating: 0, count: 40), c.bias, &y, 5, 40), 0)
        XCTAssertEqual(y, c.bias)
        // A zero row quantizes to scale 0 and contributes nothing.
        var levels = [Int8](repeating: 1, count: 8), scales = [Float](repeating: 1, count: 2), sums = [Int32](repeating: 1, count: 2)
        nw_int8_quantize_rows([Float](repeating: 0, count: 8), 2, 4, &levels, &scales, &sums)
        XCTAssertEqual(levels, [Int8](repeating: 0, count: 8))
        XCTAssertEqual(scales, [0, 0])
        XCTAssertEqual(sums, [0, 0])
        XCTAssertEqual(nw_int8_gemv(levels, scales, sums, [1, 2, 3, 4], nil, &y, 1, 70_000), -1)
    }
}
