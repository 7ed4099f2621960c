import Foundation
import GRDB
import XCTest
@testable import NextWord

/// The history file on disk: location, permissions, sharing between stores, privacy of `clear`,
/// and recognising newer, damaged, foreign and read-only files.
final class HistoryFileTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("HistoryFileTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `history clear` on a full disk (found from outside: it erased nothing): when the clear in
    /// place fails and the disk has less free space than the file, the history's own files are
    /// deleted; a foreign file or a link is never deleted, and with room on the disk the error
    /// stands. (A real full disk, a 2 MB tmpfs, was checked by hand: 696 KB freed.)
    func testAFullDiskClearDeletesTheHistorysOwnFilesOnly() throws {
        let store = try HistoryStore(path: file)
        try store.learn(tokens: ["the", "zorblatt", "report", "is", "late"])
        try store.close()
        struct DiskFull: Error {}
        let failing: (URL) throws -> Void = { _ in throw DiskFull() }
        // Room on the disk: the clear's error stands and nothing is deleted.
        XCTAssertThrowsError(try HistoryStore.clearFiles(at: file, freeSpace: { _ in 1 << 30 }, clearInPlace: failing))
        XCTAssertTrue(EngineFixture.filesContain(file, "zorblatt"))

        let outcome = try HistoryStore.clearFiles(at: file, freeSpace: { _ in 0 }, clearInPlace: failing)
        guard case .deletedFiles(let freed) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertGreaterThan(freed, 0)
        for suffix in ["", "-wal", "-shm", ".clearing"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: file.path + suffix), suffix)
        }
        XCTAssertEqual(try HistoryStore(path: file).stats().words, 0, "a new history starts")

        // Not ours: a foreign file at the path, or our file with its -wal a link, stays byte for byte.
        let foreign = directory.appendingPathComponent("notes.sqlite")
        try Data("my own notes".utf8).write(to: foreign)
        XCTAssertThrowsError(try HistoryStore.clearFiles(at: foreign, freeSpace: { _ in 0 }, clearInPlace: failing))
        XCTAssertEqual(try Data(contentsOf: foreign), Data("my own notes".utf8))
        let linked = directory.appendingPathComponent("linked.sqlite")
        let again = try HistoryStore(path: linked)
        try again.learn(tokens: ["zorblatt"])
        try again.close()
        try? FileManager.default.removeItem(atPath: linked.path + "-wal")
        try FileManager.default.createSymbolicLink(atPath: linked.path + "-wal", withDestinationPath: foreign.path)
        XCTAssertThrowsError(try HistoryStore.clearFiles(at: linked, freeSpace: { _ in 0 }, clearInPlace: failing))
        XCTAssertTrue(FileManager.default.fileExists(atPath: linked.path), "nothing deleted when one file is a link")
        XCTAssertEqual(try Data(contentsOf: foreign), Data("my own notes".utf8))
    }

    /// The adaptation records are committed without an fsync (derived data); the writer must be
    /// back at synchronous = FULL for the next line, or lines would lose their durability.
    func testDerivedRecordsLeaveLinesDurable() throws {
        let store = try HistoryStore(path: file)
        func level() throws -> Int? {
            try store.connections.writerConnection(path: store.displayPath).writeWithoutTransaction {
                try Int.fetchOne($0, sql: "PRAGMA synchronous")
            }
        }
        XCTAssertEqual(try level(), 2, "FULL")
        try store.saveAdaptationRecords([.mixture: Data("{}".utf8)], model: "m")
        XCTAssertEqual(try level(), 2, "FULL again after the records")
        XCTAssertEqual(store.adaptationRecords(.mixture)["m"], Data("{}".utf8))
    }

    func testDefaultPathFollowsEnvironment() {
        XCTAssertEqual(HistoryStore.defaultPath(environment: ["NEXTWORD_HISTORY": "/x/h.db", "XDG_DATA_HOME": "/d"]).path,
                       "/x/h.db")
        XCTAssertEqual(HistoryStore.defaultPath(environment: ["XDG_DATA_HOME": "/d", "HOME": "/home/u"]).path,
                       "/d/nextword/history.sqlite")
        XCTAssertEqual(HistoryStore.defaultPath(environment: ["XDG_DATA_HOME": "relative", "HOME": "/home/u"]).path,
                       "/home/u/.local/share/nextword/history.sqlite", "a relative XDG_DATA_HOME is ignored")
        XCTAssertEqual(HistoryStore.defaultPath(environment: ["HOME": "/home/u"]).path,
                       "/home/u/.local/share/nextword/history.sqlite")
    }

    func testCreatesPrivateDirectoriesAndFiles() throws {
        let nested = directory.appendingPathComponent("a/b/history.sqlite")
        let store = try HistoryStore(path: nested)
        try store.learn(tokens: ["private", "words"])
        XCTAssertEqual(try mode(directory.appendingPathComponent("a")), 0o700)
        XCTAssertEqual(try mode(directory.appendingPathComponent("a/b")), 0o700)
        XCTAssertEqual(try mode(nested), 0o600)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: nested.path + suffix) {
            XCTAssertEqual(try mode(URL(fileURLWithPath: nested.path + suffix)), 0o600, suffix)
        }
        XCTAssertEqual(store.stats().path, nested)
        XCTAssertGreaterThan(store.stats().fileSize, 0)
    }

    func testTooOpenFileIsMadePrivate() throws {
        try HistoryStore(path: file).close()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let store = try HistoryStore(path: file)
        XCTAssertEqual(try mode(file), 0o600)
        try store.learn(tokens: ["still", "works"])
        XCTAssertEqual(store.totalWordCount(), 2)
    }

    func testTwoStoresOnOneFileSeeEachOther() throws {
        let first = try HistoryStore(path: file)
        let second = try HistoryStore(path: file)
        let tokenBefore = second.changeToken()
        try first.learn(tokens: ["shared", "line"])
        XCTAssertEqual(second.wordCount(lower: "shared").map(\.count), [1])
        XCTAssertNotEqual(second.changeToken(), tokenBefore)
        XCTAssertEqual(second.changeToken(), first.changeToken())

        // Concurrent writers wait for each other (busy timeout) instead of failing.
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let store = index == 0 ? first : second
            for _ in 0..<15 {
                do { try store.learn(tokens: ["busy", "writer\(index)"]) } catch {
                    failures.update { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.get(), [])
        XCTAssertEqual(first.wordCount(lower: "busy").map(\.count), [30])
        XCTAssertEqual(first.continuations(context: ["busy"], limit: 5).map(\.count), [15, 15])
    }

    func testClearLeavesNoLearnedTextInFileOrWAL() throws {
        let store = try HistoryStore(path: file)
        for _ in 0..<20 { try store.learn(tokens: ["zyxwvut", "marker"]) }
        XCTAssertTrue(try bytesOnDisk().contains("zyxwvut"), "precondition: the text is on disk before clear")
        try store.clear()
        XCTAssertFalse(try bytesOnDisk().contains("zyxwvut"))
        XCTAssertEqual(store.totalWordCount(), 0)
        XCTAssertEqual(store.stats().ngrams, 0)
        try store.learn(tokens: ["after", "clear"])
        XCTAssertEqual(store.totalWordCount(), 2)
    }

    func testForgetLeavesNoTraceOfTheWordOnDisk() throws {
        let store = try HistoryStore(path: file)
        for index in 0..<20 { try store.learn(tokens: ["my", "Qwxyzzy", "code", "word\(index)"]) }
        XCTAssertTrue(try bytesOnDisk().contains("qwxyzzy"), "precondition: the word is on disk")
        // The word row, my→qwxyzzy, "</s> my"→qwxyzzy (a line's start is context), qwxyzzy→code,
        // "my qwxyzzy"→code, and 20 "qwxyzzy code"→wordN.
        XCTAssertEqual(try store.forget(word: "qwxyzzy"), 1 + 4 + 20)
        let bytes = try bytesOnDisk()
        XCTAssertFalse(bytes.contains("qwxyzzy"))
        XCTAssertFalse(bytes.contains("Qwxyzzy"))
        XCTAssertTrue(bytes.contains("word19"), "the rest of the history is still there")
    }

    func testOpeningAndQueryingNeverWrites() throws {
        let learner = try HistoryStore(path: file)
        try learner.learn(tokens: ["some", "history", "here"])
        try learner.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path + "-wal"), "closing checkpointed the WAL")
        let before = try Data(contentsOf: file)

        let reader = try HistoryStore(path: file)
        XCTAssertEqual(reader.wordCount(lower: "some").count, 1)
        _ = reader.completions(prefix: "h", limit: 5)
        _ = reader.continuations(context: ["some", "history"], limit: 5)
        _ = reader.totalWordCount()
        _ = reader.changeToken()
        _ = try reader.snapshot()
        _ = try reader.export()
        _ = reader.stats()
        XCTAssertNil(reader.integrityProblem())
        XCTAssertFalse(reader.connections.hasWriter, "queries never open the writer")
        try reader.close()
        XCTAssertEqual(try Data(contentsOf: file), before)
    }

    func testNewerVersionIsReadButNeverWritten() throws {
        let future = HistorySchema.migrator(extra: [("v99-future", { db in try db.execute(sql: "CREATE TABLE future(x)") })])
        let newer = try HistoryStore(path: file, readOnly: false, migrator: future)
        try newer.learn(tokens: ["from", "the", "future"])
        try newer.close()

        XCTAssertThrowsError(try HistoryStore(path: file)) { error in
            XCTAssertEqual(error as? HistoryError, .newerVersion(path: file.path, unknownMigrations: ["v99-future"]))
        }
        let (store, note) = try HistoryStore.openOrRecover(path: file)
        XCTAssertEqual(note?.kind, .openedReadOnly)
        XCTAssertTrue(note?.message.contains("newer") ?? false)
        XCTAssertTrue(store.isReadOnly)
        XCTAssertEqual(store.wordCount(lower: "future").map(\.count), [1], "still readable")
        XCTAssertThrowsError(try store.learn(tokens: ["no"])) { error in
            guard case HistoryError.newerVersion = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.clear())
        XCTAssertEqual(store.totalWordCount(), 3)
    }

    /// Random bytes are not recognisably a NextWord history: refused, and left byte for byte as
    /// they were (only our own damaged files are ever moved aside).
    func testRandomBytesAreRefusedAndLeftUntouched() throws {
        var generator = SeededGenerator(seed: 7)
        let garbage = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try garbage.write(to: file)
        XCTAssertThrowsError(try HistoryStore(path: file)) { error in
            guard case HistoryError.corrupt(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file.path)
        }
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: file)) { error in
            guard case HistoryError.foreign(let path, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file.path)
            XCTAssertTrue(problem.contains("left untouched"), problem)
        }
        XCTAssertEqual(try Data(contentsOf: file), garbage)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(names.filter { $0.contains("damaged") }, [], "nothing moved aside")
    }

    /// `--history README.md`: a text file named as the history is never replaced by a database.
    func testATextFileNamedAsTheHistoryIsLeftByteIdentical() throws {
        let readme = directory.appendingPathComponent("README.md")
        let text = Data("# Read me\n\nNot a database.\n".utf8)
        try text.write(to: readme)
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: readme))
        XCTAssertEqual(try Data(contentsOf: readme), text)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["README.md"])
    }

    /// A history path that is a symbolic link is refused: the target keeps its bytes and its mode.
    func testSymbolicLinksAreNeverFollowed() throws {
        let victim = directory.appendingPathComponent("victim.txt")
        try Data("private notes\n".utf8).write(to: victim)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: victim.path)
        try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: victim.path)
        XCTAssertThrowsError(try HistoryStore(path: file)) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: file))
        let attributes = try FileManager.default.attributesOfItem(atPath: victim.path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o644, "the target's mode is not changed")
        XCTAssertEqual(try Data(contentsOf: victim), Data("private notes\n".utf8))
        // A link to an empty file gets no database written into it either.
        let empty = directory.appendingPathComponent("empty")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        let link = directory.appendingPathComponent("link.sqlite")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: empty.path)
        XCTAssertThrowsError(try HistoryStore(path: link))
        XCTAssertEqual(try Data(contentsOf: empty).count, 0)
    }

    /// chmod 400 then 600: the -wal/-shm SQLite left at 0400 get the owner's bits back, and learning works.
    func testLearningWorksAgainAfterAReadOnlyPeriod() throws {
        do {
            let store = try HistoryStore(path: file)
            try store.learn(tokens: ["before", "the", "pause"])
        }
        for path in [file.path, file.path + "-wal", file.path + "-shm"] where FileManager.default.fileExists(atPath: path) {
            try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        let store = try HistoryStore(path: file)
        try store.learn(tokens: ["after", "the", "pause"])
        XCTAssertEqual(store.wordCount(lower: "after").map(\.count), [1])
        for path in [file.path + "-wal", file.path + "-shm"] where FileManager.default.fileExists(atPath: path) {
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, path)
        }
    }

    /// An engine on an unusable history (here a link) goes on suggesting, and says why.
    func testAnEngineOnALinkedHistorySuggestsWithoutIt() throws {
        let model = directory.appendingPathComponent("model")
        try EngineFixture.writeModelDirectory(at: model)
        try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: directory.appendingPathComponent("nowhere").path)
        let (engine, notes) = try SuggestionEngine.open(.init(modelDirectory: model, historyPath: file))
        XCTAssertNil(engine.history)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes.first?.contains("symbolic link") ?? false, "\(notes)")
        XCTAssertFalse(engine.suggest(prefix: "I think the ", limit: 3).isEmpty)
    }

    /// NextWord's own folder is made private again if someone opened it up.
    func testAnOpenedUpHistoryFolderIsMadePrivate() throws {
        let folder = directory.appendingPathComponent("nextword")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: folder.path)
        _ = try HistoryStore(path: folder.appendingPathComponent("history.sqlite"))
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o700)
    }

    func testTruncatedDatabaseIsRecovered() throws {
        let store = try HistoryStore(path: file)
        for line in 0..<40 { try store.learn(tokens: (0..<10).map { "word\(line)x\($0)" }) }
        try store.close()
        let fullSize = try Data(contentsOf: file).count
        XCTAssertGreaterThan(fullSize, 8 * 4096, "precondition: a multi-page database")
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: UInt64(fullSize / 2))
        try handle.close()

        XCTAssertThrowsError(try HistoryStore(path: file)) { error in
            guard case HistoryError.corrupt(_, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.contains("truncated"), problem)
        }
        let (recovered, note) = try HistoryStore.openOrRecover(path: file)
        guard case .movedAside(let damaged)? = note?.kind else { return XCTFail("\(String(describing: note))") }
        XCTAssertEqual(try Data(contentsOf: damaged).count, fullSize / 2)
        XCTAssertTrue(damaged.lastPathComponent.hasPrefix("history.sqlite.damaged-"))
        XCTAssertEqual(recovered.totalWordCount(), 0)
        try recovered.learn(tokens: ["works"])
        XCTAssertEqual(recovered.totalWordCount(), 1)
    }

    func testDamagedPagesAreFoundByQuickCheck() throws {
        let store = try HistoryStore(path: file)
        for line in 0..<40 { try store.learn(tokens: (0..<10).map { "word\(line)x\($0)" }) }
        try store.close()
        // Overwrite the last three pages (learned rows). The header and schema pages stay intact,
        // so a plain open succeeds: only `quick_check` in openOrRecover notices.
        let size = try Data(contentsOf: file).count
        let handle = try FileHandle(forWritingTo: file)
        try handle.seek(toOffset: UInt64(size - 3 * 4096))
        try handle.write(contentsOf: Data(repeating: 0x5A, count: 3 * 4096))
        try handle.close()
        let plain = try HistoryStore(path: file)
        XCTAssertNotNil(plain.integrityProblem())
        try plain.close()

        let (recovered, note) = try HistoryStore.openOrRecover(path: file)
        guard case .movedAside = note?.kind else { return XCTFail("\(String(describing: note))") }
        XCTAssertEqual(recovered.totalWordCount(), 0)
    }

    func testForeignDatabaseIsRecognisedAndLeftAlone() throws {
        let queue = try DatabaseQueue(path: file.path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE contacts(name TEXT); INSERT INTO contacts VALUES ('x')") }
        try queue.close()
        let before = try Data(contentsOf: file)
        XCTAssertThrowsError(try HistoryStore(path: file)) { error in
            guard case HistoryError.foreign(_, let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.contains("contacts"), problem)
        }
        XCTAssertThrowsError(try HistoryStore.openOrRecover(path: file)) { error in
            guard case HistoryError.foreign = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: file), before)

        let other = directory.appendingPathComponent("tagged.sqlite")
        let tagged = try DatabaseQueue(path: other.path)
        try tagged.write { db in try db.execute(sql: "PRAGMA application_id = 42") }
        try tagged.close()
        XCTAssertThrowsError(try HistoryStore(path: other)) { error in
            guard case HistoryError.foreign = error else { return XCTFail("\(error)") }
        }
    }

    func testReadOnlyFileOpensReadOnlyWithANote() throws {
        let learner = try HistoryStore(path: file)
        try learner.learn(tokens: ["kept", "words"])
        try learner.close()
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: file.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path) }

        XCTAssertThrowsError(try HistoryStore(path: file)) { error in
            guard case HistoryError.readOnly = error else { return XCTFail("\(error)") }
        }
        let (store, note) = try HistoryStore.openOrRecover(path: file)
        XCTAssertEqual(note?.kind, .openedReadOnly)
        XCTAssertTrue(store.isReadOnly)
        XCTAssertEqual(store.wordCount(lower: "kept").map(\.count), [1])
        XCTAssertThrowsError(try store.learn(tokens: ["more"])) { error in
            guard case HistoryError.readOnly(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file.path)
        }
        XCTAssertThrowsError(try store.forget(word: "kept"))
        XCTAssertEqual(store.totalWordCount(), 2)
    }

    func testReadOnlyOpenOfMissingOrEmptyFile() throws {
        XCTAssertThrowsError(try HistoryStore(path: file, readOnly: true)) { error in
            XCTAssertEqual(error as? HistoryError, .notFound(path: file.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path), "a read-only open creates nothing")

        // An empty file has no schema yet: a read-only store answers empty and creates none.
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: nil))
        let store = try HistoryStore(path: file, readOnly: true)
        XCTAssertEqual(store.completions(prefix: "", limit: 5).count, 0)
        XCTAssertEqual(try store.snapshot().words.count, 0)
        XCTAssertEqual(try HistoryExport.decode(store.export()).words.count, 0)
        XCTAssertThrowsError(try store.learn(tokens: ["x"])) { error in
            XCTAssertEqual(error as? HistoryError, .readOnly(path: file.path, reason: "opened read-only"))
        }
        try store.close()
        XCTAssertEqual(try Data(contentsOf: file).count, 0)
    }

    // MARK: - Helpers

    private func mode(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// The database file and its WAL, as one byte string for searching.
    private func bytesOnDisk() throws -> Data {
        var data = try Data(contentsOf: file)
        if let wal = try? Data(contentsOf: URL(fileURLWithPath: file.path + "-wal")) { data.append(wal) }
        return data
    }
}

private extension Data {
    func contains(_ text: String) -> Bool {
        range(of: Data(text.utf8)) != nil
    }
}
