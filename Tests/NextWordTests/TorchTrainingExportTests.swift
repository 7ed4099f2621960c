import Foundation
import XCTest
@testable import NextWord

/// A model trained by scripts/train_torch.py under torchrun (two CPU processes, gloo,
/// DistributedDataParallel; 3 epochs on the fixture's own train.txt; an LSTM of 12 cells projected
/// to 8, tied at 8) and committed as written:
/// NextWord's loader must take its directory unchanged and reproduce its float64 log-probabilities.
///
///   torchrun --nproc_per_node 2 scripts/train_torch.py --train F/train.txt --valid F/valid.txt \
///     --output F/model --vocab-name vocab.txt --embedding 8 --hidden 12 --projection 8 --layers 2 --batch 4 --bptt 6 \
///     --lr 5 --epochs 3 --dropout 0.1 --locked-dropout --dropout-embedding 0.05 --reference 16
///   (F = Tests/NextWordTests/Fixtures/torch-ddp-tiny; then remove F/model/.torch-*)
final class TorchTrainingExportTests: XCTestCase {
    private struct Expected: Decodable {
        var tokens: [Int]
        var log_probs: [[Double]]
    }

    private func fixture() throws -> URL {
        let root = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "fixtures bundled")
        return root.appendingPathComponent("torch-ddp-tiny")
    }

    func testTheExportLoadsWithItsTrainingRecord() throws {
        let model = try Checkpoint.read(from: try fixture().appendingPathComponent("model"))
        XCTAssertEqual(model.config.tokenization, .pretokenized)
        XCTAssertTrue(model.config.tied)
        XCTAssertEqual(model.config.layers, 2)
        XCTAssertEqual(model.config.projectionSize, 8)
        XCTAssertEqual(model.config.hiddenSize, 12)
        let record = try XCTUnwrap(model.config.training, "the script records its run")
        XCTAssertEqual(record.history.map(\.epoch), [1, 2, 3])
        XCTAssertTrue(record.command.hasPrefix("scripts/train_torch.py"))
        XCTAssertEqual(record.bestValidPerplexity, record.history.last?.validPerplexity)
    }

    func testForwardMatchesPyTorch() throws {
        let directory = try fixture().appendingPathComponent("model")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
        let model = try Checkpoint.read(from: directory)
        XCTAssertEqual(expected.tokens.count, 16)
        XCTAssertEqual(expected.tokens.first, 1, "the validation stream starts at </s>, as nextword's")
        let rows = try model.logProbabilities(of: expected.tokens)
        var worst = 0.0
        for (row, reference) in zip(rows, expected.log_probs) {
            XCTAssertEqual(row.count, reference.count)
            for (value, target) in zip(row, reference) { worst = max(worst, abs(Double(value) - target)) }
        }
        XCTAssertEqual(rows.count, expected.log_probs.count)
        XCTAssertLessThanOrEqual(worst, 1e-5, "largest difference from PyTorch")
        let spread = expected.log_probs.flatMap { $0 }
        XCTAssertGreaterThan((spread.max() ?? 0) - (spread.min() ?? 0), 0.5, "a trained model, not a uniform one")
    }

    /// The text of valid.txt through NextWord's own tokenizer and vocabulary gives the ids the
    /// script trained on: its validation perplexity (10 streams, float32 weights before the
    /// float16 export) comes back from `Perplexity` within the rounding of the export.
    func testValidationPerplexityComesBackThroughTheSwiftPipeline() throws {
        let root = try fixture()
        let bundle = try ModelBundle.load(from: root.appendingPathComponent("model"))
        let lines = try TextFile.lines(contentsOf: root.appendingPathComponent("valid.txt"))
        let (ids, _, oov) = bundle.stream(lines: lines)
        XCTAssertEqual(oov, 0)
        let recorded = try XCTUnwrap(bundle.model.config.training?.bestValidPerplexity)
        let measured = Perplexity.perplexity(model: bundle.model, stream: ids, streams: 10)
        XCTAssertEqual(measured, recorded, accuracy: recorded * 0.005, "Swift \(measured), PyTorch \(recorded)")
    }
}
