import Foundation
import GRDB
import XCTest
@testable import NextWord

/// Threads that end holding the last reference to a database (as a learning thread holds its
/// engine and history) leave the heap intact. The work runs in a child process: before
/// `DetachedThread` released the work's captures itself, the child died of heap corruption
/// within a few rounds ("tcache_thread_shutdown(): unaligned tcache chunk detected"), as CI's
/// test run once did a test after a learning thread ended.
final class DetachedThreadTests: XCTestCase {
    func testThreadsEndingWithTheLastReferenceToADatabaseKeepTheHeapIntact() throws {
        let directory = try EngineFixture.temporaryDirectory("DetachedThreadTests")
        defer { try? FileManager.default.removeItem(at: directory) }
        let child = try ChildProcess(mode: "thread-exit",
                                     environment: ["NEXTWORD_CHILD_DB": directory.appendingPathComponent("unused.sqlite").path,
                                                   "NEXTWORD_CHILD_ROUNDS": "200"],
                                     errorLog: directory.appendingPathComponent("thread-exit.log"))
        let output = child.remainingLines()
        XCTAssertEqual(child.process.terminationStatus, 0, "\(child.process.terminationReason) \(child.errors.suffix(600))")
        XCTAssertTrue(output.contains("threads 200 ended"), "\(output)")
    }

    /// The child's side: `rounds` threads, each sharing a product with dispatch's workers (so its
    /// cache holds continuations, as a learning thread's does after a bias gradient) and holding
    /// the only reference to a database queue when its work returns.
    static func endThreads(rounds: Int) -> String {
        // The caller's reference ends when this returns, long before the thread's work does.
        func startThread(holding database: DatabaseQueue?, done: DispatchSemaphore) {
            DetachedThread.start {
                DispatchQueue.concurrentPerform(iterations: 4) { part in
                    var sum = 0
                    for k in 0 ..< 20_000 { sum &+= k &* part }
                    _ = sum
                }
                _ = try? database?.read { try Int.fetchOne($0, sql: "SELECT 1") }
                done.signal()
            }
        }
        var ended = 0
        for _ in 0 ..< rounds {
            let done = DispatchSemaphore(value: 0)
            startThread(holding: try? DatabaseQueue(), done: done)
            done.wait()
            ended += 1
        }
        // Idle dispatch workers end after 5 s; the damage, when there is any, shows before.
        Thread.sleep(forTimeInterval: 0.2)
        return "threads \(ended) ended"
    }
}
