import XCTest
@testable import NextWordREPL

final class REPLKeyDecoderTests: XCTestCase {
    private func decode(_ bytes: [UInt8]) -> [Key] {
        var decoder = KeyDecoder()
        return decoder.feed(bytes)
    }

    private func decode(_ string: String) -> [Key] { decode(Array(string.utf8)) }

    func testPrintableTextIsOneKeyPerRead() {
        XCTAssertEqual(decode("I would"), [.text("I would")])
        XCTAssertEqual(decode("ab\tc"), [.text("ab"), .tab, .text("c")])
    }

    func testUTF8SequencesSplitAcrossReads() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed([0x63, 0x61, 0x66, 0xC3]), [.text("caf")])
        XCTAssertEqual(decoder.feed([0xA9]), [.text("é")])
        // 👍 is F0 9F 91 8D: one byte per read.
        XCTAssertEqual(decoder.feed([0xF0]), [])
        XCTAssertEqual(decoder.feed([0x9F]), [])
        XCTAssertEqual(decoder.feed([0x91]), [])
        XCTAssertEqual(decoder.feed([0x8D]), [.text("👍")])
        // € is E2 82 AC, split after two bytes.
        XCTAssertEqual(decoder.feed([0xE2, 0x82]), [])
        XCTAssertEqual(decoder.feed([0xAC, 0x21]), [.text("€!")])
    }

    func testInvalidBytesAreDroppedWithoutLosingTheTextAround() {
        XCTAssertEqual(decode([0x61, 0xFF, 0x62]), [.text("ab")])
        XCTAssertEqual(decode([0xC3, 0x41]), [.text("A")], "a lead byte followed by ASCII: only the ASCII survives")
        XCTAssertEqual(decode([0x80, 0xBF, 0x78]), [.text("x")], "stray continuation bytes")
        XCTAssertEqual(decode([0xC0, 0xAF, 0xE0, 0x80, 0xAF]), [], "overlong encodings of '/'")
        XCTAssertEqual(decode([0xED, 0xA0, 0x80]), [], "an encoded UTF-16 surrogate")
        XCTAssertEqual(decode([0xF4, 0x90, 0x80, 0x80]), [], "beyond U+10FFFF")
        XCTAssertEqual(decode([0xC2, 0x9B, 0x33, 0x31, 0x6D]), [.text("31m")], "a C1 CSI never reaches the screen")
    }

    func testControlKeys() {
        XCTAssertEqual(decode([0x7F, 0x08]), [.backspace, .backspace])
        XCTAssertEqual(decode([0x17, 0x15, 0x0B]), [.deleteWordBackward, .clearLine, .deleteToEnd])
        XCTAssertEqual(decode([0x01, 0x05, 0x02, 0x06]), [.home, .end, .left, .right])
        XCTAssertEqual(decode([0x03, 0x04, 0x0C]), [.interrupt, .endOfInput, .redraw])
        XCTAssertEqual(decode([0x0D, 0x0A, 0x0A]), [.enter, .enter], "CR LF is one Enter, a lone LF another")
        XCTAssertEqual(decode([0x00, 0x1A, 0x61]), [.text("a")], "unbound controls are ignored")
    }

    func testArrowAndHomeEndVariants() {
        XCTAssertEqual(decode("\u{1B}[C\u{1B}[D\u{1B}OC\u{1B}OD"), [.right, .left, .right, .left])
        XCTAssertEqual(decode("\u{1B}[1;5C\u{1B}[1;3D"), [.right, .left], "modifiers are ignored")
        XCTAssertEqual(decode("\u{1B}[H\u{1B}OH\u{1B}[1~\u{1B}[7~"), [.home, .home, .home, .home])
        XCTAssertEqual(decode("\u{1B}[F\u{1B}OF\u{1B}[4~\u{1B}[8~"), [.end, .end, .end, .end])
        XCTAssertEqual(decode("\u{1B}[3~"), [.deleteForward])
        XCTAssertEqual(decode("\u{1B}[A\u{1B}[B\u{1B}OA"), [], "no history recall: up/down do nothing")
    }

    func testAltDigitsPickSuggestions() {
        XCTAssertEqual(decode("\u{1B}1\u{1B}2\u{1B}3"), [.pick(1), .pick(2), .pick(3)])
        XCTAssertEqual(decode("ab\u{1B}2cd"), [.text("ab"), .pick(2), .text("cd")])
        XCTAssertEqual(decode("\u{1B}x\u{1B}0y"), [.text("y")], "Alt with other keys has no binding")
    }

    func testLoneEscapeWaitsForFlush() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed([0x1B]), [])
        XCTAssertTrue(decoder.hasPendingEscape)
        XCTAssertEqual(decoder.flush(), [.escape])
        XCTAssertFalse(decoder.hasPendingEscape)
        XCTAssertEqual(decoder.feed(Array("a".utf8)), [.text("a")], "after the flush, bytes are text again")
        XCTAssertEqual(decoder.feed([0x1B, 0x1B, 0x5B, 0x43]), [.escape, .right], "ESC ESC [ C")
    }

    func testEscapeSequenceSplitAcrossReads() {
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed([0x1B]), [])
        XCTAssertEqual(decoder.feed(Array("[".utf8)), [])
        XCTAssertFalse(decoder.hasPendingEscape, "inside CSI: no lone-ESC timeout applies")
        XCTAssertEqual(decoder.feed(Array("1".utf8)), [])
        XCTAssertEqual(decoder.feed(Array("~x".utf8)), [.home, .text("x")])
    }

    func testBracketedPasteIsOneKeyAndUnknownSequencesAreIgnored() {
        XCTAssertEqual(decode("\u{1B}[200~pasted text\u{1B}[201~"), [.paste("pasted text")])
        // Line breaks, tabs and escape bytes inside a paste are its text, not keys.
        XCTAssertEqual(decode("a\u{1B}[200~one\rtwo\n\tthree\u{1B}[C\u{1B}[201~b"),
                       [.text("a"), .paste("one\rtwo\n\tthree\u{1B}[C"), .text("b")])
        // A paste split over reads, the end marker too.
        var decoder = KeyDecoder()
        XCTAssertEqual(decoder.feed(Array("\u{1B}[200~hel".utf8)), [])
        XCTAssertEqual(decoder.flush(), [], "a timeout does not end an open paste")
        XCTAssertEqual(decoder.feed(Array("lo\u{1B}[20".utf8)), [])
        XCTAssertEqual(decoder.feed(Array("1~!".utf8)), [.paste("hello"), .text("!")])
        // A huge paste is cut to the line's bound and its end still found.
        let huge = decode("\u{1B}[200~" + String(repeating: "x", count: 100_000) + "\u{1B}[201~ok")
        XCTAssertEqual(huge.count, 2)
        if case .paste(let text) = huge.first { XCTAssertEqual(text.count, KeyDecoder.maximumPasteBytes) } else { XCTFail("\(huge)") }
        XCTAssertEqual(decode("\u{1B}[15~\u{1B}[?1;2c\u{1B}[I\u{1B}OP"), [], "F5, device attributes, focus, F1")
        let garbage = "\u{1B}[" + String(repeating: "1;", count: 100) + "Zok"
        XCTAssertEqual(decode(garbage), [.text("ok")], "an overlong sequence is skipped to its final byte")
        XCTAssertEqual(decode("\u{1B}[12\u{07}z"), [.text("z")], "a control byte abandons the sequence")
    }
}
