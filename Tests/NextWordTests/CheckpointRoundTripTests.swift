import Foundation
import XCTest
@testable import NextWord

final class CheckpointRoundTripTests: XCTestCase {
    func testFloat32RoundTripIsBitExact() throws {
        for tied in [false, true] {
            let model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(tied: tied), seed: 7)
            let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
            try Checkpoint.write(model, to: directory, storage: .float32)
            let loaded = try Checkpoint.read(from: directory)
            XCTAssertEqual(loaded.config, model.config)
            XCTAssertEqual(loaded.parameters.map(\.bitPattern), model.parameters.map(\.bitPattern), "tied: \(tied)")
        }
    }

    func testFloat16RoundTripIsWithinHalfPrecisionRounding() throws {
        let model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 11)
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        try Checkpoint.write(model, to: directory, storage: .float16)
        let loaded = try Checkpoint.read(from: directory)
        XCTAssertEqual(loaded.parameters.count, model.parameters.count)
        var changed = 0
        for (original, stored) in zip(model.parameters, loaded.parameters) {
            // binary16 keeps 11 significant bits: rounding to nearest is off by at most half an ulp,
            // 2^-11 relative for normals, 2^-25 absolute in the subnormal range.
            let bound = max(abs(original) * 0x1p-11, 0x1p-25)
            XCTAssertLessThanOrEqual(abs(original - stored), bound, "\(original) stored as \(stored)")
            if original != stored { changed += 1 }
        }
        XCTAssertGreaterThan(changed, model.parameters.count / 2, "random values must mostly lose precision in F16")
        // 1 is exact in F16: the forget-gate biases survive unchanged.
        let bias = try XCTUnwrap(loaded.tensor("lstm.0.bias_ih"))
        XCTAssertEqual(Array(bias.dropFirst(4).prefix(4)), [1, 1, 1, 1])

        let weights = try SafeTensors(contentsOf: directory.appendingPathComponent(Checkpoint.weightsFileName))
        XCTAssertTrue(weights.tensors.allSatisfy { $0.dtype == .float16 })
        XCTAssertEqual(weights.tensors.map(\.dataOffsets.count).reduce(0, +), 2 * model.parameters.count)
    }

    func testWeightsFileHoldsLayoutTensorsInOrderAndConfigIsSortedPrettyJSON() throws {
        var config = CheckpointTestSupport.tinyConfig()
        config.training = TrainingRecord(command: "nextword train", data: "tiny", epochs: 2, batchSize: 4, bptt: 5,
                                         dropout: 0.3, learningRate: 20, seed: 1, threads: 2,
                                         history: [EpochRecord(epoch: 1, trainLoss: 5.5, validPerplexity: 240.25,
                                                               learningRate: 20, seconds: 1.5, tokensPerSecond: 1000)])
        let model = try LanguageModel.initialized(config: config, seed: 3)
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        try Checkpoint.write(model, to: directory)

        let weights = try SafeTensors(contentsOf: directory.appendingPathComponent(Checkpoint.weightsFileName))
        XCTAssertEqual(weights.tensors.map(\.name), [
            "embedding.weight",
            "lstm.0.weight_ih", "lstm.0.weight_hh", "lstm.0.bias_ih", "lstm.0.bias_hh",
            "lstm.1.weight_ih", "lstm.1.weight_hh", "lstm.1.bias_ih", "lstm.1.bias_hh",
            "decoder.weight", "decoder.bias",
        ])
        XCTAssertEqual(weights.tensor(named: "lstm.1.weight_ih")?.shape, [16, 4])
        XCTAssertEqual(weights.tensor(named: "embedding.weight")?.dataOffsets, 0 ..< 7 * 4 * 4)

        let text = try String(contentsOf: directory.appendingPathComponent(Checkpoint.configFileName), encoding: .utf8)
        XCTAssertGreaterThan(text.split(separator: "\n").count, 10, "pretty-printed, one field per line")
        let keys = ["\"embeddingSize\"", "\"format\"", "\"formatVersion\"", "\"hiddenSize\"", "\"layers\"", "\"lowercase\"",
                    "\"tied\"", "\"tokenization\"", "\"training\"", "\"vocabSize\"", "\"vocabularyFile\"", "\"vocabularySHA256\""]
        let positions = try keys.map { key in try XCTUnwrap(text.range(of: key)?.lowerBound, key) }
        XCTAssertEqual(positions, positions.sorted(), "keys sorted")
        XCTAssertEqual(try Checkpoint.read(from: directory).config, config, "training record survives")
    }

    func testOverwriteReplacesFilesAndLeavesNoTemporaries() throws {
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        let first = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 1)
        let second = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(tied: true), seed: 2)
        try Checkpoint.write(first, to: directory)
        try Checkpoint.write(second, to: directory, storage: .float32)
        let loaded = try Checkpoint.read(from: directory)
        XCTAssertTrue(loaded.config.tied)
        XCTAssertEqual(loaded.parameters, second.parameters)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(),
                       [Checkpoint.configFileName, Checkpoint.weightsFileName])
    }

    func testFailedWriteKeepsOldFilesAndRemovesTemporary() throws {
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        // A non-empty directory where the weights file should go: rename(2) onto it must fail.
        let blocker = directory.appendingPathComponent(Checkpoint.weightsFileName)
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: blocker.appendingPathComponent("inside"))
        let model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 1)
        CheckpointTestSupport.assertCheckpointError(try Checkpoint.write(model, to: directory),
                                                    file: blocker.path, contains: ["rename"])
        // Nothing half-written: no temporary left, and config.json (written last) never appeared.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [Checkpoint.weightsFileName])
        XCTAssertEqual(try Data(contentsOf: blocker.appendingPathComponent("inside")), Data("keep".utf8))
    }

    func testVocabularyIsWrittenBesideAndMustMatchConfigHash() throws {
        let vocabulary = Data("<unk>\n</s>\nthe\na\ncat\nsat\non\n".utf8)
        let config = CheckpointTestSupport.tinyConfig(vocabulary: vocabulary)
        let model = try LanguageModel.initialized(config: config, seed: 5)
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        try Checkpoint.write(model, to: directory, vocabulary: vocabulary)
        XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent("vocab.txt")), vocabulary)
        XCTAssertEqual(try ModelDirectory.vocabularyData(for: config, modelDirectory: directory).data, vocabulary)

        let other = try CheckpointTestSupport.temporaryDirectory(for: self).appendingPathComponent("model")
        XCTAssertThrowsError(try Checkpoint.write(model, to: other, vocabulary: Data("<unk>\n</s>\n".utf8))) { error in
            guard case ModelError.vocabulary(let file, let problem)? = error as? ModelError else {
                return XCTFail("expected a vocabulary error, got \(error)")
            }
            XCTAssertEqual(file, "vocab.txt")
            XCTAssertTrue(problem.contains("SHA-256"), problem)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: other.path), "nothing written when the vocabulary is wrong")
    }

    func testWriteRefusesValuesTheReaderWouldReject() throws {
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        var model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 1)
        let bias = try XCTUnwrap(model.layout.tensor(named: "decoder.bias"))
        model.parameters[bias.offset + 3] = 65_504  // the largest F16 is fine, in either storage
        try Checkpoint.write(model, to: directory, storage: .float32)
        XCTAssertEqual(try Checkpoint.read(from: directory).parameters[bias.offset + 3], 65_504)
        try Checkpoint.write(model, to: directory, storage: .float16)
        XCTAssertEqual(try Checkpoint.read(from: directory).parameters[bias.offset + 3], 65_504)
        // 70,000 is finite in F32 but beyond what a model file may hold (and infinity in F16).
        for (value, storage) in [(Float(70_000), Checkpoint.Storage.float16), (70_000, .float32), (1e37, .float32),
                                 (.nan, .float32), (-.infinity, .float16)] {
            model.parameters[bias.offset + 3] = value
            XCTAssertThrowsError(try Checkpoint.write(model, to: directory, storage: storage)) { error in
                guard case ModelError.invalidInput(let why)? = error as? ModelError else { return XCTFail("\(error)") }
                XCTAssertTrue(why.contains("\"decoder.bias\" element 3"), why)
            }
        }
        XCTAssertEqual(try Checkpoint.read(from: directory).parameters[bias.offset + 3], 65_504, "earlier save untouched")
    }

    func testWriteRejectsParameterCountThatDisagreesWithConfig() throws {
        var model = try LanguageModel.initialized(config: CheckpointTestSupport.tinyConfig(), seed: 1)
        model.parameters.removeLast()
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        XCTAssertThrowsError(try Checkpoint.write(model, to: directory)) { error in
            guard case ModelError.invalidInput? = error as? ModelError else { return XCTFail("\(error)") }
        }
    }
}

