import Foundation
import XCTest
@testable import NextWord

/// Tiny models exported from PyTorch by scripts/export_torch_fixture.py: the checkpoint reader must
/// load what the reference safetensors writer produced, and the forward pass must reproduce
/// PyTorch's float64 log-probabilities.
final class TorchFixtureTests: XCTestCase {
    private struct Expected: Decodable {
        var tokens: [Int]
        var log_probs: [[Double]]
        var tensors: [String: [Double]]?
    }

    private func fixture(_ name: String) throws -> (directory: URL, expected: Expected) {
        let root = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "fixtures bundled")
        let directory = root.appendingPathComponent(name)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        return (directory, expected)
    }

    func testFixtureLoadsWithPyTorchValues() throws {
        let (directory, expected) = try fixture("torch-tiny")
        let model = try Checkpoint.read(from: directory)
        XCTAssertEqual(model.config, ModelConfig(vocabularyFile: "vocab.txt", vocabularySHA256: model.config.vocabularySHA256,
                                                 vocabSize: 12, embeddingSize: 6, hiddenSize: 6, layers: 2, tied: false))
        let vocabulary = try ModelDirectory.vocabularyData(for: model.config, modelDirectory: directory)
        XCTAssertEqual(String(decoding: vocabulary.data, as: UTF8.self).split(separator: "\n").prefix(2), ["<unk>", "</s>"])

        let tensors = try XCTUnwrap(expected.tensors)
        XCTAssertEqual(Set(tensors.keys), Set(model.layout.tensors.map(\.name)))
        for slot in model.layout.tensors {
            let reference = try XCTUnwrap(tensors[slot.name]).map(Float.init)
            XCTAssertEqual(reference.count, slot.count, slot.name)
            // The export prints each float32 exactly, so equality is bitwise.
            XCTAssertEqual(model.parameters[slot.range].map(\.bitPattern), reference.map(\.bitPattern), slot.name)
        }
        // Biases were made nonzero so the forward check exercises them.
        XCTAssertTrue(try XCTUnwrap(model.tensor("decoder.bias")).contains { $0 != 0 })
        XCTAssertTrue(try XCTUnwrap(model.tensor("lstm.1.bias_hh")).contains { $0 != 0 })
    }

    func testForwardMatchesPyTorch() throws {
        for name in ["torch-tiny", "torch-tiny-tied", "torch-tiny-proj"] {
            let (directory, expected) = try fixture(name)
            let model = try Checkpoint.read(from: directory)
            XCTAssertEqual(model.config.tied, name != "torch-tiny")
            XCTAssertEqual(model.config.projectionSize, name == "torch-tiny-proj" ? 4 : nil, "nn.LSTM(proj_size: 4)")
            XCTAssertEqual(expected.tokens.count, 9)
            let logProbabilities = try model.logProbabilities(of: expected.tokens)
            XCTAssertEqual(logProbabilities.count, expected.log_probs.count, name)
            var worst = 0.0
            for (row, reference) in zip(logProbabilities, expected.log_probs) {
                XCTAssertEqual(row.count, model.config.vocabSize)
                for (value, target) in zip(row, reference) { worst = max(worst, abs(Double(value) - target)) }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(name): largest difference from PyTorch")
            // The references are not near-uniform, so the 1e-5 check has teeth.
            let spread = expected.log_probs.flatMap { $0 }
            XCTAssertGreaterThan((spread.max() ?? 0) - (spread.min() ?? 0), 0.5)
        }
    }

    func testFixtureSurvivesSwiftRewrite() throws {
        let (directory, _) = try fixture("torch-tiny-tied")
        let model = try Checkpoint.read(from: directory)
        let copy = try CheckpointTestSupport.temporaryDirectory(for: self)
        try Checkpoint.write(model, to: copy, vocabulary: Data(contentsOf: directory.appendingPathComponent("vocab.txt")))
        let reloaded = try Checkpoint.read(from: copy)
        XCTAssertEqual(reloaded.config, model.config)
        XCTAssertEqual(reloaded.parameters.map(\.bitPattern), model.parameters.map(\.bitPattern))
    }
}
