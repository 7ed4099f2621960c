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

    func testEnvironmentWinsAndNothingFoundIsAClearError() throws {
        let named = root.appendingPathComponent("elsewhere")
        let found = try ModelLocator.locateDefault(environment: ["NEXTWORD_MODEL": named.path],
                                                   executable: URL(fileURLWithPath: "/nonexistent/nextword"),
                                                   workingDirectory: root)
        XCTAssertEqual(found.path, named.path, "an explicit choice is never replaced by another model")
        XCTAssertThrowsError(try ModelLocator.locateDefault(environment: [:], executable: URL(fileURLWithPath: "/nonexistent/nextword"),
                                                            workingDirectory: root)) { error in
            guard case ModelError.notFound(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("--model"), message)
        }
    }
}
