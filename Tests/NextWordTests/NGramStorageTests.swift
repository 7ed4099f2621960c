import Foundation
import XCTest
@testable import NextWord

/// The n-gram file: version 2's 16-bit ids and log codes (round trip within the codes' precision,
/// stable on rewrite, 32-bit ids for large vocabularies), version 1 files still read exactly, and
/// strict loading of damaged files.
final class NGramStorageTests: XCTestCase {
    private func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ngram-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Every probability of `loaded` within the log codes' relative precision of `model`'s, for
    /// contexts of every length the model uses.
    private func assertClose(_ loaded: NGramModel, _ model: NGramModel, words: [Int], line: UInt = #line) {
        let contexts: [[Int]] = [[], [0], [0, 1], [1, 6], [0, 1, 7], [6, 14], [29, 1, 2], [3, 1, 2]]
        var worst = 0.0
        for context in contexts {
            for w in words {
                let expected = model.probability(of: w, context: context), actual = loaded.probability(of: w, context: context)
                worst = max(worst, abs(actual - expected) / expected)
            }
        }
        // Half a code step is 0.0244 %: p_n = alpha + gamma p_{n-1} is off by at most that much more
        // than p_{n-1}, so by (order - 1) half steps in all.
        XCTAssertLessThan(worst, Double(model.order - 1) * 2.45e-4, "largest relative change \(worst)", line: line)
        XCTAssertGreaterThan(worst, 0, "the codes round; an exact copy would mean they were not used", line: line)
    }

    func testRoundTripKeepsEveryProbabilityWithinTheCodesPrecision() throws {
        let dir = try temporaryDirectory()
        for (order, minCount) in [(2, 1), (3, 2), (4, 1)] {
            let model = try NGramTests.toyModel(order: order, minCount: minCount)
            let url = dir.appendingPathComponent("m\(order).ngram")
            try model.write(to: url)
            let loaded = try NGramModel.load(contentsOf: url)
            XCTAssertEqual(loaded.ngramCounts, model.ngramCounts)
            XCTAssertEqual(loaded.discounts, model.discounts)
            XCTAssertEqual(loaded.unigram, model.unigram, "unigrams stay Float32")
            assertClose(loaded, model, words: Array(0..<31))
            var scores: [Float] = []
            loaded.distribution(context: [0, 1, 7], into: &scores)
            XCTAssertEqual(scores.reduce(0.0) { $0 + Double($1) }, 1, accuracy: 1e-3)
            // A model read from a file writes the same bytes again.
            let bytes = [UInt8](try Data(contentsOf: url))
            XCTAssertEqual([UInt8](loaded.serialized()), bytes)
            // Header: magic, version 2, order, V, </s> little-endian.
            XCTAssertEqual(Array(bytes[0..<8]), Array("NWNGRAM1".utf8))
            XCTAssertEqual(Array(bytes[8..<24]), [2, 0, 0, 0, UInt8(order), 0, 0, 0, 31, 0, 0, 0, 0, 0, 0, 0])
            // Size: header 24 + discounts 24 per order + unigram 4 V + per level 8, 4 per offset, 2 per
            // id, gamma and alpha.
            let levelBytes = model.levels.reduce(0) {
                $0 + 8 + 4 * $1.offsets.count + 2 * ($1.contextIDs.count + $1.backoffs.count + 2 * $1.words.count)
            }
            XCTAssertEqual(bytes.count, 24 + 24 * order + 4 * 31 + levelBytes)
        }
    }

    func testLargeVocabulariesKeep32BitIDs() throws {
        // Ids above 65,535 in n-grams of both orders: 16 bits would wrap them onto other words.
        let sentences = [[70_001, 65_540, 3], [70_001, 65_540, 3], [70_001, 2]]
        let model = try NGramModel.build(sentences: sentences, vocabSize: 70_005, endOfSentence: 0, order: 3)
        let loaded = try NGramModel(serialized: model.serialized())
        for (word, context) in [(65_540, [0, 70_001]), (3, [70_001, 65_540]), (2, [70_001]), (4, [65_540])] {
            XCTAssertEqual(loaded.probability(of: word, context: context), model.probability(of: word, context: context),
                           accuracy: 5e-4 * model.probability(of: word, context: context), "p(\(word) | \(context))")
        }
        XCTAssertGreaterThan(model.probability(of: 3, context: [70_001, 65_540]), 0.5)
        let idCount = model.levels.reduce(0) { $0 + $1.contextIDs.count + $1.words.count }
        let narrowSize = model.levels.reduce(0) {
            $0 + 8 + 4 * $1.offsets.count + 2 * ($1.contextIDs.count + $1.backoffs.count + 2 * $1.words.count)
        }
        XCTAssertEqual(loaded.serialized().count, 24 + 72 + 4 * 70_005 + narrowSize + 2 * idCount)
    }

    /// `model` in version 1's layout: ids UInt32, alphas and gammas Float32.
    private func version1Bytes(_ model: NGramModel) -> [UInt8] {
        var out = NGramByteWriter()
        out.bytes.append(contentsOf: NGramModel.fileMagic)
        for value in [1, UInt32(model.order), UInt32(model.vocabSize), UInt32(model.endOfSentence)] { out.append(value) }
        for d in model.discounts { for v in [d.d1, d.d2, d.d3Plus] { out.append(v.bitPattern) } }
        out.append(model.unigram)
        for level in model.levels {
            out.append(UInt32(level.contextCount))
            out.append(UInt32(level.words.count))
            out.append(level.contextIDs)
            out.append(level.offsets)
            out.append(level.backoffs)
            out.append(level.words)
            out.append(level.probs)
        }
        return out.bytes
    }

