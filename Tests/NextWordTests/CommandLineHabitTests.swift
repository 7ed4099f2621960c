import Foundation
import XCTest
@testable import NextWord

/// What a command line gets when it names the wrong thing (found from outside: a directory gave
/// "NSCocoaErrorDomain error 256", `--model README.md` gave "README.md/config.json: file not
/// found", `eval -` read a file named "-").
final class CommandLineHabitTests: XCTestCase {
    func testADirectoryOrAMissingFileIsOneLineNamingIt() throws {
        let directory = try EngineFixture.temporaryDirectory("Habits")
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try TextFile.lines(contentsOf: directory)) { error in
            XCTAssertEqual(error.localizedDescription, "\(directory.path): is a directory, not a text file")
        }
        let missing = directory.appendingPathComponent("nope.txt")
        XCTAssertThrowsError(try TextFile.lines(contentsOf: missing)) { error in
            XCTAssertEqual(error.localizedDescription, "\(missing.path): no such file")
        }
        XCTAssertThrowsError(try KeystrokeSimulator(k: 3).run(contentsOf: directory, predictor: OraclePredictor())) { error in
            XCTAssertTrue(error.localizedDescription.contains("is a directory"), error.localizedDescription)
            XCTAssertFalse(error.localizedDescription.contains("NSCocoaErrorDomain"))
        }
    }

    func testAFileNamedAsAModelDirectoryIsSaidToBeOne() throws {
        let directory = try EngineFixture.temporaryDirectory("HabitsModel")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("README.md")
        try "# not a model".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint.readConfig(from: file)) { error in
            XCTAssertTrue(error.localizedDescription.contains("is a file, not a model directory"), error.localizedDescription)
        }
        XCTAssertThrowsError(try Checkpoint.readConfig(from: directory.appendingPathComponent("absent"))) { error in
            XCTAssertTrue(error.localizedDescription.contains("no such model directory"), error.localizedDescription)
        }
    }

    func testDashMeansTheStandardStreams() {
        XCTAssertEqual(TextFile.input("-"), TextFile.standardInput)
        XCTAssertEqual(TextFile.output("-"), TextFile.standardOutput)
        XCTAssertEqual(TextFile.input("x.txt").lastPathComponent, "x.txt")
        XCTAssertEqual(TextFile.input("./-").lastPathComponent, "-", "a file really named - is reachable as ./-")
        XCTAssertNotEqual(TextFile.input("./-"), TextFile.standardInput)
    }
}
