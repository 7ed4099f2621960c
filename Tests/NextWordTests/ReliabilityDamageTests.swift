import Foundation
import GRDB
import XCTest
@testable import NextWord

/// Damaged files met by `SuggestionEngine.open`: a damaged history gives a working engine, a note
/// saying what happened and the damaged file kept; a history that must not be written opens
/// read-only with a note; another application's file is refused untouched. Damaged, mismatched
/// and hostile model directories give typed errors naming the file, never a crash.
final class ReliabilityDamageTests: XCTestCase {
    private var directory: URL!
    private var modelDirectory: URL { directory.appendingPathComponent("model") }
    private var history: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("ReliabilityDamageTests")
        try EngineFixture.writeModelDirectory(at: modelDirectory)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: history.path)
        try? FileManager.default.removeItem(at: directory)
    }

    private func open() throws -> (engine: SuggestionEngine, notes: [String]) {
        try SuggestionEngine.open(.init(modelDirectory: modelDirectory, historyPath: history))
    }

    /// A history holding "kept words" (twice) and more rows, closed.
    private func writeHistory(extraLines: Int = 0) throws {
        let store = try HistoryStore(path: history)
        for _ in 0..<2 { try store.learn(tokens: ["kept", "words"]) }
        for line in 0..<extraLines { try store.learn(tokens: (0..<10).map { Marker.word(writer: line, line: $0) }) }
        try store.close()
    }

    /// The files beside the history whose names start with `history.sqlite.damaged-`.
    private func damagedCopies() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("history.sqlite.damaged-") && !$0.hasSuffix("-wal") && !$0.hasSuffix("-shm") }
            .map { directory.appendingPathComponent($0) }
    }

    /// The engine opened on a damaged file: one note naming the problem and the kept copy, which
    /// holds the damaged bytes; the engine learns into a fresh file.
    private func assertRecovered(from damaged: Data, problem: String, line: UInt = #line) throws {
        let (engine, notes) = try open()
        XCTAssertEqual(notes.count, 1, "\(notes)", line: line)
        let note = notes.first ?? ""
        XCTAssertTrue(note.contains("damaged") && note.contains(problem), note, line: line)
        let copies = try damagedCopies()
        XCTAssertEqual(copies.count, 1, line: line)
        if let copy = copies.first {
            XCTAssertTrue(note.contains(copy.path), "the note says where the damaged file is: \(note)", line: line)
            XCTAssertEqual(try Data(contentsOf: copy), damaged, "the damaged file is kept as it was", line: line)
        }
        XCTAssertEqual(engine.history?.totalWordCount(), 0, line: line)
        XCTAssertEqual(engine.history?.isReadOnly, false, line: line)
        for _ in 0..<2 { try engine.learn("we met zorblat today") }
        XCTAssertEqual(engine.suggest(prefix: "we met zo", limit: 1).first?.text, "zorblat", line: line)
        XCTAssertEqual(engine.history?.wordCount(lower: "zorblat").map(\.count), [2], line: line)
    }

    func testRandomBytesInsteadOfAHistory() throws {
        var generator = SeededGenerator(seed: 99)
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try garbage.write(to: history)
        // Not recognisably ours: refused, never moved aside or replaced.
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: history))
        XCTAssertEqual(try Data(contentsOf: history), garbage)
    }

    func testTruncatedHistory() throws {
        try writeHistory(extraLines: 40)
        let full = try Data(contentsOf: history)
        let half = full.prefix(full.count / 2)
        try half.write(to: history)
        try assertRecovered(from: Data(half), problem: "truncated")
    }

    func testHistoryWithDamagedPages() throws {
        try writeHistory(extraLines: 40)
        var bytes = try Data(contentsOf: history)
        bytes.replaceSubrange((bytes.count - 2 * 4096)..., with: Data(repeating: 0xA5, count: 2 * 4096))
        try bytes.write(to: history)
        try assertRecovered(from: bytes, problem: "malformed")
    }

    func testGarbageWALNextToAGoodHistory() throws {
        // SQLite ignores a WAL whose header and checksums do not match: the history is intact.
        try writeHistory()
        var generator = SeededGenerator(seed: 5)
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
            .write(to: URL(fileURLWithPath: history.path + "-wal"))
        let (engine, notes) = try open()
        XCTAssertEqual(notes, [])
        XCTAssertEqual(engine.history?.wordCount(lower: "kept").map(\.count), [2])
        try engine.learn("still learning")
        XCTAssertNil(engine.history?.integrityProblem())
    }

    func testEmptyFileIsANewHistory() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: history.path, contents: Data()))
        let (engine, notes) = try open()
        XCTAssertEqual(notes, [])
        try engine.learn("first words")
        XCTAssertEqual(engine.history?.totalWordCount(), 2)
    }

    func testReadOnlyHistoryOpensReadOnlyAndIsNeverWritten() throws {
        try writeHistory()
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: history.path)
        let before = EngineFixture.fileBytes(history)
        let (engine, notes) = try open()
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.contains("read-only") ?? false, "\(notes)")
        XCTAssertTrue(notes.first?.contains(history.path) ?? false, "\(notes)")
        XCTAssertEqual(engine.history?.isReadOnly, true)
        XCTAssertEqual(engine.suggest(prefix: "we kept wo", limit: 3).first?.text, "words", "the history is still used")
        // Learning keeps working for this session, in memory only; the file is not touched.
        for _ in 0..<2 { try engine.learn("we met zorblat today") }
        XCTAssertEqual(engine.suggest(prefix: "we met zo", limit: 1).first?.text, "zorblat")
        XCTAssertEqual(EngineFixture.fileBytes(history).main, before.main)
        XCTAssertTrue(try damagedCopies().isEmpty)
    }

    func testHistoryOfANewerVersionIsReadOnly() throws {
        let future = HistorySchema.migrator(extra: [("v99-future", { db in try db.execute(sql: "CREATE TABLE future(x)") })])
        let newer = try HistoryStore(path: history, readOnly: false, migrator: future)
        for _ in 0..<2 { try newer.learn(tokens: ["kept", "words"]) }
        try newer.close()
        let before = EngineFixture.fileBytes(history)

        let (engine, notes) = try open()
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.contains("newer NextWord") ?? false, "\(notes)")
        XCTAssertEqual(engine.history?.isReadOnly, true)
        XCTAssertEqual(engine.suggest(prefix: "we kept wo", limit: 3).first?.text, "words")
        try engine.learn("we met zorblat today")
        XCTAssertThrowsError(try engine.forget(word: "kept")) { error in
            guard case HistoryError.newerVersion = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(EngineFixture.fileBytes(history).main, before.main, "a newer version's file is never written")
    }

    func testAnotherApplicationsDatabaseIsRefusedUntouched() throws {
        let queue = try DatabaseQueue(path: history.path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('ann')") }
        try queue.close()
        let before = try Data(contentsOf: history)
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: history)) { error in
            guard case HistoryError.foreign(let path, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, history.path)
            XCTAssertTrue(problem.contains("contacts"), problem)
            XCTAssertTrue("\(error)".contains("not a NextWord history"), "\(error)")
        }
        // The engine refuses it in one line and goes on suggesting without a history.
        let (engine, notes) = try open()
        XCTAssertNil(engine.history)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].contains(history.path) && notes[0].contains("not a NextWord history"), "\(notes)")
        XCTAssertEqual(try Data(contentsOf: history), before)
        XCTAssertTrue(try damagedCopies().isEmpty, "another application's file is never moved")
    }

    func testADirectoryWhereTheHistoryShouldBe() throws {
        try FileManager.default.createDirectory(at: history, withIntermediateDirectories: true)
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: history)) { error in
            XCTAssertTrue(error is HistoryError, "\(error)")
            XCTAssertTrue("\(error)".contains(history.path), "\(error)")
        }
        let (engine, notes) = try open()
        XCTAssertNil(engine.history)
        XCTAssertTrue(notes.first?.contains(history.path) ?? false, "\(notes)")
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: history.path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}
