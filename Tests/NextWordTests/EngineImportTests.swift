import Foundation
import XCTest
@testable import NextWord

/// `SuggestionEngine.importText`: the user's own files through the one learning pipeline — the
/// history's words and n-grams for every line, the user cache and the decoder bias for the last
/// lines, kept across a restart, nothing in incognito, nothing refused remembered.
final class EngineImportTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws { directory = try EngineFixture.temporaryDirectory("Import") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private let notes = """
        we met them in the park and talked about the plan
        the report from NASA was long, we read it at home
        my card 4111 1111 1111 1111 is in the park
        we met them at the river today
        """

    private func adaptedLines(_ engine: SuggestionEngine) -> Int { engine.lock.withLock { engine.languageModel.adaptation?.lines ?? 0 } }
    private func positions(_ engine: SuggestionEngine) -> Int { engine.lock.withLock { engine.userCache?.count ?? -1 } }

    func testAnImportTeachesTheHistoryTheUserCacheAndTheBiasAndSurvivesARestart() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        let river = try XCTUnwrap(engine.bundle.vocabulary.id("river"))
        func lstm() -> Float {
            engine.lock.withLock { engine.languageModel.session.probabilities(after: engine.languageModel.session.initialState())[river] }
        }
        let before = lstm()
        let result = try engine.importText(notes)
        XCTAssertEqual(result.count.lines, 4)
        XCTAssertEqual(result.adaptedLines, 4)
        XCTAssertEqual(adaptedLines(engine), 4, "the decoder bias took a step per line")
        // Learnable words only: the card number's groups are read as <unk> and never remembered.
        let remembered = engine.lock.withLock { engine.userCache!.rememberedWords }
        XCTAssertFalse(remembered.contains { $0.contains("4111") || $0.contains("1111") })
        XCTAssertEqual(positions(engine), remembered.count)
        XCTAssertGreaterThan(positions(engine), 20)
        XCTAssertEqual(engine.history?.cachePositionCount(), positions(engine), "written to the history")
        XCTAssertTrue(engine.lock.withLock { !engine.userHistory.model.isEmpty }, "the user model reloaded from the store")
        XCTAssertGreaterThan(lstm(), before, "the decoder bias lifted a word of the import")

        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file))
        XCTAssertEqual(positions(reopened), positions(engine))
        XCTAssertEqual(adaptedLines(reopened), 4)
    }

    func testOnlyTheLastLinesAreReadByTheModel() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        let many = (0 ..< SuggestionEngine.importAdaptationLines + 30).map { "we met them in the park \($0 % 2 == 0 ? "today" : "now")" }
        let result = try engine.importText(many.joined(separator: "\n"))
        XCTAssertEqual(result.count.lines, many.count)
        XCTAssertEqual(result.adaptedLines, SuggestionEngine.importAdaptationLines)
        XCTAssertEqual(adaptedLines(engine), SuggestionEngine.importAdaptationLines)
        XCTAssertEqual(positions(engine), engine.weights.userCacheSize, "the cache keeps its newest positions")
    }

    func testWithoutAStoreTheUserModelLearnsEveryLineInMemory() throws {
        let engine = try EngineFixture.engine()
        let result = try engine.importText(notes)
        XCTAssertEqual(result.count.lines, 4)
        XCTAssertTrue(engine.lock.withLock { !engine.userHistory.model.isEmpty })
        XCTAssertGreaterThan(positions(engine), 0)
    }

    func testIncognitoImportsNothing() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file), incognito: true)
        let result = try engine.importText(notes)
        XCTAssertEqual(result, SuggestionEngine.ImportResult())
        XCTAssertEqual(positions(engine), 0)
        XCTAssertEqual(engine.history?.cachePositionCount(), 0)
        XCTAssertEqual(engine.history?.stats().words, 0)
    }
}
