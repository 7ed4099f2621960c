import XCTest
@testable import NextWord

final class TokenizerTests: XCTestCase {
    private let tokenizer = Tokenizer()

    private func texts(_ text: String, _ tokenizer: Tokenizer = Tokenizer()) -> [String] {
        tokenizer.tokenize(text).map(\.text)
    }

    private func kinds(_ text: String) -> [Token.Kind] {
        tokenizer.tokenize(text).map(\.kind)
    }

    func testContractions() {
        let tokens = tokenizer.tokenize("I can't believe I'm here, don't you?")
        XCTAssertEqual(tokens.map(\.text), ["I", "can't", "believe", "I'm", "here", ",", "don't", "you", "?"])
        XCTAssertEqual(tokens.map(\.kind), [.word, .word, .word, .word, .word, .punctuation, .word, .word, .punctuation])
        XCTAssertEqual(tokens.map(\.spaceBefore), [false, true, true, true, true, false, true, true, false])
        XCTAssertEqual(texts("O'Neill's"), ["O'Neill's"])
        // A joiner must be followed by a letter or digit: `rock` stops at `-'`, `n` at `'-`.
        XCTAssertEqual(texts("rock-'n'-roll"), ["rock", "-", "'", "n", "'", "-", "roll"])
        XCTAssertEqual(kinds("rock-'n'-roll"), [.word, .punctuation, .punctuation, .word, .punctuation, .punctuation, .word])
        XCTAssertEqual(texts("'tis the dogs' bone"), ["'", "tis", "the", "dogs", "'", "bone"])
    }

    func testHyphenatedWords() {
        XCTAssertEqual(texts("a state-of-the-art, well-known e-mail"), ["a", "state-of-the-art", ",", "well-known", "e-mail"])
        XCTAssertEqual(texts("a--b - c-"), ["a", "-", "-", "b", "-", "c", "-"])
        XCTAssertEqual(texts("-5 x-2"), ["-", "5", "x-2"])
        XCTAssertEqual(kinds("-5 x-2"), [.punctuation, .number, .word])
    }

    func testCurlyApostrophes() {
        XCTAssertEqual(texts("don’t I’m"), ["don’t", "I’m"])
        XCTAssertEqual(texts("‘quoted’ text"), ["‘", "quoted", "’", "text"])
        XCTAssertEqual(kinds("‘quoted’"), [.punctuation, .word, .punctuation])
        XCTAssertEqual(Tokenizer.normalizeApostrophes("don’t ’n’ it's"), "don't 'n' it's")
        XCTAssertEqual(Tokenizer.normalizeApostrophes("plain"), "plain")
        // The curly quote carrying a combining mark is still replaced; the mark stays.
        XCTAssertEqual(Tokenizer.normalizeApostrophes("a’\u{301}").unicodeScalars.map(\.value), [0x61, 0x27, 0x301])
    }

    func testNumbers() {
        let tokens = tokenizer.tokenize("42 3.14 1,000 42nd 1,000,000.5 in 1990.")
        XCTAssertEqual(tokens.map(\.text), ["42", "3.14", "1,000", "42nd", "1,000,000.5", "in", "1990", "."])
        XCTAssertEqual(tokens.map(\.kind), [.number, .number, .number, .word, .number, .word, .number, .punctuation])
        // A group that is not digits only is not part of the number.
        XCTAssertEqual(texts("3.5x a,b 7,"), ["3", ".", "5x", "a", ",", "b", "7", ","])
        XCTAssertEqual(kinds("3.5x"), [.number, .punctuation, .word])
        // Digit-only words joined by a hyphen are words (phone numbers, ranges).
        XCTAssertEqual(kinds("555-1234"), [.word])
        // Other scripts' digits are digits too.
        XCTAssertEqual(kinds("٤٢ ४२"), [.number, .number])
    }

    func testPunctuationSplit() {
        let tokens = tokenizer.tokenize("Hello, world!...")
        XCTAssertEqual(tokens.map(\.text), ["Hello", ",", "world", "!", ".", ".", "."])
        XCTAssertEqual(tokens.map(\.spaceBefore), [false, false, true, false, false, false, false])
        XCTAssertEqual(tokens.map(\.kind), [.word, .punctuation, .word, .punctuation, .punctuation, .punctuation, .punctuation])
        XCTAssertEqual(texts("“Yes” (she said) $5 + 2%"), ["“", "Yes", "”", "(", "she", "said", ")", "$", "5", "+", "2", "%"])
        XCTAssertEqual(kinds("“”$+%"), [.punctuation, .punctuation, .symbol, .symbol, .punctuation])
    }

