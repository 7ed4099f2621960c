import Foundation
import XCTest
@testable import NextWord

/// `history import`: the user's own files learned by the rules of typing, earlier exports merged
/// and checked by those rules again.
final class HistoryImportTests: XCTestCase {
    func testImportedTextIsLearnedByTheSameRulesAsTyping() throws {
        let store = try HistoryStore.inMemory()
        let text = "My card is 4111 1111 1111 1111 and the zyxcorp plan\npassword: hunter2\n\nsee you at the zyxcorp office\n"
        let count = try store.importText(text, batch: 1)
        XCTAssertEqual(count.lines, 3)
        XCTAssertEqual(store.wordCount(lower: "zyxcorp").first?.count, 2)
        XCTAssertEqual(store.wordCount(lower: "office").count, 1)
        for secret in ["4111", "1111", "hunter2"] {
            XCTAssertTrue(store.wordCount(lower: secret).isEmpty, "\(secret) must not be learned from a file either")
        }
        XCTAssertFalse(store.continuations(context: ["the"], limit: 10).isEmpty, "n-grams are learned too")
    }

    func testALongLineIsLearnedInPiecesOnlyTheFirstAfterTheLineStart() throws {
        let store = try HistoryStore.inMemory()
        // "w0 w1 … w(n-1)": more words than one piece holds; each word once.
        let count = HistoryStore.maxTokensPerLine * 2
        let text = (0 ..< count).map { "word\(String(UnicodeScalar(UInt8(97 + $0 % 26))))\($0 / 26 % 26 == 0 ? "" : String(UnicodeScalar(UInt8(97 + $0 / 26 % 26))))" }
        _ = try store.importText(text.joined(separator: " ") + "\n", batch: 1)
        let starts = store.continuations(context: [LearnedToken.lineStart], limit: 10).map(\.word)
        XCTAssertEqual(starts, [text[0].lowercased()], "only the line's first word follows </s>")
    }

    func testAnExportMergesIntoAnotherHistoryAndIsCheckedAgain() throws {
        let source = try HistoryStore.inMemory()
        _ = try source.importText("the zyxcorp plan\nthe zyxcorp office\n")
        var document = try HistoryExport.decode(try source.export())
        // An edited (or old) export holding what the rules refuse: a number and a secret-looking token.
        let now = Date()
        document.words.append(HistoryWord(text: "4111", lower: "4111", count: 5, lastUsed: now))
        document.words.append(HistoryWord(text: "sk_live_4eC39HqLyjWDarjtT1zdp7dc", lower: "sk_live_4ec39hqlyjwdarjtt1zdp7dc", count: 3, lastUsed: now))
        document.ngrams.append(HistoryNgram(context: "card", word: "4111", order: 2, count: 5, lastUsed: now))

        let target = try HistoryStore.inMemory()
        _ = try target.importText("the zyxcorp report\n")
        let count = try target.importExport(document)
        XCTAssertEqual(count.refused, 2)
        XCTAssertEqual(target.wordCount(lower: "zyxcorp").first?.count, 3, "counts add up: 1 here + 2 imported")
        XCTAssertEqual(target.wordCount(lower: "plan").first?.count, 1)
        XCTAssertTrue(target.wordCount(lower: "4111").isEmpty)
        XCTAssertTrue(target.wordCount(lower: "sk_live_4ec39hqlyjwdarjtt1zdp7dc").isEmpty)
        XCTAssertFalse(target.continuations(context: ["card"], limit: 5).contains { $0.word == "4111" })
    }
}
