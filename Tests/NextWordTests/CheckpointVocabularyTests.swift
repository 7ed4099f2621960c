import Foundation
import XCTest
@testable import NextWord

/// `ModelDirectory`: finding the vocabulary a model names and checking it is the right one.
final class CheckpointVocabularyTests: XCTestCase {
    private let words = Data("<unk>\n</s>\nthe\n".utf8)

    private func config(_ sha: String, file: String = "v.txt") -> ModelConfig {
        ModelConfig(vocabularyFile: file, vocabularySHA256: sha, vocabSize: 3, embeddingSize: 2, hiddenSize: 2, layers: 1, tied: false)
    }

    func testSHA256MatchesTheStandardTestVector() {
        XCTAssertEqual(ModelDirectory.sha256Hex(Data("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testBesideTheModelThenRepositoryVocabFolder() throws {
        let root = try CheckpointTestSupport.temporaryDirectory(for: self)
        let model = root.appendingPathComponent("models/m1")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("vocab"), withIntermediateDirectories: true)
        let config = config(ModelDirectory.sha256Hex(words))

        // Only in vocab/: found through models/NAME/../../vocab.
        try words.write(to: root.appendingPathComponent("vocab/v.txt"))
        let shared = try ModelDirectory.vocabularyData(for: config, modelDirectory: model)
        XCTAssertEqual(shared.data, words)
        XCTAssertEqual(shared.url.standardizedFileURL.path, root.appendingPathComponent("vocab/v.txt").standardizedFileURL.path)

        // Beside the model wins when both match.
        try words.write(to: model.appendingPathComponent("v.txt"))
        XCTAssertEqual(try ModelDirectory.vocabularyData(for: config, modelDirectory: model).url, model.appendingPathComponent("v.txt"))

        // A stale copy beside the model does not hide the right one in vocab/.
        try Data("stale\n".utf8).write(to: model.appendingPathComponent("v.txt"))
        XCTAssertEqual(try ModelDirectory.vocabularyData(for: config, modelDirectory: model).url.standardizedFileURL.path,
                       root.appendingPathComponent("vocab/v.txt").standardizedFileURL.path)

        // Upper-case hex in a hand-edited config is the same digest.
        XCTAssertNoThrow(try ModelDirectory.vocabularyData(for: self.config(ModelDirectory.sha256Hex(words).uppercased()), modelDirectory: model))
    }

    func testMismatchAndAbsenceAreTypedErrors() throws {
        let directory = try CheckpointTestSupport.temporaryDirectory(for: self)
        let wrong = config(ModelDirectory.sha256Hex(Data("other".utf8)))
        assertVocabularyError(try ModelDirectory.vocabularyData(for: wrong, modelDirectory: directory),
                              file: "v.txt", contains: ["not found", directory.appendingPathComponent("v.txt").path])
        try words.write(to: directory.appendingPathComponent("v.txt"))
        assertVocabularyError(try ModelDirectory.vocabularyData(for: wrong, modelDirectory: directory),
                              file: directory.appendingPathComponent("v.txt").path,
                              contains: ["SHA-256 is \(ModelDirectory.sha256Hex(words))", ModelDirectory.sha256Hex(Data("other".utf8))])
        assertVocabularyError(try ModelDirectory.vocabularyData(for: config("abc"), modelDirectory: directory),
                              file: "v.txt", contains: ["not a SHA-256"])
        for name in ["../v.txt", "", "..", "a/b"] {
            assertVocabularyError(try ModelDirectory.vocabularyData(for: config(ModelDirectory.sha256Hex(words), file: name), modelDirectory: directory),
                                  file: name, contains: ["plain file name"])
        }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("d.txt"), withIntermediateDirectories: true)
        assertVocabularyError(try ModelDirectory.vocabularyData(for: config(ModelDirectory.sha256Hex(words), file: "d.txt"), modelDirectory: directory),
                              file: directory.appendingPathComponent("d.txt").path, contains: ["is a directory"])
    }

    private func assertVocabularyError<T>(_ body: @autoclosure () throws -> T, file: String, contains phrases: [String],
                                          line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected a vocabulary error", line: line)
        } catch ModelError.vocabulary(let actualFile, let problem) {
            XCTAssertEqual(actualFile, file, problem, line: line)
            for phrase in phrases { XCTAssertTrue(problem.contains(phrase), "\"\(problem)\" lacks \"\(phrase)\"", line: line) }
        } catch {
            XCTFail("expected ModelError.vocabulary, got \(error)", line: line)
        }
    }
}