    func testEmojiAreWholeSymbols() {
        let family = "👨\u{200D}👩\u{200D}👧"
        let keycapOne = "1\u{FE0F}\u{20E3}", keycapHash = "#\u{FE0F}\u{20E3}"
        let tokens = tokenizer.tokenize("nice 👍🏽! \(family)family 🇫🇷🇩🇪 \(keycapOne) \(keycapHash)")
        XCTAssertEqual(tokens.map(\.text), ["nice", "👍🏽", "!", family, "family", "🇫🇷", "🇩🇪", keycapOne, keycapHash])
        XCTAssertEqual(tokens.map(\.kind), [.word, .symbol, .punctuation, .symbol, .word, .symbol, .symbol, .symbol, .symbol])
        XCTAssertEqual(tokens[3].text.unicodeScalars.count, 5)
        // A skin-tone modifier right after a word is its own symbol, not lost or glued on.
        XCTAssertEqual(texts("a🏽b"), ["a", "🏽", "b"])
        // An emoji digit after a word does not take the word or a dangling hyphen with it.
        XCTAssertEqual(texts("ab-\(keycapOne)"), ["ab", "-", keycapOne])
    }

    func testNonLatinAndRightToLeft() {
        XCTAssertEqual(texts("Москва, 東京 и Αθήνα"), ["Москва", ",", "東京", "и", "Αθήνα"])
        let hebrew = tokenizer.tokenize("שלום, עולם!")
        XCTAssertEqual(hebrew.map(\.text), ["שלום", ",", "עולם", "!"])
        XCTAssertEqual(hebrew.map(\.kind), [.word, .punctuation, .word, .punctuation])
        // Bidirectional marks and a BOM are invisible: no tokens, no spaces.
        let marked = tokenizer.tokenize("\u{FEFF}\u{200F}القاهرة\u{200E} x")
        XCTAssertEqual(marked.map(\.text), ["القاهرة", "x"])
        XCTAssertEqual(marked.map(\.spaceBefore), [false, true])
    }

    func testCombiningMarks() {
        let decomposed = "e\u{301}cole"
        XCTAssertEqual(texts("une \(decomposed)!"), ["une", decomposed, "!"])
        XCTAssertEqual(tokenizer.tokenize(decomposed).first?.text.unicodeScalars.count, 6)
        // A lone mark (at the start, or after a space) is a symbol of its own.
        let lone = tokenizer.tokenize("\u{301}abc \u{301}")
        XCTAssertEqual(lone.map(\.text), ["\u{301}", "abc", "\u{301}"])
        XCTAssertEqual(lone.map(\.kind), [.symbol, .word, .symbol])
        XCTAssertEqual(lone.map(\.spaceBefore), [false, false, true])
        // A digit with a mark is not a plain number.
        XCTAssertEqual(kinds("1\u{301}"), [.word])
    }

    func testControlCharactersAreSpaces() {
        let tokens = tokenizer.tokenize("a\u{0}b\u{7}c\td\r\ne\u{1B}")
        XCTAssertEqual(tokens.map(\.text), ["a", "b", "c", "d", "e"])
        XCTAssertEqual(tokens.map(\.spaceBefore), [false, true, true, true, true])
        XCTAssertEqual(tokenizer.tokenize(" \n\t"), [])
        XCTAssertEqual(tokenizer.tokenize(""), [])
        XCTAssertEqual(tokenizer.tokenize(" hi").first?.spaceBefore, true)
        // A zero-width space ends a word without being a space.
        XCTAssertEqual(tokenizer.tokenize("a\u{200B}b").map(\.spaceBefore), [false, false])
    }

    func testKSRLinePairWords() {
        // shared/docs/KSR.md: the line pair has exactly these 10 words.
        let text = "The cat, the cat sat.\n“the” don't well-known école 42 \n"
        let words = tokenizer.tokenize(text).filter(\.isWordLike).map(\.text)
        XCTAssertEqual(words, ["The", "cat", "the", "cat", "sat", "the", "don't", "well-known", "école", "42"])
        XCTAssertEqual(words.reduce(0) { $0 + $1.unicodeScalars.count }, 40)
    }

