import Foundation
import XCTest
@testable import NextWord

/// ARPA both ways: a model written as ARPA and read back gives the same probabilities, a small
/// hand-made file (as KenLM's lmplz writes them) reads as the format defines, and text that is
/// not ARPA is one error naming the line.
final class NGramARPATests: XCTestCase {
    /// The toy vocabulary: id 0 is `</s>` (and `<s>`), 30 is `<unk>`, the rest "w1"…"w29".
    private let words = ["</s>"] + (1 ..< 30).map { "w\($0)" } + ["<unk>"]

    func testAModelWrittenAsARPAReadsBackWithTheSameProbabilities() throws {
        for (order, minCount) in [(2, 1), (3, 1), (3, 2), (4, 1)] {
            let model = try NGramTests.toyModel(order: order, minCount: minCount)
            let text = try model.arpaText(words: words)
            XCTAssertTrue(text.hasPrefix("\\data\\\nngram 1=32\n"), String(text.prefix(40)))
            let back = try NGramModel.fromARPA(text, words: words, endOfSentence: 0, unknown: 30)
            XCTAssertEqual(back.order, order)
            let contexts: [[Int]] = [[], [0], [1], [0, 1], [1, 6], [3, 9, 17], [0, 2, 7], [29, 28], [5, 5, 5]]
            for context in contexts {
                for word in 0 ..< 31 {
                    let expected = model.probability(of: word, context: context)
                    let actual = back.probability(of: word, context: context)
                    XCTAssertEqual(actual, expected, accuracy: 1e-5 * expected + 1e-9,
                                   "order \(order) min \(minCount): p(\(word) | \(context))")
                }
            }
        }
    }

    /// A bigram model by hand: p(a | <s>) is listed; p(b | <s>) is not and backs off,
    /// b(<s>) · p(b); a word the vocabulary lacks is dropped; a vocabulary word the file lacks
    /// gets p(<unk>) before the unigrams are renormalised.
    func testAHandMadeFileReadsAsTheFormatDefines() throws {
        let arpa = """
            \\data\\
            ngram 1=5
            ngram 2=3

            \\1-grams:
            -0.30103\t</s>
            -99\t<s>\t-0.30103
            -0.69897\ta\t-0.1
            -0.69897\tb
            -1\t<unk>

            \\2-grams:
            -0.1\t<s> a
            -0.2\ta </s>
            -0.5\ta zebra

            \\end\\
            """
        let vocabulary = ["</s>", "a", "b", "c", "<unk>"]
        let model = try NGramModel.fromARPA(arpa, words: vocabulary, endOfSentence: 0, unknown: 4)
        let mass = 0.5 + 0.2 + 0.2 + 0.1 + 0.1  // </s>, a, b, c (given p(<unk>)), <unk>
        XCTAssertEqual(model.probability(of: 1, context: []), 0.2 / mass, accuracy: 1e-6)
        XCTAssertEqual(model.probability(of: 3, context: []), 0.1 / mass, accuracy: 1e-6)
        XCTAssertEqual(model.probability(of: 1, context: [0]), pow(10, -0.1), accuracy: 1e-5, "listed")
        XCTAssertEqual(model.probability(of: 2, context: [0]), 0.5 * 0.2 / mass, accuracy: 1e-6, "backed off")
        XCTAssertEqual(model.probability(of: 0, context: [1]), pow(10, -0.2), accuracy: 1e-5)
        XCTAssertEqual(model.probability(of: 2, context: [3]), 0.2 / mass, accuracy: 1e-6, "an unseen context is the unigram")
    }

    func testTextThatIsNotARPAIsOneErrorNamingTheLine() {
        let cases = [
            "hello world\n",
            "\\data\\\nngram 1=1\n\n\\1-grams:\nnot-a-number\tx\n\\end\\\n",
            "\\data\\\nngram 1=1\n\n\\1-grams:\n-1\tx\n",
        ]
        for text in cases {
            XCTAssertThrowsError(try NGramModel.fromARPA(text, words: ["</s>", "x"], endOfSentence: 0, unknown: 1, file: "lm.arpa")) { error in
                guard case NGramError.corrupt(let file, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(file, "lm.arpa")
                XCTAssertTrue(error.localizedDescription.hasPrefix("lm.arpa: "), error.localizedDescription)
            }
        }
    }
}
