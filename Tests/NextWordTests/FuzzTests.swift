import Foundation
import XCTest
@testable import NextWord

/// Thousands of hostile inputs, from a seeded generator, through everything that takes user text:
/// `suggest`, `learn` (on an in-memory history), the tokenizer, the keystroke simulator driving the
/// engine, and the model's token stream with perplexity. Nothing may crash, every answer must be
/// valid, and the whole run stays within a few seconds in a debug build: the engine's work is
/// linear in the input (a 1 MB line included).
final class FuzzTests: XCTestCase {
    /// Builds hostile text. Every kind is drawn many times with random sizes and mixes.
    struct HostileText {
        var generator: SeededGenerator

        static let words = ["the", "we", "met", "them", "NASA", "don't", "I", "park", "<unk>", "</s>", "zyxcorp"]
        static let pieces: [String] = [
            "\u{0}", "\u{1}", "\u{7}", "\u{8}", "\u{1B}[31m", "\u{7F}", "\u{85}", "\u{2028}", "\u{2029}", "\r\n", "\r", "\t",
            "\u{A0}", "\u{3000}", "\u{200B}", "\u{200D}", "\u{FEFF}", "\u{202E}", "\u{202D}", "\u{2066}", "\u{FFFD}", "\u{FFFF}",
            "e\u{301}", "\u{301}", "\u{338}\u{338}", "a\u{36F}\u{36F}\u{36F}\u{36F}\u{36F}",
            "שלום", "مرحبا", "\u{202B}עברית\u{202C}", "日本語", "中文字", "한국어", "हिन्दी", "ไทย", "Ελληνικά", "кириллица",
            "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇫🇷", "😀", "\u{1F600}\u{FE0F}", "#️⃣",
            "...", "?!", "—", "«»", "''", "’", "'", "-", "@", "://", "_", "(", ")", "<", ">", "\\", "\"",
            "4111 1111 1111 1111", "jane@example.com", "https://example.org/x?y=1", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "1e999999", "-0.0", "340282366920938463463374607431768211456", "NaN", "Infinity", "٣٤٥", "Ⅻ", "½",
        ]

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }

        mutating func piece() -> String {
            int(0...2) == 0 ? Self.words[int(0...Self.words.count - 1)] : Self.pieces[int(0...Self.pieces.count - 1)]
        }

