import Foundation
import XCTest
@testable import NextWord

/// The package's one file writer (`AtomicFileWriter`), through each kind of file that uses it:
/// the whole new contents or the old ones, never a symbolic link followed, no temporary file left,
/// and a failure reported as the kind of file's own error naming the file.
final class AtomicFileWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("AtomicFileWriter")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
    }

    func testReplacesTheFileWholeAndLeavesNoTemporaryFile() throws {
        let url = directory.appendingPathComponent("file.txt")
        try AtomicFileWriter.store(Data("old contents, longer than the new\n".utf8), at: url)
        try AtomicFileWriter.store(Data("new\n".utf8), at: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "new\n")
        XCTAssertEqual(try leftovers(), [])
    }

    func testASymbolicLinkIsReplacedNotFollowed() throws {
        let target = directory.appendingPathComponent("target.txt"), link = directory.appendingPathComponent("ngram.bin")
        try Data("someone else's file\n".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let model = try NGramModel.build(stream: [1, 2, 3, 1, 2, 3, 0], vocabSize: 4, endOfSentence: 0, order: 2, minCount: 1)
        try model.write(to: link)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "someone else's file\n")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: link.path))
        XCTAssertEqual(try NGramModel.load(contentsOf: link).ngramCounts, model.ngramCounts)
    }

    func testAFailureIsTheKindOfFilesOwnErrorNamingIt() throws {
        let missing = directory.appendingPathComponent("no such folder")
        let lexicon = Lexicon(counts: ["cat": 2])
        XCTAssertThrowsError(try lexicon.write(to: missing.appendingPathComponent("lexicon.tsv"))) { error in
            guard case TextError.io(let file, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("no such folder/lexicon.tsv"), file)
            XCTAssertTrue(problem.contains("temporary file"), problem)
        }
        let model = try NGramModel.build(stream: [1, 2, 1, 2, 0], vocabSize: 3, endOfSentence: 0, order: 2, minCount: 1)
        XCTAssertThrowsError(try model.write(to: missing.appendingPathComponent("ngram.bin"))) { error in
            guard case NGramError.io(let file, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("ngram.bin"), file)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path), "nothing created")
    }
}
