import Foundation
import NextWord
import XCTest
@testable import NextWordREPL
#if canImport(Glibc)
import Glibc
#endif

final class REPLLineModeTests: XCTestCase {
    /// Runs line mode with `input` on a pipe; returns (standard output, error output).
    private func run(_ input: [UInt8], engine: FakeSuggestionEngine, json: Bool = false, learn: Bool = false,
                     maximumLineBytes: Int = 1 << 20) throws -> (String, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("repl-line-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Files, not pipes, for the outputs: nothing has to drain them while the runner writes.
        let inputURL = directory.appendingPathComponent("in"), outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        try Data(input).write(to: inputURL)
        let inFD = open(inputURL.path, O_RDONLY)
        let outFD = open(outURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let errFD = open(errURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(inFD); close(outFD); close(errFD) }
        let runner = LineModeRunner(engine: engine, count: 3, json: json, learn: learn, maximumLineBytes: maximumLineBytes)
        try runner.run(input: inFD, output: outFD, errors: errFD)
        return (try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8))
    }

    func testOneTabSeparatedLinePerInputLineAndNothingLearned() throws {
        let engine = FakeSuggestionEngine()
        let (out, err) = try run(Array("I would like to \nwo\n\nzzz\r\nto".utf8), engine: engine)
        XCTAssertEqual(out, "go\tbe\tsee\nwould\tworld\nthe\ta\tI\n\ntoday\ttomorrow\ttogether\n",
                       "the last line needs no newline; CR before LF is dropped; no suggestions give an empty line")
        XCTAssertEqual(err, "")
        XCTAssertEqual(engine.prefixes, ["I would like to ", "wo", "", "zzz", "to"], "each line on its own, no context")
        XCTAssertEqual(engine.learned, [], "line mode learns nothing without --learn")
    }

    func testJSONLinesDecodeToTheSuggestions() throws {
        let (out, _) = try run(Array("like to \nxyz\n".utf8), engine: FakeSuggestionEngine(), json: true)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3, "two answers and the final newline")
        XCTAssertEqual(lines[2], "")
        let first = try JSONDecoder().decode([Suggestion].self, from: Data(lines[0].utf8))
        XCTAssertEqual(first, [Suggestion(text: "go", probability: 0.5, source: .both),
                               Suggestion(text: "be", probability: 0.25, source: .model),
                               Suggestion(text: "see", probability: 0.5 / 3, source: .model)])
        XCTAssertTrue(lines[0].hasPrefix("[{\"probability\":0.5,\"source\":\"both\",\"text\":\"go\"}"), String(lines[0]))
        XCTAssertEqual(lines[1], "[]")
    }

    func testLearnFlagLearnsTrimmedNonEmptyLines() throws {
        let engine = FakeSuggestionEngine()
        _ = try run(Array("  I would like to go  \n\n   \nsee you\n".utf8), engine: engine, learn: true)
        XCTAssertEqual(engine.learned, ["I would like to go", "see you"])
    }

    /// A store that cannot learn (full disk) stops nothing: every line answered, one warning.
    func testLearnErrorsAreReportedOnceAndEveryLineIsAnswered() throws {
        let engine = FakeSuggestionEngine()
        engine.learnFailure = HistoryError.io(path: "/full/history.sqlite", message: "database or disk is full")
        let input = (0 ..< 20).map { "line \($0) to\n" }.joined()
        let (out, err) = try run(Array(input.utf8), engine: engine, learn: true)
        XCTAssertEqual(out.split(separator: "\n", omittingEmptySubsequences: false).count, 21, out)
        XCTAssertEqual(engine.learned.count, 20, "every line was offered to the store")
        XCTAssertEqual(err.split(separator: "\n").count, 1, err)
        XCTAssertTrue(err.contains("disk is full") && err.contains("line 1"), err)
    }

    func testInvalidUTF8LineGetsAnEmptyAnswerAndAWarning() throws {
        let engine = FakeSuggestionEngine()
        let (out, err) = try run([0x74, 0x6F, 0x20, 0x0A, 0xFF, 0xFE, 0x0A, 0x77, 0x6F, 0x0A], engine: engine, learn: true)
        XCTAssertEqual(out, "go\tbe\tsee\n\nwould\tworld\n")
        XCTAssertEqual(err, "nextword: line 2 is not valid UTF-8; skipped\n")
        XCTAssertEqual(engine.learned, ["to", "wo"])
    }

    func testOverlongLineKeepsItsEnd() throws {
        let engine = FakeSuggestionEngine()
        let line = String(repeating: "blah ", count: 40_000) + "I would like to "  // 200 kB: several reads
        let (out, _) = try run(Array((line + "\n").utf8), engine: engine, maximumLineBytes: 1000)
        XCTAssertEqual(out, "go\tbe\tsee\n")
        let prefix = try XCTUnwrap(engine.prefixes.first)
        XCTAssertTrue(prefix.hasSuffix("I would like to "))
        XCTAssertLessThanOrEqual(prefix.utf8.count, 1000 + 65536, "bounded by the limit plus one read")
    }
}

final class REPLCommandLineTests: XCTestCase {
    func testCommandsAreRecognisedOnlyOnTheirOwnLine() {
        XCTAssertEqual(ReplCommandLine.parse(":help"), .help)
        XCTAssertEqual(ReplCommandLine.parse("  :quit  "), .quit)
        XCTAssertEqual(ReplCommandLine.parse(":incognito"), .incognito(nil))
        XCTAssertEqual(ReplCommandLine.parse(":incognito OFF"), .incognito(false))
        XCTAssertEqual(ReplCommandLine.parse(":forget Paris"), .forget("Paris"))
        XCTAssertEqual(ReplCommandLine.parse(":stats"), .stats)
        XCTAssertEqual(ReplCommandLine.parse(":forget"), .invalid("usage: :forget WORD"))
        XCTAssertEqual(ReplCommandLine.parse(":stats now"), .invalid("usage: :stats (no arguments)"))
        XCTAssertEqual(ReplCommandLine.parse(":frobnicate"), .invalid("unknown command :frobnicate (try :help)"))
        XCTAssertNil(ReplCommandLine.parse(":) see you"), "a smiley is text")
        XCTAssertNil(ReplCommandLine.parse("say :help"))
        XCTAssertNil(ReplCommandLine.parse(""))
    }
}