        /// One input of kind `kind`: 0-9 as below (up to a few tens of KB), 10 and above a random mix.
        mutating func make(kind: Int) -> String {
            switch kind {
            case 0:  // random bytes, decoded leniently (invalid UTF-8 becomes U+FFFD)
                return String(decoding: (0..<int(0...200)).map { _ in UInt8.random(in: 0...255, using: &generator) }, as: UTF8.self)
            case 1:  // encoded surrogates and overlong forms: always replaced
                let bad: [[UInt8]] = [[0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xFF]]
                var bytes: [UInt8] = []
                for _ in 0..<int(1...20) { bytes += int(0...1) == 0 ? bad[int(0...4)] : Array(piece().utf8) + [0x20] }
                return String(decoding: bytes, as: UTF8.self)
            case 2: return ""
            case 3:  // punctuation and symbols only
                return (0..<int(1...60)).map { _ in ["." , ",", "!", "?", ";", "…", "«", "'", "-", "—", "(", "*"][int(0...11)] }.joined()
            case 4:  // control characters between words
                return (0..<int(1...30)).map { _ in int(0...1) == 0 ? piece() : String(UnicodeScalar(UInt8(int(0...31)))) }.joined()
            case 5:  // stacked combining marks
                return "a" + String(repeating: "\u{301}", count: int(1...500)) + " b\u{308}"
            case 6:  // a very long word
                return "we met " + String(repeating: ["a", "é", "字", "ab1"][int(0...3)], count: int(100...5_000))
            case 7:  // huge numbers
                return "it costs " + String(repeating: "9", count: int(1...5000)) + [" ", ".", ",5", ""][int(0...3)]
            case 8:  // many short tokens
                return String(repeating: ["a ", "I. ", "we met them, ", "- "][int(0...3)], count: int(10...400))
            case 9:  // whitespace only
                return (0..<int(1...50)).map { _ in [" ", "\t", "\n", "\u{A0}", "\u{3000}", "\r\n"][int(0...5)] }.joined()
            default:  // a random mix of everything, with or without spaces
                let separator = ["", " ", "\n"][int(0...2)]
                return (0..<int(1...40)).map { _ in piece() }.joined(separator: separator)
            }
        }
    }

    func testHostileInputsNeverCrashAndAnswersStayValid() throws {
        let store = try HistoryStore.inMemory()
        let engine = try EngineFixture.engine(history: store)
        let bundle = engine.bundle
        let natural = Tokenizer(mode: .natural), pretokenized = Tokenizer(mode: .pretokenized)
        var text = HostileText(generator: SeededGenerator(seed: 20_241_125))
        let started = Date()
        var inputs = 0, simulated = 0, scored = 0

        func check(_ input: String) {
            inputs += 1
            let limit = text.int(-1...5)
            EngineSuggestionTests.assertValid(engine.suggest(prefix: input, limit: limit), prefix: input, limit: limit)
            EngineSuggestionTests.assertValid(engine.suggest(prefix: input + " t", limit: 3), prefix: input + " t", limit: 3)
            XCTAssertNoThrow(try engine.learn(input), String(input.prefix(40)).debugDescription)

            for token in natural.tokenize(input) {
                XCTAssertFalse(token.text.isEmpty)
                XCTAssertFalse(token.text.unicodeScalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control },
                               token.text.debugDescription)
            }
            XCTAssertTrue(pretokenized.tokenize(input).allSatisfy { !$0.text.isEmpty })
            let split = natural.split(prefix: input)
            XCTAssertTrue(input.hasSuffix(split.partial) || split.partial.isEmpty)
            XCTAssertNoThrow(try natural.tokenize(utf8: Array(input.utf8)), "valid UTF-8 always tokenizes strictly")

            let stream = bundle.stream(lines: input.split(whereSeparator: \.isNewline).map(String.init))
            XCTAssertTrue(stream.ids.allSatisfy { $0 >= 0 && Int($0) < bundle.vocabulary.count })
            // Scoring sets up a network pass each time: a sample of the inputs.
            if inputs % 4 == 0, stream.ids.count <= 1_000 {
                let result = Perplexity.negativeLogLikelihood(model: bundle.model, stream: stream.ids)
                XCTAssertTrue(result.nll.isFinite && result.nll >= 0)
                XCTAssertEqual(result.count, max(stream.ids.count - 1, 0))
                scored += 1
            }
            // The simulator asks for suggestions before every character: short inputs only.
            if inputs % 3 == 0, input.unicodeScalars.count <= 60 {
                let result = KeystrokeSimulator(k: 3, learn: text.int(0...1) == 0).run(text: input, predictor: engine)
                XCTAssertLessThanOrEqual(result.ki + result.ks, result.kn)
                XCTAssertLessThanOrEqual(result.ks, result.words)
                XCTAssertTrue((0...100).contains(result.ksr), "\(result.ksr)")
                simulated += 1
            }
        }

        for index in 0..<2_000 {
            check(text.make(kind: index % 14))
            // The user model grows with every hostile line learned, and each keystroke scans it
            // (see the report): start afresh now and then, which also runs clear amid the noise.
            if index % 200 == 199 { XCTAssertNoThrow(try engine.clearHistory()) }
        }

        // Raw bytes, not decoded: the strict reader refuses them with an offset, the simulator
        // counts each bad byte as one literal.
        for _ in 0..<200 {
            let bytes = (0..<text.int(1...100)).map { _ in UInt8.random(in: 0...255, using: &text.generator) }
            if (try? natural.tokenize(utf8: bytes)) == nil {
                XCTAssertThrowsError(try natural.tokenize(utf8: bytes)) { error in
                    guard case TextError.invalidUTF8 = error else { return XCTFail("\(error)") }
                }
            }
            let result = KeystrokeSimulator(k: 3).run(bytes: bytes, predictor: engine)
            XCTAssertLessThanOrEqual(result.ki + result.ks, result.kn)
            inputs += 1
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThan(elapsed, 60, "the fuzz run is meant to take a few seconds")
        print("FuzzTests: \(inputs) hostile inputs (\(simulated) simulated, \(scored) scored) in \(String(format: "%.2f", elapsed)) s")

        // What was learned from all that is still a sound history with learnable words only.
        XCTAssertNil(store.integrityProblem())
        for word in try store.snapshot().words { XCTAssertTrue(HistoryStore.isLearnable(word.text), word.text.debugDescription) }
    }

    func testOneMegabyteLinesAreLinear() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore.inMemory())
        let kinds: [(String, String)] = [
            ("letters without spaces", String(repeating: "abcdefghij", count: 100_000)),
            ("one CJK run", String(repeating: "日本語の文章", count: 60_000)),
            ("punctuation (a token per byte)", String(repeating: ".,;", count: 120_000)),
        ]
        for (label, line) in kinds {
            XCTAssertGreaterThanOrEqual(line.utf8.count, 350_000, label)
            let clock = ContinuousClock()
            var answer: [Suggestion] = []
            let suggesting = clock.measure { answer = engine.suggest(prefix: line, limit: 3) }
            EngineSuggestionTests.assertValid(answer, prefix: line, limit: 3)
            let learning = try clock.measure { try engine.learn(line) }
            print("FuzzTests: \(line.utf8.count / 1000) KB of \(label): suggest \(suggesting), learn \(learning)")
            XCTAssertLessThan(suggesting, .seconds(1), label)
            XCTAssertLessThan(learning, .seconds(15), label)
        }
        // Linear, not quadratic: four times the text takes about four times as long to learn
        // (16 times would be quadratic; the bound leaves room for a busy machine).
        func learnTime(_ characters: Int) throws -> Duration {
            let line = String(repeating: "日本語の文章", count: characters / 6)
            return try ContinuousClock().measure { try engine.learn(line) }
        }
        let quarter = try learnTime(60_000), whole = try learnTime(240_000)
        XCTAssertLessThan(whole / quarter, 9, "learning time grows faster than the input: \(quarter) → \(whole)")

        // A megabyte of ordinary words: the keystroke reads a bounded tail.
        let document = String(repeating: "we met them in the park ", count: 45_000)
        let clock = ContinuousClock()
        var answer: [Suggestion] = []
        let suggesting = clock.measure { answer = engine.suggest(prefix: document + "th", limit: 3) }
        EngineSuggestionTests.assertValid(answer, prefix: document, limit: 3)
        XCTAssertFalse(answer.isEmpty)
        XCTAssertLessThan(suggesting, .seconds(1))
    }
}
