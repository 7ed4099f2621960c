import Foundation
import XCTest
@testable import NextWord

final class LexiconTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("LexiconTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private let sample = Lexicon(counts: [
        "the": 10, "The": 3, "NASA": 4, "nasa": 1, "I": 7, "i": 1, "don’t": 2, "don't": 1,
        "zoo": 1, "apple": 1, "": 5, "two words": 2, "never": 0,
    ])

    func testFileRoundTrip() throws {
        // Count descending, ties in scalar order ("The" before "don't"); `don’t` merged into `don't`;
        // the empty, spaced and zero-count entries left out.
        let expected = "the\t10\nI\t7\nNASA\t4\nThe\t3\ndon't\t3\napple\t1\ni\t1\nnasa\t1\nzoo\t1\n"
        XCTAssertEqual(String(decoding: sample.fileData(), as: UTF8.self), expected)
        XCTAssertEqual(sample.count, 9)
        XCTAssertEqual(sample.totalCount, 31)

        let url = directory.appendingPathComponent("lexicon.tsv")
        try sample.write(to: url)
        let loaded = try Lexicon.load(contentsOf: url)
        XCTAssertEqual(loaded.entries, sample.entries)
        XCTAssertEqual(loaded.fileData(), sample.fileData())
        XCTAssertEqual(loaded.count(of: "don’t"), 3)
        XCTAssertEqual(loaded.count(of: "The"), 3)
        XCTAssertEqual(loaded.count(of: "tHe"), 0)
        XCTAssertEqual(loaded.totalCount(ofLowercased: "the"), 13)

        // Any line order, CRLF and a missing final newline are accepted on load.
        let unsorted = directory.appendingPathComponent("unsorted.tsv")
        try Data("b\t1\r\na\t5\r\nc\t1".utf8).write(to: unsorted)
        XCTAssertEqual(try Lexicon.load(contentsOf: unsorted).entries.map(\.word), ["a", "b", "c"])
    }

    func testLoadRejectsMalformedLines() throws {
        let cases: [(text: String, fragments: [String])] = [
            ("the\t10\nbad line\n", ["line 2", "no tab"]),
            ("a\t1\t2\n", ["line 1", "more than one tab"]),
            ("a\t0\n", ["line 1", "counts start at 1"]),
            ("a\t-1\n", ["line 1", "\"-1\""]),
            ("a\t+1\n", ["line 1", "\"+1\""]),
            ("a\tten\n", ["line 1", "\"ten\""]),
            ("a\t\n", ["line 1", "\"\""]),
            ("a\t99999999999999999999999\n", ["line 1", "too large"]),
            ("\t5\n", ["line 1", "empty word"]),
            ("a b\t5\n", ["line 1", "whitespace"]),
            ("a\t1\nb\t1\n\n", ["line 3", "no tab"]),
            ("don't\t1\nx\t2\ndon’t\t2\n", ["line 3", "duplicate", "\"don't\"", "line 1"]),
        ]
        for (index, testCase) in cases.enumerated() {
            let url = directory.appendingPathComponent("bad\(index).tsv")
            try Data(testCase.text.utf8).write(to: url)
            XCTAssertThrowsError(try Lexicon.load(contentsOf: url), testCase.text) { error in
                guard case .lexicon(let file, _)? = error as? TextError else {
                    return XCTFail("expected TextError.lexicon for \(testCase.text), got \(error)")
                }
                XCTAssertEqual(file, url.path)
                for fragment in testCase.fragments {
                    XCTAssertTrue("\(error)".contains(fragment), "\(error) lacks \(fragment)")
                }
            }
        }
        // A byte-order mark and CRLF line ends read as the plain file does.
        let windows = directory.appendingPathComponent("windows.tsv")
        try Data([0xEF, 0xBB, 0xBF] + Array("the\t10\r\nCafé\t3\r\ncafé\t2".utf8)).write(to: windows)
        let plain = try Lexicon.parse(["the\t10", "Café\t3", "café\t2"], file: "plain")
        XCTAssertEqual(try Lexicon.load(contentsOf: windows).entries, plain.entries)
        XCTAssertEqual(plain.entries.map(\.word), ["the", "Café", "café"])
        let binary = directory.appendingPathComponent("binary.tsv")
        try Data([0x61, 0x09, 0x31, 0x0A, 0xFF, 0x09, 0x31, 0x0A]).write(to: binary)
        XCTAssertThrowsError(try Lexicon.load(contentsOf: binary)) { error in
            XCTAssertEqual(error as? TextError, .invalidUTF8InFile(file: binary.path, line: 2, offset: 4))
        }
    }

    func testPreferredCasing() {
        XCTAssertEqual(sample.preferredCasing(of: "nasa"), "NASA")
        XCTAssertEqual(sample.preferredCasing(of: "i"), "I")
        XCTAssertEqual(sample.preferredCasing(of: "the"), "the")
        XCTAssertEqual(sample.preferredCasing(of: "NASA"), "NASA")
        XCTAssertEqual(sample.preferredCasing(of: "don’t"), "don't")
        XCTAssertNil(sample.preferredCasing(of: "xyz"))
        // On a tie the lowercase form wins, whatever the scalar order says.
        XCTAssertEqual(Lexicon(counts: ["Apple": 2, "apple": 2]).preferredCasing(of: "apple"), "apple")
        XCTAssertEqual(Lexicon(counts: ["Apple": 2, "APPLE": 2]).preferredCasing(of: "apple"), "APPLE")
        XCTAssertEqual(sample.capitalizedShare(of: "the") ?? -1, 3.0 / 13.0, accuracy: 1e-12)
        XCTAssertEqual(sample.capitalizedShare(of: "nasa") ?? -1, 0.8, accuracy: 1e-12)
        XCTAssertNil(sample.capitalizedShare(of: "xyz"))
    }

    func testCompletions() {
        let lexicon = Lexicon(counts: ["the": 10, "The": 3, "then": 5, "there": 4, "theory": 1,
                                       "Thelma": 2, "thx": 6, "a": 1, "don't": 2])
        func completions(_ prefix: String, _ limit: Int) -> [String] {
            lexicon.completions(ofPrefix: prefix, limit: limit).map { "\($0.word):\($0.count)" }
        }
        // Two-character prefix (the short-prefix table) and longer ones (binary search) agree.
        XCTAssertEqual(completions("th", 3), ["the:13", "thx:6", "then:5"])
        XCTAssertEqual(completions("TH", 20), ["the:13", "thx:6", "then:5", "there:4", "Thelma:2", "theory:1"])
        XCTAssertEqual(completions("The", 3), ["the:13", "then:5", "there:4"])
        XCTAssertEqual(completions("thel", 3), ["Thelma:2"])
        XCTAssertEqual(completions("", 2), ["the:13", "thx:6"])
        XCTAssertEqual(completions("don’", 1), ["don't:2"])
        XCTAssertEqual(completions("zz", 3), [])
        XCTAssertEqual(completions("zzzz", 3), [])
        XCTAssertEqual(completions("a", 0), [])
        XCTAssertEqual(Lexicon(counts: [:]).completions(ofPrefix: "a", limit: 3).count, 0)
    }

    func testCompletionsMatchBruteForce() throws {
        // A random lexicon over a small alphabet, so prefixes share long ranges and counts tie.
        var random = SeededGenerator(seed: 7)
        let alphabet = Array("abAB’'éÉ")
        var counts: [String: Int] = [:]
        for _ in 0..<600 {
            let length = Int.random(in: 1...5, using: &random)
            let word = String((0..<length).map { _ in alphabet.randomElement(using: &random) ?? "a" })
            counts[word, default: 0] += Int.random(in: 1...9, using: &random)
        }
        let built = Lexicon(counts: counts)
        // Read back from its file (already in entry order: no sort at load) and from the same
        // lines shuffled (sorted at load): the same lexicon.
        let lines = String(decoding: built.fileData(), as: UTF8.self).split(separator: "\n").map(String.init)
        let parsed = try Lexicon.parse(lines, file: "t.tsv")
        let shuffled = try Lexicon.parse(lines.shuffled(using: &random), file: "t.tsv")
        XCTAssertEqual(parsed.entries, built.entries)
        XCTAssertEqual(shuffled.entries, built.entries)
        for key in counts.keys { XCTAssertEqual(Lexicon.lowercasedKey(key), key.lowercased()) }
        for lexicon in [built, parsed, shuffled] { checkCompletionsMatchBruteForce(lexicon) }
    }

    private func checkCompletionsMatchBruteForce(_ lexicon: Lexicon, prefixes: [String] = ["", "a", "b", "A", "é", "É", "ab", "'a", "ba", "abé", "abab", "bbb", "aaaaa", "c"]) {
        var totals: [String: Int] = [:]
        for entry in lexicon.entries { totals[entry.word.lowercased(), default: 0] += entry.count }
        let keys = totals.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for prefix in prefixes {
            for limit in [1, 5, 16, 17, 40] {
                let lowered = prefix.lowercased()
                let expected = keys.filter { $0.utf8.starts(with: lowered.utf8) }
                    .enumerated().sorted { a, b in
                        totals[a.element]! != totals[b.element]! ? totals[a.element]! > totals[b.element]! : a.offset < b.offset
                    }.prefix(limit).map { "\($0.element):\(totals[$0.element]!)" }
                let actual = lexicon.completions(ofPrefix: prefix, limit: limit).map { "\($0.word.lowercased()):\($0.count)" }
                XCTAssertEqual(actual, Array(expected), "prefix \(prefix) limit \(limit)")
            }
        }
    }

    func testLongKeysSharingTheirFirstEightBytesMatchBruteForce() throws {
        // Keys longer than the 8-byte heads, many sharing them: found by the full comparison.
        var random = SeededGenerator(seed: 11)
        var counts: [String: Int] = [:]
        for stem in ["internat", "Internat", "interna", "intern", "intérnat"] {
            for _ in 0..<40 {
                let tail = String((0..<Int.random(in: 0...6, using: &random)).map { _ in "aio".randomElement(using: &random)! })
                counts[stem + tail, default: 0] += Int.random(in: 1...5, using: &random)
            }
        }
        let lexicon = Lexicon(counts: counts)
        checkCompletionsMatchBruteForce(lexicon, prefixes: ["internat", "internati", "internatio", "interna", "intérnat",
                                                             "intérnata", "internatz", "intern", "internatioaaaaaa"])
        for (word, count) in counts {
            XCTAssertEqual(lexicon.count(of: word), count, word)
            let total = counts.filter { $0.key.lowercased() == word.lowercased() }.reduce(0) { $0 + $1.value }
            XCTAssertEqual(lexicon.totalCount(ofLowercased: word), total, word)
        }
        XCTAssertEqual(lexicon.totalCount(ofLowercased: "internatx"), 0)
        XCTAssertEqual(lexicon.totalCount(ofLowercased: "internat" + "aaaaaaaaaaaaaaaa"), 0)
    }

    func testCanonicallyEquivalentSpellingsAreOneWord() throws {
        // "café" with a combining accent is the same word as the composed form, as String equality says.
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let lexicon = Lexicon(counts: [composed: 3, "Caf\u{E9}": 1])
        XCTAssertEqual(lexicon.totalCount(ofLowercased: decomposed), 4)
        XCTAssertEqual(lexicon.count(of: decomposed), 3)
        XCTAssertEqual(lexicon.preferredCasing(of: decomposed), composed)
        XCTAssertEqual(lexicon.completions(ofPrefix: "cafe\u{301}", limit: 3).map(\.count), [4])
        // In a file the two spellings are one word twice; the first repeated line is named, in file order.
        XCTAssertThrowsError(try Lexicon.parse(["x\t1", "\(composed)\t2", "y\t1", "y\t3", "\(decomposed)\t1"], file: "d.tsv")) { error in
            XCTAssertTrue("\(error)".contains("line 4"), "\(error)")
            XCTAssertTrue("\(error)".contains("first on line 3"), "\(error)")
        }
        XCTAssertThrowsError(try Lexicon.parse(["x\t1", "\(composed)\t2", "\(decomposed)\t1"], file: "d.tsv")) { error in
            XCTAssertTrue("\(error)".contains("line 3"), "\(error)")
            XCTAssertTrue("\(error)".contains("first on line 2"), "\(error)")
        }
    }

    func testCompletionsFromASubsetSkipTheWordsOutsideIt() throws {
        // The engine completes from the words its vocabulary lacks: more frequent words outside the
        // subset must not take the places (short prefixes use their own table, longer ones the walk).
        var random = SeededGenerator(seed: 5)
        var counts: [String: Int] = [:]
        for _ in 0..<500 {
            let word = String((0..<Int.random(in: 1...6, using: &random)).map { _ in "abcé".randomElement(using: &random)! })
            counts[word, default: 0] += Int.random(in: 1...50, using: &random)
        }
        let lexicon = Lexicon(counts: counts)
        let inSubset: (String) -> Bool = { $0.utf8.count % 2 == 1 }  // any rule that splits keys
        let subset = lexicon.subset { key, _, _ in inSubset(key) }
        var totals: [String: Int] = [:]
        for (word, count) in counts { totals[word.lowercased(), default: 0] += count }
        let keys = totals.keys.filter(inSubset).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for prefix in ["", "a", "b", "é", "ab", "ba", "abc", "cab", "aaaa", "zz"] {
            for limit in [1, 3, 16, 17, 40] {
                let expected = keys.filter { $0.utf8.starts(with: prefix.utf8) }
                    .enumerated().sorted { a, b in
                        totals[a.element]! != totals[b.element]! ? totals[a.element]! > totals[b.element]! : a.offset < b.offset
                    }.prefix(limit).map { "\($0.element):\(totals[$0.element]!)" }
                let actual = lexicon.completions(ofPrefix: prefix, limit: limit, in: subset).map { "\($0.word.lowercased()):\($0.count)" }
                XCTAssertEqual(actual, Array(expected), "prefix \(prefix) limit \(limit)")
            }
        }
        // Without a subset, the whole lexicon as before.
        XCTAssertEqual(lexicon.completions(ofPrefix: "a", limit: 5, in: nil).map(\.word), lexicon.completions(ofPrefix: "a", limit: 5).map(\.word))
    }

    /// A word list adds the words the counts lack, once each and as the list writes them; a word
    /// the counts spell in any casing keeps its count, and possessives, non-words and numbers are
    /// left out.
    func testAWordListAddsTheWordsTheCountsLack() throws {
        let counts = ["the": 40, "Park": 3, "park": 5, "don't": 2]
        let list = ["the", "PARK", "smallish", "Tracy", "Tracy's", "dog’s", "don’t", "o'clock", "two words", "42", "(x)", "", "smallish"]
        let merged = Lexicon.counts(counts, addingWordList: list)
        XCTAssertEqual(merged, ["the": 40, "Park": 3, "park": 5, "don't": 2, "smallish": 1, "Tracy": 1, "o'clock": 1])
        let lexicon = Lexicon(counts: merged)
        XCTAssertEqual(lexicon.completions(ofPrefix: "tr", limit: 3).map(\.word), ["Tracy"])
        XCTAssertEqual(lexicon.completions(ofPrefix: "p", limit: 3).map(\.count), [8], "the counts' own forms are untouched")
    }
}
