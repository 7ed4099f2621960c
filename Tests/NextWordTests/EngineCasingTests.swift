import Foundation
import XCTest
@testable import NextWord

/// How suggestions are written: capitals at a sentence start, the usual form of a word ("I",
/// "NASA", "Paris", the user's own "Zyxcorp"), capitals the user typed kept, and the user's
/// apostrophe kept. The model is lowercase, so every capital here comes from the casing rules.
final class EngineCasingTests: XCTestCase {
    private var engine: SuggestionEngine!

    override func setUpWithError() throws {
        engine = try EngineFixture.engine(history: try HistoryStore.inMemory())
    }

    /// Every suggestion the engine can make here (the whole vocabulary is small).
    private func all(_ prefix: String) -> [String] {
        engine.suggest(prefix: prefix, limit: 500).map(\.text)
    }

    func testSentenceStartIsCapitalised() {
        for prefix in ["", "Hello. ", "It is late! ", "Is it? ", "one line\n", "We met them.\n\n"] {
            let words = all(prefix)
            XCTAssertGreaterThan(words.count, 20, prefix.debugDescription)
            for word in words {
                XCTAssertTrue(word.first?.isUppercase ?? false, "\(prefix.debugDescription) → \(word)")
            }
        }
    }

    func testMidSentenceWordsKeepTheirUsualForm() {
        let words = all("we met them and ")
        XCTAssertTrue(words.contains("the"), "ordinary words stay lowercase")
        XCTAssertTrue(words.contains("I"), "i is written I (lexicon)")
        XCTAssertFalse(words.contains("i"))
        XCTAssertTrue(words.contains("NASA"))
        XCTAssertTrue(words.contains("Paris"))
        XCTAssertTrue(words.contains("London"))
        XCTAssertTrue(words.contains("I'll"))
        XCTAssertFalse(words.contains("nasa") || words.contains("paris") || words.contains("i'll"))
        // A comma does not start a sentence; an abbreviation-free "." does.
        XCTAssertTrue(all("so, ").contains("the"))
        XCTAssertFalse(all("so. ").contains("the"))
    }

    func testTypedCapitalsAreKept() throws {
        let th = engine.suggest(prefix: "so Th", limit: 5).map(\.text)
        XCTAssertTrue(th.contains("The"), "\(th)")
        XCTAssertFalse(th.isEmpty)
        for word in th { XCTAssertTrue(word.hasPrefix("Th"), "\(th)") }

        let na = engine.suggest(prefix: "so NA", limit: 5).map(\.text)
        XCTAssertTrue(na.contains("NASA"), "\(na)")
        for word in na { XCTAssertEqual(word, word.uppercased(), "all capitals typed → all capitals: \(na)") }
        XCTAssertTrue(na.contains("NAP") || na.contains("NAPPING"), "\(na)")

        // One capital typed in lowercase context: only the first letter.
        let pa = engine.suggest(prefix: "we met Pa", limit: 5).map(\.text)
        XCTAssertTrue(pa.contains("Paris"), "\(pa)")
        XCTAssertTrue(pa.contains("Park"), "\(pa)")

        // Lowercase typed at a sentence start still becomes a capital; a lowercase word in the
        // middle of a sentence that the user typed in lowercase stays lowercase.
        XCTAssertTrue(engine.suggest(prefix: "Hello. th", limit: 5).map(\.text).contains("The"))
        XCTAssertTrue(engine.suggest(prefix: "we met th", limit: 5).map(\.text).contains("the"))
    }

    func testCurlyApostropheIsKept() {
        let curly = engine.suggest(prefix: "we don\u{2019}", limit: 5).map(\.text)
        XCTAssertTrue(curly.contains("don\u{2019}t"), "\(curly)")
        XCTAssertFalse(curly.contains("don't"))
        let straight = engine.suggest(prefix: "we don'", limit: 5).map(\.text)
        XCTAssertTrue(straight.contains("don't"), "\(straight)")

        let ill = engine.suggest(prefix: "then i\u{2019}", limit: 5).map(\.text)
        XCTAssertTrue(ill.contains("I\u{2019}ll"), "lexicon casing and the typed apostrophe together: \(ill)")
    }

    /// Before the word's own apostrophe, suggestions follow the last one the user typed in the
    /// field: a user whose text has `’` is offered `don’t` from "d" on, and can accept it.
    func testApostropheStyleFollowsTheContext() {
        let curly = all("we don\u{2019}t know. then i ")
        XCTAssertTrue(curly.contains("I\u{2019}ll"), "\(curly.prefix(40))")
        XCTAssertFalse(curly.contains("I'll"))
        XCTAssertTrue(engine.suggest(prefix: "we don\u{2019}t know and we do", limit: 5).map(\.text).contains("don\u{2019}t"))
        // The last apostrophe decides, and the word's own typed apostrophe wins over it.
        XCTAssertTrue(all("we don\u{2019}t know, we can't, then i ").contains("I'll"))
        XCTAssertTrue(engine.suggest(prefix: "we don\u{2019}t know and we don'", limit: 5).map(\.text).contains("don't"))
        // A closing quote after a word is not an apostrophe in a word: the style stays straight.
        XCTAssertTrue(all("we said \u{2018}hello\u{2019} then i ").contains("I'll"))
        XCTAssertTrue(all("we met them and ").contains("I'll"))
    }

    func testTheUsersOwnCasingWins() throws {
        for _ in 0..<2 { try engine.learn("we love Zyxcorp products") }
        let words = engine.suggest(prefix: "we love zy", limit: 3).map(\.text)
        XCTAssertEqual(words.first, "Zyxcorp", "learned as Zyxcorp, shown so even when typed in lowercase")

        // The user writes "paris" in lowercase more often than the corpus form: the user wins.
        for _ in 0..<3 { try engine.learn("off to paris soon") }
        XCTAssertTrue(engine.suggest(prefix: "off to pa", limit: 3).map(\.text).contains("paris"))
    }

    /// The typed letters' capitals from bytes (ASCII) and from Unicode's properties agree.
    func testCapitalsOfTypedLettersMatchUnicodeProperties() {
        for typed in ["", "t", "T", "th", "Th", "TH", "NA", "N-A", "don'", "DON'", "McD", "3D", "x2", "É", "ÉC", "éc", "Éc", "ΑΒ", "αΒ"] {
            let letters = typed.filter(\.isLetter)
            let expected = (letters.contains(where: \.isUppercase), letters.count >= 2 && letters.allSatisfy(\.isUppercase))
            let found = Casing.capitals(in: typed)
            XCTAssertTrue(found.any == expected.0 && found.all == expected.1, "\(typed): \(found) vs \(expected)")
        }
    }
}