    func testInvalidUTF8Rejected() throws {
        XCTAssertThrowsError(try tokenizer.tokenize(utf8: [0x61, 0x62, 0xFF, 0x63])) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8(offset: 2))
        }
        // Truncated sequence at the end, overlong encoding, encoded surrogate.
        XCTAssertThrowsError(try tokenizer.tokenize(utf8: [0x61, 0xE2, 0x82])) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8(offset: 1))
        }
        XCTAssertThrowsError(try tokenizer.tokenize(utf8: [0x20, 0xC0, 0x80])) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8(offset: 1))
        }
        XCTAssertThrowsError(try tokenizer.tokenize(utf8: [0xED, 0xA0, 0x80]))
        let valid = try tokenizer.tokenize(utf8: Array("héllo, 👍".utf8))
        XCTAssertEqual(valid.map(\.text), ["héllo", ",", "👍"])
        XCTAssertEqual(try tokenizer.tokenize(utf8: [UInt8]()), [])
    }

    func testHugeLinesComplete() {
        let size = 1 << 20
        let letters = String(repeating: "a", count: size)
        let tokens = tokenizer.tokenize(letters)
        XCTAssertEqual(tokens.count, 1)
        XCTAssertEqual(tokens.first?.text.utf8.count, size)
        // One letter carrying a megabyte of combining marks is still one word.
        let zalgo = "a" + String(repeating: "\u{301}", count: size / 2)
        XCTAssertEqual(tokenizer.tokenize(zalgo).count, 1)
        // A megabyte of one non-space symbol run: pretokenized mode keeps it whole.
        let dots = String(repeating: "x.", count: size / 2)
        XCTAssertEqual(Tokenizer(mode: .pretokenized).tokenize(dots).count, 1)
    }

    func testSplitPrefix() {
        var split = tokenizer.split(prefix: "I would li")
        XCTAssertEqual(split.context.map(\.text), ["I", "would"])
        XCTAssertEqual(split.partial, "li")
        split = tokenizer.split(prefix: "I would ")
        XCTAssertEqual(split.context.map(\.text), ["I", "would"])
        XCTAssertEqual(split.partial, "")
        split = tokenizer.split(prefix: "Hello,")
        XCTAssertEqual(split.context.map(\.text), ["Hello", ","])
        XCTAssertEqual(split.partial, "")
        split = tokenizer.split(prefix: "I don'")
        XCTAssertEqual(split.context.map(\.text), ["I"])
        XCTAssertEqual(split.partial, "don'")
        XCTAssertEqual(tokenizer.split(prefix: "don’").partial, "don’")
        XCTAssertEqual(tokenizer.split(prefix: "well-").partial, "well-")
        XCTAssertEqual(tokenizer.split(prefix: "state-of-").partial, "state-of-")
        XCTAssertEqual(tokenizer.split(prefix: "It's 3.1").partial, "3.1")
        // A joiner after a space or after punctuation starts nothing.
        for prefix in ["I said '", "I said -", "it!-", "", "   ", "don'\n", "ok. "] {
            XCTAssertEqual(tokenizer.split(prefix: prefix).partial, "", prefix)
        }
        XCTAssertEqual(tokenizer.split(prefix: "I said '").context.map(\.text), ["I", "said", "'"])
        XCTAssertEqual(tokenizer.split(prefix: "hi\n").context.map(\.text), ["hi"])
    }

    func testPretokenizedMode() {
        let pre = Tokenizer(mode: .pretokenized)
        let line = "the jury said \" no evidence \" of atlanta's <unk> , state-of-the-art ."
        let tokens = pre.tokenize(line)
        XCTAssertEqual(tokens.map(\.text), ["the", "jury", "said", "\"", "no", "evidence", "\"", "of",
                                            "atlanta's", "<unk>", ",", "state-of-the-art", "."])
        XCTAssertTrue(tokens.allSatisfy { $0.kind == .word })
        XCTAssertEqual(pre.tokenize("  a\tb\r\n").map(\.text), ["a", "b"])
        XCTAssertEqual(pre.split(prefix: "of <un").partial, "<un")
        XCTAssertEqual(pre.split(prefix: "of <unk> ").partial, "")
        XCTAssertEqual(pre.modelTokens(line: "The <unk> ’s", lowercase: true), ["the", "<unk>", "'s"])
    }

    func testModelTokensAndJoin() {
        XCTAssertEqual(tokenizer.modelTokens(line: "Don’t STOP, É 👍!", lowercase: true),
                       ["don't", "stop", ",", "é", "👍", "!"])
        XCTAssertEqual(tokenizer.modelTokens(line: "Don’t STOP", lowercase: false), ["Don't", "STOP"])
        let text = "Hello, “world” -- it's 3.14 (ok)!"
        XCTAssertEqual(Tokenizer.join(tokenizer.tokenize(text)), text)
    }
}
