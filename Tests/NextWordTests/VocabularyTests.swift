import Foundation
import XCTest
@testable import NextWord

final class VocabularyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("VocabularyTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func file(_ name: String, _ text: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Asserts `body` throws a `TextError.vocabulary` whose description contains every fragment.
    private func assertVocabularyError(_ fragments: [String], line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case .vocabulary = error as? TextError else {
                return XCTFail("expected TextError.vocabulary, got \(error)", line: line)
            }
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)", line: line)
            }
        }
    }

    func testBuildOrdersByCountThenScalarOrder() {
        let counts = ["the": 5, "cat": 3, "bat": 3, "Zebra": 3, "é": 3, "dog": 1,
                      "<unk>": 100, "</s>": 50, "a b": 9, "": 4]
        let vocabulary = Vocabulary.build(counts: counts)
        // Specials first; ties in scalar order put "Z" (U+005A) before "b" and "é" (U+00E9) last.
        XCTAssertEqual(vocabulary.words, ["<unk>", "</s>", "the", "Zebra", "bat", "cat", "é", "dog"])
        XCTAssertEqual(vocabulary.unknownID, 0)
        XCTAssertEqual(vocabulary.endOfSentenceID, 1)
        XCTAssertEqual(vocabulary.count, 8)
        XCTAssertEqual(vocabulary.id("cat"), 5)
        XCTAssertNil(vocabulary.id("a b"))
        XCTAssertEqual(vocabulary.idOrUnknown("unseen"), 0)
        XCTAssertEqual(vocabulary.idOrUnknown("dog"), 7)
        XCTAssertEqual(vocabulary.word(2), "the")
        XCTAssertNil(vocabulary.word(8))
        XCTAssertNil(vocabulary.word(-1))
        // Canonically equivalent spellings are one word.
        XCTAssertEqual(vocabulary.id("e\u{301}"), 6)

        XCTAssertEqual(Vocabulary.build(counts: counts, minCount: 3).words.last, "é")
        XCTAssertEqual(Vocabulary.build(counts: counts, minCount: 4).words, ["<unk>", "</s>", "the"])
        XCTAssertEqual(Vocabulary.build(counts: counts, maxSize: 4).words, ["<unk>", "</s>", "the", "Zebra"])
        XCTAssertEqual(Vocabulary.build(counts: counts, maxSize: 0).words, ["<unk>", "</s>"])
        XCTAssertEqual(Vocabulary.build(counts: [:]).count, 2)
    }

    func testInitRejectsBadLists() {
        assertVocabularyError(["line 5", "\"the\"", "line 3"]) {
            _ = try Vocabulary(words: ["<unk>", "</s>", "the", "cat", "the"])
        }
        assertVocabularyError(["</s>"]) { _ = try Vocabulary(words: ["<unk>", "the"]) }
        assertVocabularyError(["<unk>"]) { _ = try Vocabulary(words: ["</s>", "the"]) }
        assertVocabularyError(["line 2", "empty"]) { _ = try Vocabulary(words: ["<unk>", "", "</s>"]) }
        assertVocabularyError(["line 3", "whitespace"]) { _ = try Vocabulary(words: ["<unk>", "</s>", "a b"]) }
        assertVocabularyError(["line 3", "\\n"]) { _ = try Vocabulary(words: ["<unk>", "</s>", "a\n"]) }
        // Specials may sit anywhere in a list that is taken as it is.
        let vocabulary = try? Vocabulary(words: ["the", "</s>", "<unk>"])
        XCTAssertEqual(vocabulary?.unknownID, 2)
        XCTAssertEqual(vocabulary?.endOfSentenceID, 1)
    }

    func testFileRoundTripAndHash() throws {
        let vocabulary = Vocabulary.build(counts: ["the": 3, "école": 2, "don't": 2, ",": 1, "👍": 1])
        let url = directory.appendingPathComponent("vocab.txt")
        try vocabulary.write(to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "<unk>\n</s>\nthe\ndon't\nécole\n,\n👍\n")
        let loaded = try Vocabulary.load(contentsOf: url)
        XCTAssertEqual(loaded, vocabulary)
        XCTAssertEqual(loaded.id("école"), 4)
        XCTAssertEqual(Vocabulary.sha256Hex(of: bytes), vocabulary.sha256Hex)
        // Overwriting in place leaves no temporary file behind.
        try vocabulary.write(to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["vocab.txt"])
        // FIPS 180-2 test vectors.
        XCTAssertEqual(Vocabulary.sha256Hex(of: Data("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Vocabulary.sha256Hex(of: Data()),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertNotEqual(Vocabulary.build(counts: ["a": 1]).sha256Hex, Vocabulary.build(counts: ["b": 1]).sha256Hex)
    }

    func testLoadToleratesCRLFAndMissingFinalNewline() throws {
        let url = try file("crlf.txt", "<unk>\r\n</s>\r\nthe\r\ncat")
        XCTAssertEqual(try Vocabulary.load(contentsOf: url).words, ["<unk>", "</s>", "the", "cat"])
    }

    func testLoadRejectsBadFiles() throws {
        let duplicate = try file("dup.txt", "<unk>\n</s>\nthe\ncat\nthe\n")
        assertVocabularyError([duplicate.path, "line 5", "\"the\""]) { _ = try Vocabulary.load(contentsOf: duplicate) }
        let missing = try file("missing.txt", "<unk>\nthe\n")
        assertVocabularyError([missing.path, "</s>"]) { _ = try Vocabulary.load(contentsOf: missing) }
        let blank = try file("blank.txt", "<unk>\n</s>\n\nthe\n")
        assertVocabularyError(["line 3", "empty"]) { _ = try Vocabulary.load(contentsOf: blank) }

        let binary = directory.appendingPathComponent("binary.txt")
        try Data([0x3C, 0x75, 0x6E, 0x6B, 0x3E, 0x0A, 0x61, 0xC3, 0x28, 0x0A]).write(to: binary)
        XCTAssertThrowsError(try Vocabulary.load(contentsOf: binary)) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8InFile(file: binary.path, line: 2, offset: 7))
        }
        let absent = directory.appendingPathComponent("absent.txt")
        XCTAssertThrowsError(try Vocabulary.load(contentsOf: absent)) { error in
            guard case .io(let file, _)? = error as? TextError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, absent.path)
        }
    }

    func testImposingBrownStyleList() throws {
        // brown-lm/vocab.txt: words in its own order, <unk> on the last line, no </s>.
        let imposed = try Vocabulary.imposing(["the", ",", "zest", "<unk>"])
        XCTAssertEqual(imposed.words, ["<unk>", "</s>", "the", ",", "zest"])
        XCTAssertEqual(imposed.idOrUnknown("zest"), 4)
        XCTAssertEqual(try Vocabulary.imposing(["a", "</s>", "b"]).words, ["<unk>", "</s>", "a", "b"])
        assertVocabularyError(["line 3", "\"the\"", "line 1"]) { _ = try Vocabulary.imposing(["the", "a", "the"]) }

        let url = try file("list.txt", "the\nof\n<unk>\n")
        XCTAssertEqual(try Vocabulary.imposing(contentsOf: url).words, ["<unk>", "</s>", "the", "of"])
    }

    func testImposingSharedBrownVocabularyWhenPresent() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("../shared/data/brown-lm/vocab.txt")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("shared/data/brown-lm/vocab.txt is not here")
        }
        let lines = try TextFile.lines(contentsOf: url)
        let vocabulary = try Vocabulary.imposing(contentsOf: url)
        // data/README.md: 13,187 words plus <unk>; imposing adds </s>.
        XCTAssertEqual(lines.count, 13_188)
        XCTAssertEqual(vocabulary.count, 13_189)
        XCTAssertEqual(vocabulary.word(2), lines.first)
        XCTAssertEqual(vocabulary.words.last, lines[lines.count - 2])
    }

    func testTextFileLines() throws {
        let data = Data([0xEF, 0xBB, 0xBF] + Array("one\r\n\ntwo\rthree\nfour\r\n".utf8))
        // BOM dropped, CR before LF dropped, an inner CR and an empty line kept, no line after the last LF.
        XCTAssertEqual(try TextFile.lines(of: data, file: "f"), ["one", "", "two\rthree", "four"])
        XCTAssertEqual(try TextFile.lines(of: Data("a".utf8), file: "f"), ["a"])
        XCTAssertEqual(try TextFile.lines(of: Data("\n".utf8), file: "f"), [""])
        XCTAssertEqual(try TextFile.lines(of: Data(), file: "f"), [])
        XCTAssertThrowsError(try TextFile.lines(of: Data([0x61, 0x0A, 0x62, 0x0A, 0x63, 0xE2, 0x82, 0x0A]), file: "f")) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8InFile(file: "f", line: 3, offset: 5))
            XCTAssertEqual("\(error)", "f: line 3: invalid UTF-8 at byte offset 5")
        }
    }

    func testWordCounter() throws {
        var counter = WordCounter(lowercase: true)
        counter.add(lines: ["The cat’s hat.", "the cat", ""])
        XCTAssertEqual(counter.counts, ["the": 2, "cat's": 1, "hat": 1, ".": 1, "cat": 1])
        XCTAssertEqual(counter.tokenCount, 6)
        XCTAssertEqual(counter.lineCount, 3)
        XCTAssertEqual(counter.vocabulary().words, ["<unk>", "</s>", "the", ".", "cat", "cat's", "hat"])

        var surface = WordCounter(kinds: [.word, .number])
        try surface.add(contentsOf: file("corpus.txt", "The cat, the 2 cats!\r\nNASA 2\n"))
        XCTAssertEqual(surface.counts, ["The": 1, "the": 1, "cat": 1, "cats": 1, "2": 2, "NASA": 1])
        XCTAssertEqual(surface.lexicon().preferredCasing(of: "nasa"), "NASA")
    }
}
