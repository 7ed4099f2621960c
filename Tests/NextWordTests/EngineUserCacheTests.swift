import CKernels
import Foundation
import XCTest
@testable import NextWord

/// The user's neural cache (`UserCacheSource`): its distribution against a direct computation in
/// Double, what it remembers of a line, and its part in the history — kept across restarts and per
/// model, written in the line's own transaction, forgotten by lines, erased by clear, never
/// written in incognito.
final class EngineUserCacheTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws { directory = try EngineFixture.temporaryDirectory("UserCache") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func context(after text: String, engine: SuggestionEngine) -> ReadContext {
        let field = engine.makeSession()
        return engine.lock.withLock { engine.contextEntry(for: Array(text.utf8), in: field).context }
    }

    private func positions(_ engine: SuggestionEngine) -> Int { engine.lock.withLock { engine.userCache?.count ?? -1 } }

    /// The positions the user cache makes of `lines`, read on a session of their own.
    private func remembered(_ lines: [String], engine: SuggestionEngine) throws -> [HistoryStore.CachePosition] {
        let cache = try XCTUnwrap(engine.userCache)
        return engine.lock.withLock {
            let reader = InferenceSession(model: engine.bundle.model, weights: engine.resources.inferenceWeights)
            return lines.flatMap {
                cache.positions(of: LineReading(LearningPolicy.committedLine($0), vocabulary: engine.bundle.vocabulary, session: reader))
            }
        }
    }

    /// p(w) ∝ Σ_{i: w_i = w} exp(θ · h · h_i) over `positions`, h_i as stored (fp16), in Double.
    private func directDistribution(_ positions: [HistoryStore.CachePosition], query: ReadContext, theta: Float) -> [String: Double] {
        var sums: [String: Double] = [:]
        for position in positions {
            var state = [Float](repeating: 0, count: position.state.count)
            nw_halves_to_floats(position.state, &state, state.count)
            let dot = zip(query.query, state).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            sums[position.word, default: 0] += exp(Double(theta) * dot)
        }
        let total = sums.values.reduce(0, +)
        return sums.mapValues { $0 / total }
    }

    /// The engine reads each committed line with the user's gate-bias offsets as they stand, and
    /// they move after every line; the direct computation reads with the trained biases, so these
    /// engines adapt the decoder bias only (`dyngate=0`).
    private let trainedGates: MixingWeights = {
        var weights = MixingWeights()
        weights.dynamicGateRate = 0
        return weights
    }()

    func testTheDistributionMatchesADirectComputationInDouble() throws {
        let engine = try EngineFixture.engine(weights: trainedGates)
        let cache = try XCTUnwrap(engine.userCache)
        let lines = ["we met them in the park", "I think the weather is nice", "we met them at home"]
        for line in lines { try engine.learn(line) }
        let remembered = try remembered(lines, engine: engine)
        XCTAssertEqual(remembered.map(\.word), lines.flatMap { $0.lowercased().split(separator: " ").map(String.init) })
        XCTAssertEqual(positions(engine), remembered.count)

        let query = context(after: "we met them in the ", engine: engine)
        guard case .sparse(let distribution) = engine.lock.withLock({ cache.distribution(after: query) }) else {
            return XCTFail("the user cache is a sparse source")
        }
        let expected = directDistribution(remembered, query: query, theta: engine.weights.cacheTheta)
        XCTAssertEqual(Set(distribution.keys), Set(expected.keys))
        for (word, value) in expected {
            XCTAssertEqual(Double(distribution[word] ?? -1), value, accuracy: 1e-5, word)
        }
    }

