import Foundation
import GRDB
import XCTest
@testable import NextWord

/// A learned line survives the death of the process that learned it: a child learns lines in a
/// loop and is killed with SIGKILL mid-stream; every line it reported learned is in the file
/// afterwards, each line is there whole or not at all, and SQLite finds the file intact.
final class ReliabilityDurabilityTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("ReliabilityDurabilityTests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs a `learn-loop` child from marker `start`, kills it once it has reported `killAfter`
    /// lines, and returns the indices it reported.
    private func learnAndKill(start: Int, killAfter: Int) throws -> [Int] {
        let child = try ChildProcess(mode: "learn-loop",
                                     environment: ["NEXTWORD_CHILD_DB": file.path, "NEXTWORD_CHILD_START": "\(start)"],
                                     errorLog: directory.appendingPathComponent("child-\(start).log"))
        var reported: [Int] = []
        func record(_ line: String) {
            if line.hasPrefix("learned "), let index = Int(line.dropFirst("learned ".count)) { reported.append(index) }
        }
        while reported.count < killAfter, let line = child.nextLine() { record(line) }
        child.killNow()
        // Lines already in the pipe when the child died were learned too: they count.
        for line in child.remainingLines() { record(line) }
        XCTAssertEqual(child.process.terminationReason, .uncaughtSignal, child.errors)
        XCTAssertEqual(child.process.terminationStatus, SIGKILL)
        XCTAssertGreaterThanOrEqual(reported.count, killAfter, "the child stopped early: \(child.errors)")
        XCTAssertEqual(reported, Array(start ..< start + reported.count), "lines are reported in order")
        return reported
    }

    func testEveryReportedLineSurvivesSIGKILL() throws {
        let first = try learnAndKill(start: 0, killAfter: 50)
        try checkFile(reported: first, learnedAtMost: first.count + 1)

        // A restarted writer continues on the same file, and a second kill loses nothing either.
        let second = try learnAndKill(start: 10_000, killAfter: 20)
        let store = try checkFile(reported: first + second, learnedAtMost: first.count + second.count + 2)
        try store.learn(tokens: ["after", "the", "crash"])
        XCTAssertEqual(store.wordCount(lower: "crash").map(\.count), [1], "the store still learns")
    }

    /// Opens the file as the next run would and checks it; returns the store.
    @discardableResult
    private func checkFile(reported: [Int], learnedAtMost: Int, line: UInt = #line) throws -> HistoryStore {
        let store = try HistoryStore(path: file)
        XCTAssertNil(store.integrityProblem(), line: line)
        for index in reported {
            XCTAssertEqual(store.wordCount(lower: Marker.word(writer: 0, line: index)).map(\.count), [1],
                           "line \(index) was reported learned but is missing", line: line)
        }
        // Whole lines only: every line present has all three of its words, and no more lines are
        // present than were learned (the reported ones, plus at most one in flight per kill).
        let document = try HistoryExport.decode(try store.export())
        let markers = document.words.filter { $0.text.hasPrefix("mk") }
        XCTAssertTrue(markers.allSatisfy { $0.count == 1 })
        let durable = store.wordCount(lower: "durable").first?.count ?? 0
        let entry = store.wordCount(lower: "entry").first?.count ?? 0
        XCTAssertEqual(durable, markers.count, line: line)
        XCTAssertEqual(entry, markers.count, line: line)
        XCTAssertGreaterThanOrEqual(markers.count, reported.count, line: line)
        XCTAssertLessThanOrEqual(markers.count, learnedAtMost, line: line)

        // SQLite's full check, on a connection of our own.
        var configuration = Configuration()
        configuration.readonly = true
        let raw = try DatabaseQueue(path: file.path, configuration: configuration)
        XCTAssertEqual(try raw.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }, ["ok"], line: line)
        try raw.close()
        return store
    }
}