/// Helpers shared by the checkpoint test classes.
enum CheckpointTestSupport {
    /// V=7, E=H=4, two layers: small enough to reason about, deep enough to have `lstm.1.*`.
    static func tinyConfig(tied: Bool = false, vocabulary: Data = Data("v".utf8)) -> ModelConfig {
        ModelConfig(vocabularyFile: "vocab.txt", vocabularySHA256: ModelDirectory.sha256Hex(vocabulary),
                    vocabSize: 7, embeddingSize: 4, hiddenSize: 4, layers: 2, tied: tied)
    }

    /// A fresh empty directory removed when the test ends.
    static func temporaryDirectory(for test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nextword-checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Asserts `body` throws `ModelError.checkpoint` for `file` with every phrase in its problem.
    static func assertCheckpointError<T>(_ body: @autoclosure () throws -> T, file: String, contains phrases: [String],
                                         sourceFile: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected a checkpoint error containing \(phrases)", file: sourceFile, line: line)
        } catch ModelError.checkpoint(let actualFile, let problem) {
            XCTAssertEqual(actualFile, file, problem, file: sourceFile, line: line)
            for phrase in phrases {
                XCTAssertTrue(problem.contains(phrase), "\"\(problem)\" lacks \"\(phrase)\"", file: sourceFile, line: line)
            }
        } catch {
            XCTFail("expected ModelError.checkpoint, got \(error)", file: sourceFile, line: line)
        }
    }

    /// A safetensors file from a hand-written header and `dataLength` bytes of data (all 0: 0.0f).
    static func file(header: String, dataLength: Int) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: dataLength))
        return data
    }
}