    func testVersion1FilesStillLoadExactly() throws {
        for order in 2...4 {
            let model = try NGramTests.toyModel(order: order)
            XCTAssertEqual(try NGramModel(serialized: Data(version1Bytes(model))), model)
        }
        // Version 1 holds Float32 values, so its range checks still matter.
        var bytes = version1Bytes(try NGramModel.build(sentences: [[1, 2], [1, 2], [2, 3]], vocabSize: 4, endOfSentence: 0, order: 3))
        for (value, expected) in [(Float(2), "probability"), (.infinity, "probability")] {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { for k in 0..<4 { bytes[bytes.count - 4 + k] = $0[k] } }
            assertCorrupt(bytes, expected)
        }
    }

    func testLogCodesKeepRelativePrecisionAndDecodeStably() {
        XCTAssertEqual(NGramLogCode.code(of: 1), 0)
        XCTAssertEqual(NGramLogCode.code(of: 1.5), 0, "above 1 is clamped")
        XCTAssertEqual(NGramLogCode.code(of: 0), NGramLogCode.zero)
        XCTAssertEqual(NGramLogCode.code(of: -1), NGramLogCode.zero)
        XCTAssertEqual(NGramLogCode.code(of: .nan), NGramLogCode.zero)
        XCTAssertEqual(NGramLogCode.code(of: 1e-20), NGramLogCode.zero, "below e^-32")
        XCTAssertEqual(NGramLogCode.probability(of: NGramLogCode.zero), 0)
        var p: Float = 1
        while p > 2e-14 {
            let back = NGramLogCode.probability(of: NGramLogCode.code(of: p))
            XCTAssertLessThanOrEqual(abs(Double(back) - Double(p)) / Double(p), 2.45e-4, "p \(p)")
            p *= 0.937
        }
        for code in 0...UInt16.max {
            let value = NGramLogCode.probability(of: code)
            XCTAssertTrue(value >= 0 && value <= 1)
            XCTAssertEqual(NGramLogCode.code(of: value), code)
        }
    }

    /// A small valid file to damage.
    private func smallFile() throws -> [UInt8] {
        [UInt8](try NGramModel.build(sentences: [[1, 2], [1, 2], [2, 3]], vocabSize: 4, endOfSentence: 0, order: 3)
            .serialized())
    }

    private func assertCorrupt(_ bytes: [UInt8], _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try NGramModel(serialized: Data(bytes), file: "m.ngram"), line: line) { error in
            guard case .corrupt(let file, let problem) = error as? NGramError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(file, "m.ngram", line: line)
            XCTAssertTrue(problem.contains(expected), "\(problem)", line: line)
        }
    }

    func testEveryTruncationIsATypedError() throws {
        let bytes = try smallFile()
        XCTAssertNoThrow(try NGramModel(serialized: Data(bytes)))
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try NGramModel(serialized: Data(bytes[0..<length]), file: "m.ngram")) { error in
                guard case .corrupt = error as? NGramError else { return XCTFail("length \(length): \(error)") }
            }
        }
        assertCorrupt(bytes + [0], "unexpected bytes")
    }

    func testHostileHeadersAndArraysAreTypedErrors() throws {
        let bytes = try smallFile()
        func patched<T: FixedWidthInteger>(_ offset: Int, _ value: T) -> [UInt8] {
            var b = bytes
            withUnsafeBytes(of: value.littleEndian) { for k in 0..<$0.count { b[offset + k] = $0[k] } }
            return b
        }
        var foreign = bytes
        foreign[7] = UInt8(ascii: "2")
        assertCorrupt(foreign, "magic")
        assertCorrupt(patched(8, UInt32(3)), "version 3")
        assertCorrupt(patched(8, UInt32(0)), "version 0")
        assertCorrupt(patched(12, UInt32(9)), "order 9")
        assertCorrupt(patched(16, UInt32(0)), "empty vocabulary")
        assertCorrupt(patched(20, UInt32(4)), "end-of-sentence")
        // Layout of this order-3, V = 4 file: 24 header, 72 discounts, 16 unigram, then the bigram
        // level's counts at 112 (contexts) and 116 (entries), its 16-bit context ids from 120.
        let levelStart = 24 + 72 + 16
        assertCorrupt(patched(levelStart, UInt32.max), "truncated")
        assertCorrupt(patched(levelStart + 4, UInt32.max), "truncated")
        assertCorrupt(patched(levelStart + 8, UInt16(0x7FFF)), "out of range")
        assertCorrupt(patched(levelStart + 10, UInt16(0)), "not strictly sorted")  // second context = first
        assertCorrupt(patched(28, UInt32(0x7FF8_0000)), "discounts")  // the high half of D1 (Float64): NaN
        assertCorrupt(patched(24 + 72, Float.nan.bitPattern), "unigram")
        assertCorrupt(patched(24 + 72, Float(0.9).bitPattern), "sum to")
    }

    func testRandomDamageNeverCrashes() throws {
        let bytes = try smallFile()
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            var b = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            // Either a typed error or a model whose distributions are still sound.
            do {
                let m = try NGramModel(serialized: Data(b))
                var scores: [Float] = []
                m.distribution(context: [0, 1], into: &scores)
                XCTAssertEqual(scores.count, m.vocabSize)
                XCTAssertTrue(scores.allSatisfy { $0.isFinite && $0 >= 0 })
            } catch {
                XCTAssertNotNil(error as? NGramError)
            }
        }
    }

    func testMissingFileIsAnIOError() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("missing-\(UUID().uuidString).ngram")
        XCTAssertThrowsError(try NGramModel.load(contentsOf: url)) { error in
            guard case .io(let file, _) = error as? NGramError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.path)
        }
    }
}