    /// With a projection LSTM the cache keeps the top layer's output h (P = 5 wide, not the 12
    /// cells): against the direct computation, and across a restart.
    func testAProjectionModelsCacheHoldsItsOutputWidth() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file), weights: trainedGates, projection: 5)
        let lines = ["we met them in the park", "we met them at home"]
        for line in lines { try engine.learn(line) }
        let remembered = try remembered(lines, engine: engine)
        XCTAssertEqual(Set(remembered.map(\.state.count)), [5])
        let query = context(after: "we met them in the ", engine: engine)
        XCTAssertEqual(query.query.count, 5)
        guard case .sparse(let distribution) = engine.lock.withLock({ engine.userCache!.distribution(after: query) }) else {
            return XCTFail("sparse")
        }
        for (word, value) in directDistribution(remembered, query: query, theta: engine.weights.cacheTheta) {
            XCTAssertEqual(Double(distribution[word] ?? -1), value, accuracy: 1e-5, word)
        }
        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file), weights: trainedGates, projection: 5)
        XCTAssertEqual(positions(reopened), remembered.count)
        XCTAssertFalse(reopened.suggest(prefix: "we met them in the ").isEmpty)
    }

    func testItOffersItsMostProbableWordsOnly() throws {
        let engine = try EngineFixture.engine(weights: try MixingWeights(parsing: "newword=1"))
        let cache = try XCTUnwrap(engine.userCache)
        let words = (0 ..< 40).map { "w\(String(UnicodeScalar(UInt8(97 + $0 % 26))))\($0 / 26 == 0 ? "" : "x")" }
        try engine.learn(words.joined(separator: " "))
        let query = context(after: "we met them in the ", engine: engine)
        guard case .sparse(let offered) = engine.lock.withLock({ cache.distribution(after: query) }) else { return XCTFail("sparse") }
        XCTAssertEqual(offered.count, UserCacheSource.offeredWords)
        // The same query with room for every word: what was left out is less probable than what was kept.
        let all = directDistribution(try remembered([words.joined(separator: " ")], engine: engine), query: query,
                                     theta: engine.weights.cacheTheta).mapValues(Float.init)
        XCTAssertEqual(all.count, 40)
        let weakestKept = try XCTUnwrap(offered.values.min())
        for (word, p) in all where offered[word] == nil { XCTAssertLessThanOrEqual(p, weakestKept * 1.0001, word) }
        for (word, p) in offered { XCTAssertEqual(p, all[word] ?? -1, accuracy: 1e-5, "normalised over every position: \(word)") }
    }

    func testARefusedTokenIsReadAsUnknownAndNeverRemembered() throws {
        let engine = try EngineFixture.engine()
        let line = "my card 4111 1111 1111 1111 is in the park"
        try engine.learn(line)
        let words = try remembered([line], engine: engine).map(\.word)
        XCTAssertEqual(words, ["my", "card", "is", "in", "the", "park"])
        XCTAssertEqual(positions(engine), 6)
    }

    func testPositionsSurviveARestartAndBelongToTheirModel() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        try engine.learn("we met them in the park")
        try engine.learn("the park is near the river")
        XCTAssertEqual(positions(engine), 12)
        XCTAssertEqual(engine.history?.cachePositionCount(), 12, "written with the lines")
        let before = context(after: "we met them in the ", engine: engine)
        let expected = engine.lock.withLock { engine.userCache!.distribution(after: before) }

        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file))
        XCTAssertEqual(positions(reopened), 12)
        let after = context(after: "we met them in the ", engine: reopened)
        guard case .sparse(let restored) = reopened.lock.withLock({ reopened.userCache!.distribution(after: after) }),
              case .sparse(let original) = expected else { return XCTFail("sparse") }
        XCTAssertEqual(Set(restored.keys), Set(original.keys))
        for (word, p) in original { XCTAssertEqual(restored[word] ?? -1, p, accuracy: 1e-6, word) }

        // Another model's positions are not used, and its first learned line replaces them.
        let otherFile = directory.appendingPathComponent("other.sqlite")
        let store = try HistoryStore(path: otherFile)
        _ = try store.learnLine(LearningPolicy.committedLine("unused"), at: Date(), positions: HistoryStore.CachePositionWrite(
            positions: [HistoryStore.CachePosition(word: "unused", state: [UInt16](repeating: 0, count: 8))], model: "another-model", capacity: 100))
        let other = try EngineFixture.engine(history: store, weights: try MixingWeights(parsing: "usersize=4"))
        XCTAssertEqual(positions(other), 0, "the rows of another model are not this model's states")
        try other.learn("we met them in the park today")
        XCTAssertEqual(store.cachePositionCount(), 4, "another model's rows went, and the newest `usersize` stay")
        XCTAssertEqual(store.cachePositions(model: other.resources.modelDigest, limit: 10).map(\.position.word), ["in", "the", "park", "today"])
        XCTAssertEqual(positions(other), 4)
    }

    func testAnotherProcesssLinesReachTheCacheAtTheNextLook() throws {
        let first = try EngineFixture.engine(history: try HistoryStore(path: file))
        let second = try EngineFixture.engine(history: try HistoryStore(path: file))
        try first.learn("we met them in the park")
        XCTAssertEqual(positions(second), 0)
        second.refreshHistoryNow()
        XCTAssertEqual(positions(second), 6, "the other engine's line, read from the history")
        try second.learn("the weather is nice")
        first.refreshHistoryNow()
        XCTAssertEqual(positions(first), 10)
    }

    func testForgetRemovesTheLinesThatHeldTheWordAtOnceAndOnDisk() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        try engine.learn("we met zorblatt in the park")
        try engine.learn("the weather is nice")
        XCTAssertEqual(positions(engine), 10)
        engine.forgetInMemory(word: "Zorblatt")
        XCTAssertEqual(positions(engine), 4, "the whole line went from memory at once: its later states read the word")
        try engine.forget(word: "zorblatt")
        XCTAssertEqual(engine.history?.cachePositionCount(), 4)
        XCTAssertFalse(EngineFixture.filesContain(file, "zorblatt"), "nothing of it is left in the file")
        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file))
        XCTAssertEqual(positions(reopened), 4)
    }

    func testClearAndIncognito() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        engine.incognito = true
        try engine.learn("we met them in the park")
        XCTAssertEqual(positions(engine), 0, "incognito teaches it nothing")
        XCTAssertEqual(engine.history?.cachePositionCount(), 0, "and writes nothing")
        engine.incognito = false
        let field = engine.makeSession()
        engine.setIncognito(true, for: field)
        try engine.learn("we met them in the park", from: field)
        XCTAssertEqual(positions(engine), 0, "nor does an incognito field")

        try engine.learn("we met them in the park")
        XCTAssertEqual(positions(engine), 6)
        try engine.clearHistory()
        XCTAssertEqual(positions(engine), 0)
        XCTAssertEqual(engine.history?.cachePositionCount(), 0)
    }

    func testWhatItRemembersRaisesTheWordAfterARestartInAFreshField() throws {
        // Only the user cache learns, so that the history's n-grams cannot be what raises it.
        let weights = try MixingWeights(parsing: "user=0,usercache=0.5")
        let prefix = "we should go to the ", probe = "rive"
        func probability(_ engine: SuggestionEngine) -> Double {
            engine.suggest(prefix: prefix + probe, limit: 20, in: engine.makeSession()).first { $0.text == "river" }?.probability ?? 0
        }
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file), weights: weights)
        let before = probability(engine)
        for _ in 0 ..< 3 { try engine.learn("we should go to the river") }
        let learned = engine.suggest(prefix: prefix, limit: 5, in: engine.makeSession())
        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file), weights: weights)
        let restored = reopened.suggest(prefix: prefix, limit: 5, in: reopened.makeSession())
        XCTAssertEqual(restored.map(\.text), learned.map(\.text), "the same strip after a restart")
        for (a, b) in zip(restored, learned) { XCTAssertEqual(a.probability, b.probability, accuracy: 1e-4) }  // the decoder bias is kept in fp16
        XCTAssertGreaterThan(probability(reopened), before * 1.5, "the remembered word gained: \(before) → \(probability(reopened))")
        XCTAssertTrue(restored.contains { $0.text == "river" && $0.source != .model }, "and is offered from the history: \(restored)")
    }
}
