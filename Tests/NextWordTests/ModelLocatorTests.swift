import XCTest
@testable import NextWord

final class ModelLocatorTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("locator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private func makeModel(at directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: directory.appendingPathComponent(Checkpoint.configFileName))
    }

    func testFindsTheCheckoutsModelFromASubfolder() throws {
        let model = root.appendingPathComponent("models/default")
        try makeModel(at: model)
        let deep = root.appendingPathComponent("Sources/NextWord/Engine")
        let found = try ModelLocator.locateDefault(environment: [:], executable: URL(fileURLWithPath: "/nonexistent/bin/nextword"),
                                                   workingDirectory: deep)
        XCTAssertEqual(found.standardized.path, model.standardized.path)
    }

    func testFindsTheModelInstalledBesideTheExecutable() throws {
        let model = root.appendingPathComponent("share/nextword/models/default")
        try makeModel(at: model)
        let executable = root.appendingPathComponent("bin/nextword")
        let found = try ModelLocator.locateDefault(environment: [:], executable: executable,
                                                   workingDirectory: URL(fileURLWithPath: "/"))
        XCTAssertEqual(found.standardized.path, model.standardized.path)
    }

    /// Found from outside: `simulate --model models/default` scored 1 point below the same model
    /// found by default, because the relative path lost the repository's lexicon.
    func testAModelNamedByARelativePathKeepsTheRepositorysLexicon() throws {
        let model = root.appendingPathComponent("models/mine")
        try makeModel(at: model)
        let lexicon = root.appendingPathComponent("vocab/mine-lexicon.tsv")
        try FileManager.default.createDirectory(at: lexicon.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("word\t3\n".utf8).write(to: lexicon)
        let relative = URL(fileURLWithPath: "models/mine", relativeTo: URL(fileURLWithPath: root.path, isDirectory: true))
        let found = EngineResources.lexiconURL(directory: relative, vocabularyFile: "mine.txt")
        XCTAssertEqual(found?.standardized.path, lexicon.standardized.path)
    }

    func testEnvironmentWinsAndNothingFoundIsAClearError() throws {
        let named = root.appendingPathComponent("elsewhere")
        let found = try ModelLocator.locateDefault(environment: ["NEXTWORD_MODEL": named.path],
                                                   executable: URL(fileURLWithPath: "/nonexistent/nextword"),
                                                   workingDirectory: root)
        XCTAssertEqual(found.path, named.path, "an explicit choice is never replaced by another model")
        XCTAssertThrowsError(try ModelLocator.locateDefault(environment: [:], executable: URL(fileURLWithPath: "/nonexistent/nextword"),
                                                            workingDirectory: root)) { error in
            guard case ModelError.notFound(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("NEXTWORD_MODEL") && !message.contains("--model"), message)
        }
    }
}

/// The executable's real location, whatever argv[0] says: an install found by name on $PATH.
final class ExecutablePathTests: XCTestCase {
    func testTheExecutableIsFoundFromTheSystemNotFromArgv0() throws {
        let path = ExecutablePath.current()
        XCTAssertTrue(path.path.hasPrefix("/"), path.path)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: path.path), path.path)
        #if os(Linux)
        let resolved = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        XCTAssertEqual(path.path, resolved)
        #endif
    }

    func testLibraryErrorsAreLocalizedAndNameNoCLIFlag() {
        let error: Error = ModelError.notFound("no default model found (looked in /x)")
        XCTAssertEqual(error.localizedDescription, "no default model found (looked in /x)")
        XCTAssertThrowsError(try ModelLocator.locateDefault(environment: [:], executable: URL(fileURLWithPath: "/nonexistent/bin/nextword"),
                                                            workingDirectory: URL(fileURLWithPath: "/"))) { error in
            XCTAssertFalse(error.localizedDescription.contains("--model"), error.localizedDescription)
            XCTAssertFalse(error.localizedDescription.contains("error 1"), error.localizedDescription)
        }
    }
}
