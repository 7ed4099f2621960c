import Foundation
import XCTest
@testable import NextWord

/// `history clear` keeps its promise when it is cut short, and says what it does not reach.
final class ReliabilityClearTests: XCTestCase {
    /// Killed in the middle of a clear (as in the report: 4 of 50 killed clears left up to 139,857
    /// lines of text in the file and its WAL, and no later read cleaned them): the next open of
    /// the history finishes the clear, and no learned text is left in the file or its WAL.
    func testAClearKilledMidwayIsFinishedAtTheNextOpen() throws {
        let directory = try EngineFixture.temporaryDirectory("ClearKilled")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history.sqlite")
        do {
            let store = try HistoryStore(path: file)
            for index in 0..<300 { try store.learn(tokens: ["secretive", Marker.word(writer: 3, line: index), "entry"]) }
            try store.close()
        }
        XCTAssertTrue(EngineFixture.filesContain(file, "secretive"))

        let child = try ChildProcess(mode: "clear-stalled", environment: ["NEXTWORD_CHILD_DB": file.path],
                                     errorLog: directory.appendingPathComponent("child.log"))
        XCTAssertEqual(child.waitForLine(startingWith: "marked"), "marked", child.errors)
        child.killNow()
        child.process.waitUntilExit()
        XCTAssertTrue(HistoryClearing.isMarked(file), "the killed clear left its marker")
        XCTAssertTrue(EngineFixture.filesContain(file, "secretive"), "nothing was erased before the kill")

        let reopened = try HistoryStore(path: file)
        XCTAssertEqual(reopened.totalWordCount(), 0)
        XCTAssertFalse(EngineFixture.filesContain(file, "secretive"), "no learned text in the file or its WAL")
        XCTAssertFalse(EngineFixture.filesContain(file, Marker.word(writer: 3, line: 7)))
        XCTAssertFalse(HistoryClearing.isMarked(file), "the finished clear removed its marker")
        XCTAssertNil(reopened.integrityProblem())
        // Learning goes on normally afterwards.
        try reopened.learn(tokens: ["fresh", "start"])
        XCTAssertEqual(reopened.wordCount(lower: "fresh").count, 1)
    }

    func testDamagedCopiesAreListedAndDeletedAndNothingElse() throws {
        let directory = try EngineFixture.temporaryDirectory("ClearCopies")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history.sqlite")
        let store = try HistoryStore(path: file)
        let copy = directory.appendingPathComponent("history.sqlite.damaged-20261201-101500")
        let copyWAL = URL(fileURLWithPath: copy.path + "-wal")
        let unrelated = directory.appendingPathComponent("history.sqlite.bak")
        let victim = directory.appendingPathComponent("victim.txt")
        for url in [copy, copyWAL, unrelated, victim] { try "learned text".write(to: url, atomically: true, encoding: .utf8) }
        let link = directory.appendingPathComponent("history.sqlite.damaged-20261201-101501")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: victim)

        XCTAssertEqual(store.damagedCopies().map(\.lastPathComponent), [copy.lastPathComponent, copyWAL.lastPathComponent])
        XCTAssertEqual(try store.deleteDamagedCopies(), 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: copy.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: copyWAL.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: unrelated.path), "only damaged copies are deleted")
        XCTAssertEqual(try String(contentsOf: victim, encoding: .utf8), "learned text", "a link is not followed")
        XCTAssertTrue(store.damagedCopies().isEmpty)
    }
}
