import XCTest
@testable import NextWord

/// What the history refuses to remember: numbers, addresses, secrets, non-words.
final class HistoryLearnabilityTests: XCTestCase {
    func testOrdinaryWordsAreLearnable() {
        for word in ["the", "Paris", "don't", "don\u{2019}t", "well-known", "hunter2", "mp3",
                     "e.g.", "U.S.", "JavaScript", "McDonald's", "internationalization", "naïve", "日本語", "Straße"] {
            XCTAssertTrue(HistoryStore.isLearnable(word), word)
        }
    }

    func testNumbersAndDigitGroupsAreRefused() {
        // Numbers of any length: a PIN, a year and a piece of a card number look alike.
        for word in ["12345", "0123456789", "abc12345", "4242-4242-4242-4242", "555-123-456", "06/12/2024",
                     "12.345.678", "2024", "10", "12-34", "1234", "4\u{301}111", "\u{664}\u{661}\u{661}\u{661}"] {
            XCTAssertFalse(HistoryStore.isLearnable(word), word)
        }
    }

    func testAddressesAreRefused() {
        for word in ["bob@example.com", "a@b", "https://example.org/path", "ftp://host", "www.example",
                     "example.com", "a.b.com", "mail.co.uk", "WWW.Shop.DE", "github.com/x/y", "mybank.com/login?user=j",
                     "example.org:8080", "192.168.1.20", "fe80::1"] {
            XCTAssertFalse(HistoryStore.isLearnable(word), word)
        }
        XCTAssertTrue(HistoryStore.isLearnable("etc."), "a final dot is not a domain")
    }

    func testSecretLookingTokensAreRefused() {
        for word in ["sk_live_4eC39HqLyjWDarjtT1zdp7dc", "abcd1234", "hunter22x", "a1b2c3d4", "HqLyjWDarjtTzdp",
                     "Hello_World_X!"] {
            XCTAssertFalse(HistoryStore.isLearnable(word), word)
        }
        // Seven characters with a digit is still a plausible word or nickname.
        XCTAssertTrue(HistoryStore.isLearnable("hunter2"))
        XCTAssertTrue(HistoryStore.isLearnable("abc1234"))
    }

    func testNonWordsAreRefused() {
        let longest = String(repeating: "a", count: Learnability.maxLength)
        XCTAssertTrue(HistoryStore.isLearnable(longest))
        for word in ["", ".", "—", "!!", "two words", "tab\there", "bell\u{7}", "zero\u{200B}width", longest + "a"] {
            XCTAssertFalse(HistoryStore.isLearnable(word), word.debugDescription)
        }
    }

    func testNumberRunsAcrossTokensAreRefusedAsAWhole() {
        func words(_ tokens: [String]) -> [String] {
            LearnedToken.classify(tokens).compactMap {
                if case .word(let surface, _) = $0 { return surface }
                return nil
            }
        }
        XCTAssertEqual(words(["call", "555", "123", "4567", "now"]), ["call", "now"])
        XCTAssertEqual(words(["pin", "4242", "-", "4242", "ok"]), ["pin", "ok"])
        XCTAssertEqual(words(["iban", "DE89", "3704", "0044"]), ["iban"], "a word with digits beside a number goes with it")
        XCTAssertEqual(words(["an", "mp3", "player"]), ["an", "mp3", "player"])
        XCTAssertEqual(words(["Don\u{2019}t", "x@y.z"]), ["Don't"], "normalized surface; address dropped")
    }

    func testLearnedTokensFormChainsFromTheLineStartThroughPunctuationUpToBreakers() {
        let (words, ngrams) = HistoryStore.extract(LearnedToken.classify(["A", "b", "c", ",", "d", "e"]))
        XCTAssertEqual(words.map(\.surface), ["A", "b", "c", "d", "e"])
        XCTAssertEqual(ngrams.map { "\($0.order):\($0.context)>\($0.word)" },
                       ["2:</s>>a", "2:a>b", "3:</s> a>b", "2:b>c", "3:a b>c", "2:,>d", "3:c ,>d", "2:d>e", "3:, d>e"])
        // A refused token (a number, here) cuts the chain: nothing is learned across it.
        let (_, cut) = HistoryStore.extract(LearnedToken.classify(["pay", "4111", "now", "please"]))
        XCTAssertEqual(cut.map { "\($0.order):\($0.context)>\($0.word)" }, ["2:</s>>pay", "2:now>please"])
        XCTAssertEqual(LearnedToken.classify(["ok", "?!", "\"", "…"]).dropFirst(),
                       [.punctuation("?!"), .punctuation("\""), .punctuation("…")])
        XCTAssertEqual(LearnedToken.classify(["ok", "\u{7}", "----"]).dropFirst(), [.breaker, .breaker],
                       "control characters and long tokens are not punctuation")
    }
}
