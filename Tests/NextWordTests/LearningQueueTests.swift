import Foundation
import XCTest
@testable import NextWord

/// The REPL's background learning: order kept, busy histories retried until they take the line,
/// failures that waiting cannot mend reported once and the line dropped, the bound kept.
final class LearningQueueTests: XCTestCase {
    /// Fails its first `busyFailures` learns as a busy history would, then learns; refuses lines
    /// containing "refused" as a read-only history would.
    final class FlakyEngine: SuggestionProviding, @unchecked Sendable {  // guarded by `lock`
        private let lock = NSLock()
        private var failuresLeft: Int
        private var _learned: [String] = []
        private var _attempts = 0
        init(busyFailures: Int) { failuresLeft = busyFailures }
        var learned: [String] { lock.withLock { _learned } }
        var attempts: Int { lock.withLock { _attempts } }
        var incognito = false
        var modelName: String { "flaky" }
        func suggest(prefix: String, limit: Int) -> [Suggestion] { [] }
        func forget(word: String) throws -> Int { 0 }
        func statsSummary() throws -> String { "" }
        func learn(_ text: String) throws {
            try lock.withLock {
                _attempts += 1
                if failuresLeft > 0 {
                    failuresLeft -= 1
                    throw HistoryError.io(path: "/h.sqlite", message: "another process kept the history busy for too long")
                }
                if text.contains("refused") { throw HistoryError.readOnly(path: "/h.sqlite", reason: "read-only file") }
                _learned.append(text)
            }
        }
    }

    func testBusyHistoryIsRetriedInOrderUntilEveryLineIsLearned() {
        let engine = FlakyEngine(busyFailures: 3)
        let queue = LearningQueue(engine: engine, firstRetryDelay: 0.01, longestRetryDelay: 0.02)
        defer { queue.close() }
        for index in 0..<5 { XCTAssertTrue(queue.enqueue("line \(index)")) }
        XCTAssertEqual(queue.waitUntilEmpty(timeout: 10), 0)
        XCTAssertEqual(engine.learned, (0..<5).map { "line \($0)" }, "nothing lost, order kept")
        XCTAssertEqual(engine.attempts, 8)
        let reports = queue.takeReports()
        XCTAssertEqual(reports.count, 1, "the busy spell is reported once: \(reports)")
        XCTAssertTrue(reports.first?.contains("busy") ?? false)
        XCTAssertTrue(queue.takeReports().isEmpty)
    }

    func testALineTheHistoryRefusesIsDroppedAndReported() {
        let engine = FlakyEngine(busyFailures: 0)
        let queue = LearningQueue(engine: engine)
        defer { queue.close() }
        queue.enqueue("first")
        queue.enqueue("refused line")
        queue.enqueue("third")
        XCTAssertEqual(queue.waitUntilEmpty(timeout: 10), 0)
        XCTAssertEqual(engine.learned, ["first", "third"])
        let reports = queue.takeReports()
        XCTAssertEqual(reports.count, 1)
        XCTAssertTrue(reports.first?.contains("read-only") ?? false, "\(reports)")
    }

    /// `:forget` while lines wait for a busy history: the waiting lines holding the word are taken
    /// back, so the word does not return when the history frees up.
    func testWaitingLinesHoldingAForgottenWordAreTakenBack() {
        let engine = FlakyEngine(busyFailures: 3)
        let queue = LearningQueue(engine: engine, firstRetryDelay: 0.2, longestRetryDelay: 0.2)
        defer { queue.close() }
        queue.enqueue("the zyxcorp plan")
        queue.enqueue("another line")
        queue.enqueue("Zyxcorp again")
        usleep(50_000)  // the first attempt has failed; the worker waits to retry
        let (discarded, stillLanding) = queue.discardPending { $0.lowercased().contains("zyxcorp") }
        XCTAssertEqual(discarded, 2)
        XCTAssertFalse(stillLanding)
        XCTAssertEqual(queue.waitUntilEmpty(timeout: 10), 0)
        XCTAssertEqual(engine.learned, ["another line"])
    }

    func testTheBoundIsKeptWhileTheHistoryIsBusy() {
        let engine = FlakyEngine(busyFailures: 1_000_000)
        let queue = LearningQueue(engine: engine, capacity: 3, firstRetryDelay: 0.05, longestRetryDelay: 0.05)
        XCTAssertTrue(queue.enqueue("a"))
        XCTAssertTrue(queue.enqueue("b"))
        XCTAssertTrue(queue.enqueue("c"))
        XCTAssertFalse(queue.enqueue("d"), "a full queue says so instead of growing")
        XCTAssertEqual(queue.waitUntilEmpty(timeout: 0.2), 3)
        XCTAssertTrue(queue.isDelayed(moreThan: 0.1))
        XCTAssertEqual(queue.close(), 3)
        XCTAssertTrue(engine.learned.isEmpty)
    }
}
