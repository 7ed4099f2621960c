import Foundation
import XCTest
@testable import NextWord

/// The keystroke simulator against docs/KSR.md: the conformance table, a hand-worked engine run,
/// learning, truncation and the input rules (BOM, CRLF, invalid bytes, segmentation, case).
final class KeystrokeSimulatorTests: XCTestCase {
    /// The line pair of KSR.md (a space after `42`, then a line break).
    static let linePair = "The cat, the cat sat.\n“the” don't well-known école 42 \n"

    /// Records every call; suggests from a fixed table keyed by the partial word (the context after
    /// its last space or line break), and nothing for partial words not in the table.
    final class FixedPredictor: KeystrokePredictor {
        let table: [String: [String]]
        var log: [String] = []  // "P:<context>|<limit>" for a query, "L:<line>" for learning
        init(_ table: [String: [String]]) { self.table = table }
        func suggestions(for context: String, limit: Int) -> [String] {
            log.append("P:\(context)|\(limit)")
            let partial = context.split(omittingEmptySubsequences: false, whereSeparator: { $0 == " " || $0 == "\n" }).last ?? ""
            return table[String(partial)] ?? []
        }
        func learn(line: String) { log.append("L:\(line)") }
    }

    /// Suggests nothing and records the contexts and the words it is told. Within a word the
    /// context grows by one character per query; between words by at least two (the word's last
    /// character and a literal), which is how a new word is told from a repeated one.
    final class TargetRecorder: TargetAwareKeystrokePredictor {
        var targets: [String] = []
        var contexts: [String] = []
        func suggestions(for context: String, limit: Int) -> [String] { [] }
        func suggestions(for context: String, limit: Int, target: String) -> [String] {
            let sameWord = target == targets.last
                && context.unicodeScalars.count == (contexts.last?.unicodeScalars.count ?? -2) + 1
            if !sameWord { targets.append(target) }
            contexts.append(context)
            return []
        }
        func learn(line: String) {}
    }

    private func assertCounts(_ r: KSRResult, kn: Int, ki: Int, ks: Int, words: Int,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual([r.kn, r.ki, r.ks, r.words], [kn, ki, ks, words], "kn ki ks words", file: file, line: line)
    }

    // MARK: Conformance (KSR.md table)

    func testLinePairOracleMatchesConformanceTable() {
        for text in [Self.linePair, Self.linePair.replacingOccurrences(of: "\n", with: "\r\n")] {
            let r = KeystrokeSimulator().runOracle(text: text)
            assertCounts(r, kn: 55, ki: 8, ks: 10, words: 10)
            XCTAssertEqual(r.predictCalls, 10, "the oracle is asked once per word")
            XCTAssertEqual(KSRReport.twoDecimals(r.ksr), "67.27")
            XCTAssertEqual(r.ksr, 100.0 * 37 / 55, accuracy: 1e-12)
        }
    }

    func testLinePairWordsAreTheTenOfKSRmd() {
        let recorder = TargetRecorder()
        let r = KeystrokeSimulator().run(text: Self.linePair, predictor: recorder)
        XCTAssertEqual(recorder.targets, ["The", "cat", "the", "cat", "sat", "the", "don't", "well-known", "école", "42"])
        // Nothing selected: all 55 characters are typed (no free spaces without a selection).
        assertCounts(r, kn: 55, ki: 55, ks: 0, words: 10)
        XCTAssertEqual(r.predictCalls, 40, "one query per word character, none after the last")
    }

    func testDevTextOracleMatchesConformanceTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = root.appendingPathComponent("../shared/data/dev/ksr-dev.txt").standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else { throw XCTSkip("no \(url.path)") }
        let r = try KeystrokeSimulator().run(contentsOf: url, predictor: OraclePredictor())
        assertCounts(r, kn: 34837, ki: 3372, ks: 5796, words: 5796)
        XCTAssertEqual(KSRReport.twoDecimals(r.ksr), "73.68")
    }

    // MARK: A non-oracle run worked by hand

    func testFixedSuggestionsWorkedByHand() {
        // "the cat sat\non the mat\n": kn = 11 + 1 + 10 + 1 = 23, k = 3.
        //  the: ""  -> [the, a, cat] select                      ks 1, calls 1; next space free
        //  cat: ""  -> select (3rd of 3)                          ks 2, calls 2; next space free
        //  sat: ""  -> no, type s (ki 1); "s" -> [sun, sea, set] ("sat" is 4th, cut by k = 3), type a
        //       (ki 2); "sa" -> [sat] select                      ks 3, calls 5
        //  \n   typed (a line break is never free)                ki 3
        //  on:  ""  -> no, type o (ki 4); "o" -> [] type n (ki 5), no query after the last letter; calls 7
        //  " "  typed: "on" was not selected                      ki 6
        //  the: ""  -> select                                     ks 4, calls 8; next space free
        //  mat: ""  -> no, type m (ki 7); "m" -> [Mat] select (case-insensitive)  ks 5, calls 10
        //  \n   typed                                             ki 8
        // KSR = 100 * (23 - 8 - 5) / 23 = 43.478... -> 43.48
        let predictor = FixedPredictor(["": ["the", "a", "cat"], "s": ["sun", "sea", "set", "sat"],
                                        "sa": ["sat"], "m": ["Mat"]])
        let r = KeystrokeSimulator(k: 3).run(text: "the cat sat\non the mat\n", predictor: predictor)
        assertCounts(r, kn: 23, ki: 8, ks: 5, words: 6)
        XCTAssertEqual(r.predictCalls, 10)
        XCTAssertEqual(KSRReport.twoDecimals(r.ksr), "43.48")
        XCTAssertEqual(predictor.log, ["", "the ", "the cat ", "the cat s", "the cat sa", "the cat sat\n",
                                       "the cat sat\no", "the cat sat\non ", "the cat sat\non the ",
                                       "the cat sat\non the m"].map { "P:\($0)|3" })
        XCTAssertGreaterThanOrEqual(r.meanPredictMs, 0)
    }

    /// `simulate --trace`: one outcome per word, in text order, agreeing with the counts.
    func testTheWordObserverTellsHowEachWordWent() {
        final class Outcomes: @unchecked Sendable { var items: [KeystrokeSimulator.WordOutcome] = [] }
        let outcomes = Outcomes()
        var simulator = KeystrokeSimulator(k: 2)
        simulator.wordObserver = { outcomes.items.append($0) }
        let predictor = FixedPredictor(["": ["the", "a"], "c": ["cat"], "s": ["sun"]])
        let r = simulator.run(text: "the cat sat\n", predictor: predictor)
        XCTAssertEqual(outcomes.items.map(\.word), ["the", "cat", "sat"])
        XCTAssertEqual(outcomes.items.map(\.typedBeforeSelection), [0, 1, nil])
        XCTAssertEqual(outcomes.items[0].firstSuggestions, ["the", "a"])
        XCTAssertEqual(r.ks, outcomes.items.filter { $0.typedBeforeSelection != nil }.count)
    }

    func testKOfOneIgnoresLaterSuggestionsAndZeroNeverQueries() {
        // k = 1: only "the" of [the, a, cat] counts, so "cat" is typed in full after "the ".
        let predictor = FixedPredictor(["": ["the", "a", "cat"]])
        let r = KeystrokeSimulator(k: 1).run(text: "the cat", predictor: predictor)
        // the: selected (ks 1), space free; cat: 3 queries, typed (ki 3). kn 7.
        assertCounts(r, kn: 7, ki: 3, ks: 1, words: 2)
        XCTAssertEqual(predictor.log.first, "P:|1")
        let none = FixedPredictor(["": ["the"]])
        let r0 = KeystrokeSimulator(k: 0).run(text: "the cat", predictor: none)
        assertCounts(r0, kn: 7, ki: 7, ks: 0, words: 2)
        XCTAssertEqual(r0.predictCalls, 0)
        XCTAssertTrue(none.log.isEmpty)
    }

    // MARK: Learning

    func testLearnsOncePerLineBreakWithTheLineAndOnlyWhenEnabled() {
        let text = "ab cd\r\nef\n\ngh"
        let learning = FixedPredictor([:])
        _ = KeystrokeSimulator(learn: true).run(text: text, predictor: learning)
        XCTAssertEqual(learning.log.filter { $0.hasPrefix("L:") }, ["L:ab cd\n", "L:ef\n", "L:\n"])
        // Each line is learned right after its line break, before the next line's first query.
        let firstLearn = learning.log.firstIndex(of: "L:ab cd\n")
        XCTAssertEqual(firstLearn.map { learning.log[$0 - 1] }, "P:ab c|3")
        XCTAssertEqual(firstLearn.map { learning.log[$0 + 1] }, "P:ab cd\n|3")

        let silent = FixedPredictor([:])
        let r = KeystrokeSimulator(learn: false).run(text: text, predictor: silent)
        XCTAssertFalse(silent.log.contains { $0.hasPrefix("L:") })
        XCTAssertFalse(r.learn)
        XCTAssertTrue(KeystrokeSimulator(learn: true).run(text: text, predictor: FixedPredictor([:])).learn)
    }

    // MARK: Truncation

    func testMaxWordsStopsAtTheStartOfTheNextWord() {
        // 2 words: "one two, " is counted (the literals after "two"), "three" is not.
        // Oracle: one selected, space free; two selected; "," and " " typed -> kn 9, ki 2, ks 2.
        let r = KeystrokeSimulator(maxWords: 2).runOracle(text: "one two, three four\n")
        assertCounts(r, kn: 9, ki: 2, ks: 2, words: 2)
        let zero = KeystrokeSimulator(maxWords: 0).runOracle(text: " (one two")
        assertCounts(zero, kn: 2, ki: 2, ks: 0, words: 0)
        let all = KeystrokeSimulator(maxWords: 99).runOracle(text: "one two")
        assertCounts(all, kn: 7, ki: 0, ks: 2, words: 2)
        var seen: [(Int, Int)] = []
        _ = KeystrokeSimulator(maxWords: 2).run(text: "a b c d", predictor: OraclePredictor()) { seen.append(($0, $1)) }
        XCTAssertEqual(seen.map(\.0), [1, 2])
        XCTAssertEqual(seen.map(\.1), [2, 2])
    }

    // MARK: Input rules

    func testByteOrderMarkIsDroppedAndLoneCRKept() {
        let r = KeystrokeSimulator().run(bytes: [0xEF, 0xBB, 0xBF] + Array("hi\n".utf8), predictor: OraclePredictor())
        assertCounts(r, kn: 3, ki: 1, ks: 1, words: 1)
        // A CR not followed by LF is a literal character of its own.
        let cr = KeystrokeSimulator().runOracle(text: "a\rb")
        assertCounts(cr, kn: 3, ki: 1, ks: 2, words: 2)
    }

    func testEachInvalidByteIsOneLiteral() {
        // E2 82 then a space: a truncated 3-byte sequence; the reference gives one U+FFFD per byte
        // (Swift's repairing decoder would give one for both). C0 80 is overlong, ED A0 80 a surrogate.
        let recorder = TargetRecorder()
        let bytes: [UInt8] = [0xE2, 0x82, 0x20, 0x78, 0x20, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0x79, 0xFF]
        let r = KeystrokeSimulator().run(bytes: bytes, predictor: recorder)
        assertCounts(r, kn: 12, ki: 12, ks: 0, words: 2)
        XCTAssertEqual(recorder.contexts, ["\u{FFFD}\u{FFFD} ", "\u{FFFD}\u{FFFD} x \u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"])
        // A valid 4-byte scalar is one character: "😀x" -> kn 2.
        XCTAssertEqual(KeystrokeSimulator().runOracle(text: "\u{1F600}x").kn, 2)
    }

    func testSegmentationJoinersDigitsAndUnicodeLetters() {
        let recorder = TargetRecorder()
        let text = "well-known don't rock'n'roll end- -x it’s 'quoted' a--b 3.14 x2 Ω½ l'été"
        _ = KeystrokeSimulator().run(text: text, predictor: recorder)
        XCTAssertEqual(recorder.targets, ["well-known", "don't", "rock'n'roll", "end", "x", "it’s", "quoted", "a", "b",
                                          "3", "14", "x2", "Ω½", "l'été"])
    }

    func testMatchingUsesSimplePerCharacterLowercase() {
        XCTAssertEqual(KeystrokeDocument.simpleLowercase("\u{130}"), "i", "İ lowercases to i, as u_tolower")
        XCTAssertEqual(KeystrokeDocument.simpleLowercase("É"), "é")
        XCTAssertEqual(KeystrokeDocument.simpleLowercase("ß"), "ß")
        XCTAssertEqual(KeystrokeDocument.simpleLowercase("Σ"), "σ")
        let p = FixedPredictor(["": ["istanbul", "ÉCOLE", "SS"]])
        // İstanbul and école are selected (spaces after them free); ß is not matched by "SS": typed.
        let r = KeystrokeSimulator().run(text: "İstanbul école ß", predictor: p)
        assertCounts(r, kn: 16, ki: 1, ks: 2, words: 3)
    }

    // MARK: Report

    func testReportClosingLines() throws {
        let r = KeystrokeSimulator().runOracle(text: Self.linePair)
        let lines = KSRReport.lines(for: r, order: 3)
        XCTAssertEqual(Array(lines.prefix(4)), ["kn: 55", "ki: 8", "ks: 10", "words: 10"])
        XCTAssertEqual(lines.last, "KSR: 67.27")
        XCTAssertEqual(lines.count, 6)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[4].utf8)) as? [String: Any])
        XCTAssertEqual(json["kn"] as? Int, 55)
        XCTAssertEqual(json["ki"] as? Int, 8)
        XCTAssertEqual(json["ks"] as? Int, 10)
        XCTAssertEqual(json["words"] as? Int, 10)
        XCTAssertEqual(json["k"] as? Int, 3)
        XCTAssertEqual(json["order"] as? Int, 3)
        XCTAssertEqual(json["learn"] as? Bool, false)
        XCTAssertEqual(json["predict_calls"] as? Int, 10)
        XCTAssertNotNil(json["mean_predict_ms"] as? Double)
        let noOrder = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(KSRReport.jsonLine(for: r).utf8)) as? [String: Any])
        XCTAssertTrue(noOrder["order"] is NSNull)
        XCTAssertTrue(KSRReport.text(for: r).hasSuffix("\nKSR: 67.27\n"))
        // Codable uses the same key names and round-trips.
        let encoded = try JSONEncoder().encode(r)
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: encoded) as? [String: Any]).keys
        XCTAssertTrue(keys.contains("predict_calls") && keys.contains("mean_predict_ms") && keys.contains("KSR"))
        XCTAssertEqual(try JSONDecoder().decode(KSRResult.self, from: encoded), r)
        XCTAssertEqual(KSRResult(kn: 0, ki: 0, ks: 0, words: 0, k: 3, learn: false, predictCalls: 0, meanPredictMs: 0).ksr, 0)
    }

    func testUnreadableFileIsATypedError() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ksr-missing-\(UUID().uuidString).txt")
        XCTAssertThrowsError(try KeystrokeSimulator().run(contentsOf: url, predictor: OraclePredictor())) { error in
            guard case .unreadable(let file, _) = error as? KSRError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.path)
        }
    }
}
