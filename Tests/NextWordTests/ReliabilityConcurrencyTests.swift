import Foundation
import GRDB
import XCTest
@testable import NextWord

/// Several writers on one history file at once — stores on threads of this process and child
/// processes — lose no update and never surface "database is locked"; readers keep answering
/// while they write.
final class ReliabilityConcurrencyTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("ReliabilityConcurrencyTests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testThreadsAndProcessesLoseNoUpdate() throws {
        let lines = 60
        let file = self.file
        try HistoryStore(path: file).close()  // the schema exists before the race starts
        let children = try (1...2).map { writer in
            try ChildProcess(mode: "write",
                             environment: ["NEXTWORD_CHILD_DB": file.path, "NEXTWORD_CHILD_WRITER": "\(writer)",
                                           "NEXTWORD_CHILD_LINES": "\(lines)"],
                             errorLog: directory.appendingPathComponent("writer-\(writer).log"))
        }
        // Three writers on threads here (each its own store, as separate apps would have), and
        // one reader that keeps querying while they write.
        let threadErrors = Locked<[String]>([])
        let readerAnswers = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            if index == 3 {
                let reader: HistoryStore
                do {
                    reader = try HistoryStore(path: file, readOnly: true)
                } catch {
                    return threadErrors.update { $0.append("reader could not open: \(error)") }
                }
                for _ in 0..<100 {
                    if reader.changeToken() < 0 { threadErrors.update { $0.append("reader failed") } }
                    _ = reader.completions(prefix: "mk", limit: 5)
                    readerAnswers.update { $0 += 1 }
                }
                return
            }
            let (written, errors) = ReliabilityChildTests.write(file: file, writer: 3 + index, lines: lines)
            threadErrors.update { $0 += errors }
            if written != lines { threadErrors.update { $0.append("thread writer \(3 + index) wrote \(written)") } }
        }
        for (number, child) in children.enumerated() {
            let output = child.remainingLines()
            XCTAssertEqual(child.process.terminationReason, .exit, child.errors)
            XCTAssertTrue(output.contains("wrote \(lines) errors 0"), "child \(number + 1): \(output) \(child.errors)")
            XCTAssertFalse(output.contains { $0.hasPrefix("error") }, "\(output)")
        }
        XCTAssertEqual(threadErrors.get(), [])
        XCTAssertEqual(readerAnswers.get(), 100)

        let store = try HistoryStore(path: file)
        XCTAssertEqual(Marker.present(in: store, writers: 1...5, lines: lines), 5 * lines, "lost lines")
        // The shared words were incremented by every line of every writer: no lost update.
        XCTAssertEqual(store.wordCount(lower: "together").map(\.count), [5 * lines])
        XCTAssertEqual(store.wordCount(lower: "line").map(\.count), [5 * lines])
        XCTAssertEqual(store.continuations(context: ["together"], limit: 1000).count, 5 * lines,
                       "one bigram per marker")
        XCTAssertNil(store.integrityProblem())
    }

    func testProcessesCreatingTheHistoryAtOnceAllSucceed() throws {
        let file = self.file
        let children = try (1...4).map { writer in
            try ChildProcess(mode: "write",
                             environment: ["NEXTWORD_CHILD_DB": file.path, "NEXTWORD_CHILD_WRITER": "\(writer)",
                                           "NEXTWORD_CHILD_LINES": "5"],
                             errorLog: directory.appendingPathComponent("creator-\(writer).log"))
        }
        for child in children {
            let output = child.remainingLines()
            XCTAssertTrue(output.contains("wrote 5 errors 0"), "\(output) \(child.errors)")
        }
        XCTAssertEqual(try HistoryStore(path: file).wordCount(lower: "together").map(\.count), [20])
    }

    func testAHistoryBeingCreatedElsewhereIsNotForeign() throws {
        // The schema migrator commits its empty bookkeeping table before the first migration: a
        // process opening the file at that moment must not call it another application's.
        let queue = try DatabaseQueue(path: file.path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        }
        try queue.close()
        let store = try HistoryStore(path: file)
        try store.learn(tokens: ["works"])
        XCTAssertEqual(store.totalWordCount(), 1)
        try store.close()

        // Another GRDB application's database, with migrations applied, is still foreign.
        let other = directory.appendingPathComponent("other.sqlite")
        let app = try DatabaseQueue(path: other.path)
        try app.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1');
                """)
        }
        try app.close()
        XCTAssertThrowsError(try HistoryStore(path: other)) { error in
            guard case HistoryError.foreign = error else { return XCTFail("\(error)") }
        }
    }

    func testOpeningASecondStoreKeepsTheFirstStoresLocks() throws {
        // Two stores on one file in this process (a keyboard engine and a history command, say),
        // and another process that learns and closes. Closing any descriptor of the file drops all
        // of this process's POSIX locks on it; if opening the second store did that, the other
        // process would believe it was the last user, checkpoint and delete the WAL under us.
        let first = try HistoryStore(path: file)
        try first.learn(tokens: ["first", "store"])
        let second = try HistoryStore(path: file)
        try second.learn(tokens: ["second", "store"])
        let child = try ChildProcess(mode: "write",
                                     environment: ["NEXTWORD_CHILD_DB": file.path, "NEXTWORD_CHILD_WRITER": "1",
                                                   "NEXTWORD_CHILD_LINES": "3"],
                                     errorLog: directory.appendingPathComponent("writer.log"))
        let output = child.remainingLines()
        XCTAssertTrue(output.contains("wrote 3 errors 0"), "\(output) \(child.errors)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: file.path + "-wal"),
                      "the other process deleted the WAL while this one still had the file open")
        try first.learn(tokens: ["first", "again"])
        try second.learn(tokens: ["second", "again"])
        XCTAssertEqual(first.wordCount(lower: "store").map(\.count), [2])
        XCTAssertEqual(second.wordCount(lower: "again").map(\.count), [2])
        XCTAssertEqual(first.wordCount(lower: "together").map(\.count), [3])
        XCTAssertNil(first.integrityProblem())
        try second.close()
        try first.close()
        let reopened = try HistoryStore(path: file)
        XCTAssertEqual(reopened.totalWordCount(), 4 + 4 + 9)
        XCTAssertNil(reopened.integrityProblem())
    }

    func testKeystrokesDoNotWaitForAHistoryWriteThatWaits() throws {
        // Another process holds the history's write lock (a long transaction, a VACUUM). The
        // engine's learn must wait for it; suggestions for the next keystrokes must not.
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        try engine.learn("we met them")
        let other = try DatabaseQueue(path: file.path)
        let locked = DispatchSemaphore(value: 0)
        DetachedThread.start {
            try? other.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.signal()
                Thread.sleep(forTimeInterval: 1.5)
                try db.execute(sql: "COMMIT")
            }
        }
        locked.wait()
        let learned = DispatchSemaphore(value: 0)
        let learnError = Locked<String?>(nil)
        DetachedThread.start {
            do { try engine.learn("we walked to the river") } catch { learnError.update { $0 = "\(error)" } }
            learned.signal()
        }
        Thread.sleep(forTimeInterval: 0.2)  // the learner is now waiting for the write lock
        let clock = ContinuousClock()
        var answer: [Suggestion] = []
        let elapsed = clock.measure { answer = engine.suggest(prefix: "we met th", limit: 3) }
        XCTAssertLessThan(elapsed, .milliseconds(500), "a keystroke waited for the history's write lock")
        XCTAssertFalse(answer.isEmpty)
        learned.wait()
        XCTAssertNil(learnError.get())
        XCTAssertEqual(engine.history?.wordCount(lower: "walked").map(\.count), [1])
        XCTAssertEqual(engine.suggest(prefix: "to the ri", limit: 3).first { $0.text == "river" }?.source, .both)
        try other.close()
    }

    func testEnginesOnThreadsShareOneFile() throws {
        // Two engines, as two keyboards would be, learning at once on one file: the store counts
        // every line, and each engine ends up knowing the other's words.
        let engines = try (0..<2).map { _ in try EngineFixture.engine(history: try HistoryStore(path: file)) }
        let errors = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let name = ["quillon", "vextera"][index]
            for round in 0..<15 {
                do {
                    try engines[index].learn("we met \(name) again")
                } catch {
                    errors.update { $0.append("\(error)") }
                }
                _ = engines[index].suggest(prefix: "we met \(round % 2 == 0 ? "q" : "v")", limit: 3)
            }
        }
        XCTAssertEqual(errors.get(), [])
        let store = try XCTUnwrap(engines[0].history)
        XCTAssertEqual(store.wordCount(lower: "again").map(\.count), [30])
        XCTAssertEqual(store.wordCount(lower: "met").map(\.count), [30])
        for engine in engines {
            engine.refreshHistoryNow()
            XCTAssertEqual(engine.suggest(prefix: "we met qu", limit: 1).first?.text, "quillon")
            XCTAssertEqual(engine.suggest(prefix: "we met ve", limit: 1).first?.text, "vextera")
        }
    }
}
