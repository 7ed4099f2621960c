import Foundation
import XCTest
@testable import NextWord

/// Model directories that are truncated, mismatched or hostile, loaded through `ModelBundle.load`
/// and `SuggestionEngine.open`: always a typed error whose message names the file, never a crash,
/// and never a model running against the wrong word list.
final class ReliabilityModelFileTests: XCTestCase {
    private var directory: URL!
    private var model: URL { directory.appendingPathComponent("model") }

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("ReliabilityModelFileTests")
        try EngineFixture.writeModelDirectory(at: model)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func url(_ name: String) -> URL { model.appendingPathComponent(name) }

    private func openEngine() throws -> SuggestionEngine {
        try SuggestionEngine.open(.init(modelDirectory: model, useHistory: false)).engine
    }

    /// `body` throws an error of type `E` whose description names `file` (its path or name).
    private func assertFails<E: Error & CustomStringConvertible>(
        _ type: E.Type, naming file: String, _ body: () throws -> Void, line: UInt = #line
    ) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertTrue(error is E, "expected \(E.self), got \(Swift.type(of: error)): \(error)", line: line)
            XCTAssertTrue("\(error)".contains(file), "the message does not name \(file): \(error)", line: line)
        }
    }

    private func editConfig(_ change: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: url(Checkpoint.configFileName))
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url(Checkpoint.configFileName))
    }

    func testMissingFiles() throws {
        assertFails(ModelError.self, naming: "nowhere") {
            _ = try ModelBundle.load(from: directory.appendingPathComponent("nowhere"))
        }
        try FileManager.default.removeItem(at: url(EngineFixture.vocabularyFileName))
        assertFails(ModelError.self, naming: EngineFixture.vocabularyFileName) { _ = try ModelBundle.load(from: model) }
        try FileManager.default.removeItem(at: url(Checkpoint.weightsFileName))
        assertFails(ModelError.self, naming: Checkpoint.weightsFileName) { _ = try ModelBundle.load(from: model) }
        try FileManager.default.removeItem(at: url(Checkpoint.configFileName))
        assertFails(ModelError.self, naming: url(Checkpoint.configFileName).path) { _ = try ModelBundle.load(from: model) }
    }

    func testTruncatedFiles() throws {
        for name in [Checkpoint.configFileName, Checkpoint.weightsFileName] {
            try EngineFixture.writeModelDirectory(at: model)
            let bytes = try Data(contentsOf: url(name))
            // (config.json ends with a line break: cutting only that leaves valid JSON.)
            for cut in [0, 7, bytes.count / 2, bytes.count - 2] {
                try bytes.prefix(cut).write(to: url(name))
                assertFails(ModelError.self, naming: url(name).path) { _ = try ModelBundle.load(from: model) }
            }
        }
        // A truncated vocabulary no longer matches the SHA-256 in config.json.
        try EngineFixture.writeModelDirectory(at: model)
        let vocabulary = try Data(contentsOf: url(EngineFixture.vocabularyFileName))
        try vocabulary.prefix(vocabulary.count / 2).write(to: url(EngineFixture.vocabularyFileName))
        assertFails(ModelError.self, naming: url(EngineFixture.vocabularyFileName).path) { _ = try ModelBundle.load(from: model) }
    }

    func testWeightsOfAnotherShape() throws {
        let other = directory.appendingPathComponent("other")
        let vocabulary = EngineFixture.vocabulary()
        var config = try EngineFixture.model(vocabulary: vocabulary).config
        config.hiddenSize = 16
        try Checkpoint.write(try LanguageModel.initialized(config: config, seed: 1), to: other)
        try FileManager.default.removeItem(at: url(Checkpoint.weightsFileName))
        try FileManager.default.copyItem(at: other.appendingPathComponent(Checkpoint.weightsFileName), to: url(Checkpoint.weightsFileName))
        XCTAssertThrowsError(try ModelBundle.load(from: model)) { error in
            guard case ModelError.checkpoint(let file, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url(Checkpoint.weightsFileName).path)
            XCTAssertTrue(problem.contains("shape"), problem)
        }
    }

    func testAnotherVocabulary() throws {
        // Other words under the same name: the SHA-256 pinned in config.json tells.
        try Vocabulary.build(counts: ["some": 3, "other": 2, "words": 1]).write(to: url(EngineFixture.vocabularyFileName))
        XCTAssertThrowsError(try ModelBundle.load(from: model)) { error in
            guard case ModelError.vocabulary(let file, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url(EngineFixture.vocabularyFileName).path)
            XCTAssertTrue(problem.contains("SHA-256"), problem)
        }
        // A vocabulary that matches its hash but not the model's size.
        var counts = EngineFixture.counts(lowercase: true)
        counts["extraword"] = 1
        let bigger = Vocabulary.build(counts: counts)
        try bigger.write(to: url(EngineFixture.vocabularyFileName))
        try editConfig { $0["vocabularySHA256"] = bigger.sha256Hex }
        XCTAssertThrowsError(try ModelBundle.load(from: model)) { error in
            guard case ModelError.vocabulary(let file, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url(EngineFixture.vocabularyFileName).path)
            XCTAssertTrue(problem.contains("words but the model has"), problem)
        }
    }

    func testHostileConfigs() throws {
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("huge vocabulary", { $0["vocabSize"] = 1 << 40 }),
            ("negative size", { $0["hiddenSize"] = -8 }),
            ("escaping vocabulary path", { $0["vocabularyFile"] = "../../../../etc/passwd" }),
            ("foreign format", { $0["format"] = "pytorch" }),
            ("future version", { $0["formatVersion"] = 99 }),
            ("wrong type", { $0["layers"] = "two" }),
            ("not a hash", { $0["vocabularySHA256"] = "xyz" }),
        ]
        for (label, edit) in edits {
            try EngineFixture.writeModelDirectory(at: model)
            try editConfig(edit)
            XCTAssertThrowsError(try ModelBundle.load(from: model), label) { error in
                XCTAssertTrue(error is ModelError, "\(label): \(error)")
                let text = "\(error)"
                XCTAssertTrue(text.contains(Checkpoint.configFileName) || text.contains("vocabularyFile")
                              || text.contains("vocabularySHA256"), "\(label): \(text)")
            }
        }
        try "[1, 2, 3]".write(to: url(Checkpoint.configFileName), atomically: true, encoding: .utf8)
        assertFails(ModelError.self, naming: url(Checkpoint.configFileName).path) { _ = try ModelBundle.load(from: model) }
    }

    func testDamagedNgramAndLexicon() throws {
        try Data("NWNGRAM1 but then nothing useful".utf8).write(to: url(SuggestionEngine.ngramFileName))
        assertFails(NGramError.self, naming: url(SuggestionEngine.ngramFileName).path) { _ = try openEngine() }

        // A valid n-gram file built for another vocabulary.
        let bundle = try EngineFixture.bundle()
        let stream = bundle.stream(lines: ["we met them"]).ids.map(Int.init)
        try NGramModel.build(stream: stream, vocabSize: bundle.vocabulary.count + 5,
                             endOfSentence: bundle.vocabulary.endOfSentenceID).write(to: url(SuggestionEngine.ngramFileName))
        assertFails(NGramError.self, naming: url(SuggestionEngine.ngramFileName).path) { _ = try openEngine() }
        try FileManager.default.removeItem(at: url(SuggestionEngine.ngramFileName))
        XCTAssertNil(try openEngine().ngram, "without the file, no n-gram")

        try "the 12\nno tab here\n".write(to: url(SuggestionEngine.lexiconFileName), atomically: true, encoding: .utf8)
        assertFails(TextError.self, naming: url(SuggestionEngine.lexiconFileName).path) { _ = try openEngine() }
        try Data([0x74, 0x68, 0x65, 0x09, 0x31, 0x0A, 0xFF, 0xFE, 0x09, 0x32, 0x0A]).write(to: url(SuggestionEngine.lexiconFileName))
        assertFails(TextError.self, naming: url(SuggestionEngine.lexiconFileName).path) { _ = try openEngine() }
    }

    /// Random damage to any file of the directory: the engine either opens and answers validly
    /// (the damage hit a weight's value, say) or refuses with an error naming the damaged file.
    func testRandomDamageToAnyFile() throws {
        let names = [Checkpoint.configFileName, Checkpoint.weightsFileName, EngineFixture.vocabularyFileName,
                     SuggestionEngine.lexiconFileName, SuggestionEngine.ngramFileName]
        let pristine = try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: url($0))) })
        var generator = SeededGenerator(seed: 77)
        var opened = 0, refused = 0
        for round in 0..<100 {
            let name = names[round % names.count]
            var bytes = [UInt8](pristine[name] ?? Data())
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
            case 1:
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            default: bytes += (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            try Data(bytes).write(to: url(name))
            do {
                let engine = try openEngine()
                EngineSuggestionTests.assertValid(engine.suggest(prefix: "we met th", limit: 3), prefix: "we met th", limit: 3)
                opened += 1
            } catch {
                refused += 1
                XCTAssertTrue("\(error)".contains(name), "round \(round), damaged \(name): \(error)")
            }
            try pristine[name]?.write(to: url(name))
        }
        XCTAssertGreaterThan(refused, 50, "most damage is noticed")
        XCTAssertEqual(opened + refused, 100)
    }
}

