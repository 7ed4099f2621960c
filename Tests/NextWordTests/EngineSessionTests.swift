import Foundation
import XCTest
@testable import NextWord

/// Typing sessions, the neural document cache, and forgetting that takes effect at once.
final class EngineSessionTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("EngineSessionTests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A field's passed-over words survive another field's typing in between: typing on after
    /// "X" was offered pushes X last in that field, whatever the other field did.
    func testTwoSessionsOnOneEngineDoNotDisturbEachOther() throws {
        let engine = try EngineFixture.engine()
        let context = "We met them in the park and talked about the "
        let a = engine.makeSession(), b = engine.makeSession()
        guard let first = engine.suggest(prefix: context, limit: 1, in: a).first?.text, first.count >= 2 else {
            return XCTFail("expected a next-word suggestion")
        }
        let typed = String(first.prefix(1))
        let offered = engine.suggest(prefix: context + typed, limit: 1, in: a).map(\.text)
        // The other field types something else entirely.
        _ = engine.suggest(prefix: "She said that we sh", limit: 3, in: b)
        _ = engine.suggest(prefix: "She said that we should go home now, because ", limit: 3, in: b)
        let next = context + String(first.prefix(2))
        let afterInterleaving = engine.suggest(prefix: next, limit: 3, in: a).map(\.text)

        // The same typing in one field of a second engine, with no other field.
        let reference = try EngineFixture.engine()
        let alone = reference.makeSession()
        _ = reference.suggest(prefix: context, limit: 1, in: alone)
        _ = reference.suggest(prefix: context + typed, limit: 1, in: alone)
        XCTAssertEqual(afterInterleaving, reference.suggest(prefix: next, limit: 3, in: alone).map(\.text))
        if let word = offered.first, word.hasPrefix(String(first.prefix(2))), afterInterleaving.count > 1 {
            XCTAssertNotEqual(afterInterleaving.first, word, "a word passed over in this field goes last")
        }
    }

    /// The document cache offers a word of the document the model does not know; forgetting it
    /// stops that at once, in every session, though the text still holds it.
    func testForgetTakesEffectAtOnceInTheDocumentCache() throws {
        let engine = try EngineFixture.engine()
        let text = "the zorblatt is nice and the zorblatt is here, the zor"
        let session = engine.makeSession()
        XCTAssertTrue(engine.suggest(prefix: text, limit: 3, in: session).map { $0.text.lowercased() }.contains("zorblatt"))
        XCTAssertTrue(engine.suggest(prefix: text, limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
        try engine.forget(word: "zorblatt")
        XCTAssertFalse(engine.suggest(prefix: text, limit: 3, in: session).map { $0.text.lowercased() }.contains("zorblatt"))
        XCTAssertFalse(engine.suggest(prefix: text + "b", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
        // Committed again, it is the user's again.
        for _ in 0 ..< 2 { try engine.learn("the zorblatt is back") }
        XCTAssertTrue(engine.suggest(prefix: "the zor", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
    }

    /// The document on the screen reads the words of its own addresses: a name first typed in an
    /// e-mail address is offered when it comes back in the same text. Nothing learns it (the line,
    /// committed, holds no piece of the address), so another text is not offered it, and a number
    /// of the same text is still never offered back.
    func testTheDocumentOffersTheNamesOfItsOwnAddressesButNothingLearnsThem() throws {
        let engine = try EngineFixture.engine()
        func offered(_ prefix: String) -> [String] { engine.suggest(prefix: prefix, limit: 3).map { $0.text.lowercased() } }
        let address = "From: richard.zorblatt@quuxcorp.com to the park"
        XCTAssertTrue(offered(address + "\nThanks, Richard Zor").contains("zorblatt"))
        XCTAssertTrue(offered(address + "\nThe quu").contains("quuxcorp"))
        try engine.learn(address)
        try engine.learn(address)
        XCTAssertFalse(LearningPolicy.committedLine(address).words.contains { $0.lower == "zorblatt" || $0.lower == "quuxcorp" })
        XCTAssertFalse(offered("Thanks, Richard Zor").contains("zorblatt"), "learned from an address")
        XCTAssertFalse(offered("call 4111 1111 or 41").contains("4111"), "a number of the text offered back")
        // An address's query can hold a login or a token: only its host and path are read.
        let link = "log in at quuxbank.com/login?user=jzorbsmith&token=kwvtzrq now\n"
        XCTAssertTrue(offered(link + "the quu").contains("quuxbank"))
        XCTAssertFalse(offered(link + "the jz").contains("jzorbsmith"))
        XCTAssertFalse(offered(link + "the kw").contains("kwvtzrq"))
        // After a marker, an address is a secret like any other value.
        XCTAssertFalse(offered("password:https://zorbhost.com/x now\nthe zorb").contains("zorbhost"))
        XCTAssertTrue(offered("see https://zorbhost.com/x now\nthe zorb").contains("zorbhost"))
    }

    /// Learned, forgotten, and still forgotten after a restart, for the history and the
    /// in-memory model alike.
    func testForgetIsEffectiveAtOnceAndAfterARestart() throws {
        let file = directory.appendingPathComponent("history.sqlite")
        do {
            let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
            for _ in 0 ..< 3 { try engine.learn("we saw the zorblatt today") }
            XCTAssertTrue(engine.suggest(prefix: "zorb", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
            try engine.forget(word: "zorblatt")
            XCTAssertFalse(engine.suggest(prefix: "zorb", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
            XCTAssertFalse(engine.suggest(prefix: "we saw the ", limit: 5).map { $0.text.lowercased() }.contains("zorblatt"))
        }
        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file))
        XCTAssertFalse(reopened.suggest(prefix: "zorb", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
    }

    /// Clearing drops what every session remembered, and nothing learned before is offered.
    func testClearHistoryIsEffectiveAtOnce() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: directory.appendingPathComponent("h.sqlite")))
        for _ in 0 ..< 3 { try engine.learn("we saw the zorblatt today") }
        let session = engine.makeSession()
        XCTAssertTrue(engine.suggest(prefix: "zorb", limit: 3, in: session).map { $0.text.lowercased() }.contains("zorblatt"))
        try engine.clearHistory()
        XCTAssertFalse(engine.suggest(prefix: "zorb", limit: 3, in: session).map { $0.text.lowercased() }.contains("zorblatt"))
    }

    /// Incognito: nothing learned, in memory or on disk, while it is on.
    func testIncognitoLearnsNothingInMemoryEither() throws {
        let engine = try EngineFixture.engine()
        engine.incognito = true
        for _ in 0 ..< 3 { try engine.learn("we saw the zorblatt today") }
        XCTAssertFalse(engine.suggest(prefix: "zorb", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
        engine.incognito = false
        XCTAssertFalse(engine.suggest(prefix: "zorb", limit: 3).map { $0.text.lowercased() }.contains("zorblatt"))
    }

    /// Incognito switched on in a running engine: the lines learned before leave the journal
    /// (-wal emptied into the database), so nothing recent lingers beside the file while the
    /// user types in private.
    func testIncognitoBeginsWithAnEmptyJournal() throws {
        let file = directory.appendingPathComponent("history.sqlite")
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        try engine.learn("we saw the zorblatt today")
        func walSize() -> Int { ((try? FileManager.default.attributesOfItem(atPath: file.path + "-wal"))?[.size] as? Int) ?? 0 }
        XCTAssertGreaterThan(walSize(), 0, "the line is in the journal")
        engine.incognito = true
        XCTAssertEqual(walSize(), 0)
        XCTAssertFalse(EngineFixture.fileBytes(file).wal.contains(Data("zorblatt".utf8)))
        engine.incognito = false
        try engine.learn("and the zorblatt again")
        XCTAssertGreaterThan(walSize(), 0, "learning goes on after incognito")
    }

    /// The cache's distribution is the softmax of θ·h·h_i summed per word, as a direct sum gives.
    func testNeuralCacheMatchesADirectComputation() {
        let hidden = 3
        var memory: CacheMemory?
        let items: [([Float], String)] = [([1, 0, 0], "a"), ([0, 1, 0], "b"), ([1, 1, 0], "a"), ([0, 0, 1], "c")]
        for (state, word) in items {
            memory = CacheMemory.appending(memory, states: state, words: [word], hidden: hidden, window: 100)
        }
        let query: [Float] = [0.5, -0.2, 0.9]
        let theta: Float = 0.7
        let result = NeuralCache(window: 100, theta: theta).distribution(query: query, memory: memory)
        var expected: [String: Double] = [:]
        var total = 0.0
        for (state, word) in items {
            let e = exp(Double(theta) * zip(query, state).reduce(0.0) { $0 + Double($1.0 * $1.1) })
            expected[word, default: 0] += e
            total += e
        }
        for (word, value) in expected { XCTAssertEqual(Double(result[word] ?? -1), value / total, accuracy: 1e-6, word) }
        // θ = 0: the share of each word among the remembered positions.
        let uniform = NeuralCache(window: 100, theta: 0).distribution(query: query, memory: memory)
        XCTAssertEqual(uniform["a"] ?? 0, 0.5, accuracy: 1e-6)
        // The window keeps the newest items only.
        let recent = NeuralCache(window: 2, theta: 0).distribution(query: query, memory: memory)
        XCTAssertEqual(Set(recent.keys), ["a", "c"])
        // With a fade, each term also carries exp(−decay · age), age 0 for the newest.
        let decay: Float = 0.3
        let faded = NeuralCache(window: 100, theta: theta, decay: decay).distribution(query: query, memory: memory)
        var fadedExpected: [String: Double] = [:]
        var fadedTotal = 0.0
        for (age, (state, word)) in items.reversed().enumerated() {
            let e = exp(Double(theta) * zip(query, state).reduce(0.0) { $0 + Double($1.0 * $1.1) } - Double(decay) * Double(age))
            fadedExpected[word, default: 0] += e
            fadedTotal += e
        }
        for (word, value) in fadedExpected { XCTAssertEqual(Double(faded[word] ?? -1), value / fadedTotal, accuracy: 1e-6, word) }
        XCTAssertGreaterThan(faded["c"] ?? 0, result["c"] ?? 1, "the newest position gains when the older ones fade")
    }

    /// A long document keeps a bounded memory: compacted to the window, newest items kept in order.
    func testCacheMemoryStaysBounded() {
        var memory: CacheMemory?
        for i in 0 ..< 1000 {
            memory = CacheMemory.appending(memory, states: [Float(i), 0], words: ["w\(i)"], hidden: 2, window: 50)
        }
        XCTAssertLessThanOrEqual(memory?.count ?? 0, 100)
        var newest: [String] = []
        memory?.forEachRecentRun(3) { node, rows in newest += rows.reversed().map { node.words[$0] } }
        XCTAssertEqual(newest, ["w999", "w998", "w997"])
    }
}

/// The self-tuning mixture moves toward the source that predicts the user's words, within bounds.
final class AdaptiveMixtureTests: XCTestCase {
    func testWeightsFollowTheSourceThatPredictsTheUser() {
        let prior = MixingWeights()
        var repeating = AdaptiveMixture(prior: prior), novel = AdaptiveMixture(prior: prior)
        for _ in 0 ..< 300 {
            // The history gave the word most of its probability / almost none.
            repeating.observe(MixtureEvidence(corpus: 0.01, sources: [(.documentCache, 0.01, repeating.cache), (.userHistory, 0.6, repeating.user)]))
            novel.observe(MixtureEvidence(corpus: 0.2, sources: [(.documentCache, 0.01, novel.cache), (.userHistory, 0.0001, novel.user)]))
        }
        XCTAssertGreaterThan(repeating.user, prior.user)
        XCTAssertLessThan(novel.user, prior.user)
        XCTAssertLessThan(novel.cache, prior.cache)
        for mixture in [repeating, novel] {
            XCTAssertTrue(AdaptiveMixture.bounds.contains(mixture.user) && AdaptiveMixture.bounds.contains(mixture.cache))
            XCTAssertLessThanOrEqual(mixture.user + mixture.cache, 0.8 + 1e-6)
            XCTAssertEqual(mixture.observations, 300)
        }
    }

    /// The mixture learns only from committed text, never in incognito.
    func testTheEngineTunesOnlyOnCommit() throws {
        let engine = try EngineFixture.engine()
        let session = engine.makeSession()
        for prefix in ["we talked about the ", "we talked about the plan ", "we talked about the plan and "] {
            _ = engine.suggest(prefix: prefix, limit: 3, in: session)
        }
        XCTAssertTrue(try engine.statsSummary().contains("no history store"), "no store: the summary says so")
        engine.incognito = true
        try engine.learn("we talked about the plan and", from: session)
        engine.incognito = false
        XCTAssertEqual(engine.lock.withLock { engine.mutable.adaptive.observations }, 0)
        for prefix in ["we talked about the ", "we talked about the plan ", "we talked about the plan and "] {
            _ = engine.suggest(prefix: prefix, limit: 3, in: session)
        }
        try engine.learn("we talked about the plan and", from: session)
        XCTAssertEqual(engine.lock.withLock { engine.mutable.adaptive.observations }, 2)
    }
}