/// Numbers that are not numbers: refused at load and at parse, with the name.
final class NonFiniteNumberTests: XCTestCase {
    func testAbsurdWeightsAreRefusedAtLoadNamingTheTensor() throws {
        let directory = try EngineFixture.temporaryDirectory("NonFiniteNumberTests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let vocabulary = EngineFixture.vocabulary()
        let model = try EngineFixture.model(vocabulary: vocabulary)
        try Checkpoint.write(model, to: directory, storage: .float32, vocabulary: vocabulary.fileData())
        // The writer refuses such a value, so put it into the file's bytes: element 3 of the embedding.
        let file = directory.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: file))
        let headerLength = bytes[0 ..< 8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8 ..< 8 + headerLength])) as? [String: Any])
        let entry = try XCTUnwrap(header["embedding.weight"] as? [String: Any])
        let start = try XCTUnwrap((entry["data_offsets"] as? [Int])?.first)
        withUnsafeBytes(of: Float(1e37).bitPattern.littleEndian) { raw in
            for (i, byte) in raw.enumerated() { bytes[8 + headerLength + start + 3 * 4 + i] = byte }
        }
        try Data(bytes).write(to: file)
        XCTAssertThrowsError(try Checkpoint.read(from: directory)) { error in
            let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            XCTAssertTrue(text.contains("embedding.weight") && text.contains("model.safetensors"), text)
        }
    }

    func testNonFiniteMixingWeightsAreRefused() {
        XCTAssertThrowsError(try MixingWeights(parsing: "user=nan"))
        XCTAssertThrowsError(try MixingWeights(parsing: "cache=inf"))
        XCTAssertNoThrow(try MixingWeights(parsing: "theta=0.5"))
    }

    func testTheSimulatorRefusesBinaryInputAtOnce() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("binary-\(UUID().uuidString).bin")
        try Data([0x66, 0x6F, 0xFF, 0xFE, 0x00, 0x80]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        XCTAssertThrowsError(try KeystrokeSimulator(k: 3).run(contentsOf: file, predictor: OraclePredictor())) { error in
            XCTAssertTrue("\(error)".contains("UTF-8"), "\(error)")
        }
    }
}
