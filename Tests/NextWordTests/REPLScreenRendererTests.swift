import XCTest
@testable import NextWordREPL

final class REPLScreenRendererTests: XCTestCase {
    private func screen(_ bytes: [UInt8], width: Int) -> VirtualScreen {
        var screen = VirtualScreen(width: width)
        screen.feed(bytes)
        return screen
    }

    func testFrameShowsLineNumberedSuggestionsAndStatus() {
        let state = ScreenState(prompt: "> ", editor: LineEditor(text: "I would like to "),
                                suggestions: ["go", "be", "see"], status: "default · incognito off · 0.42 ms")
        let bytes = ScreenRenderer(width: 60).frame(state)
        let shown = screen(bytes, width: 60)
        XCTAssertEqual(shown.lines, ["> I would like to", " 1 go   2 be   3 see", "default · incognito off · 0.42 ms"])
        XCTAssertEqual(shown.reversedText(1), " 1 go ", "only the first suggestion is highlighted")
        XCTAssertEqual(shown.row, 0, "the frame ends on the prompt row")
        XCTAssertEqual(shown.column, 18, "after '> I would like to ' (2 + 16 columns)")
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\u{1B}[7m 1 go \u{1B}[0m"))
        XCTAssertTrue(text.contains("\u{1B}[2mdefault"), "the status line is dim")
        XCTAssertEqual(text.components(separatedBy: "\u{1B}[K").count - 1, 3, "each of the three rows is cleared to its end")
    }

    func testRedrawingOverALongerFrameLeavesNoRemnants() {
        let renderer = ScreenRenderer(width: 40)
        var bytes = renderer.frame(ScreenState(editor: LineEditor(text: "a much longer line of text"),
                                               suggestions: ["alpha", "beta", "gamma"], status: "long status text"))
        bytes += renderer.frame(ScreenState(editor: LineEditor(text: "ab"), suggestions: ["x"], status: "s"))
        XCTAssertEqual(screen(bytes, width: 40).lines, ["> ab", " 1 x", "s"])
    }

    func testPrintAboveLeavesCommittedLinesInScrollback() {
        let renderer = ScreenRenderer(width: 40)
        var bytes = renderer.frame(ScreenState(editor: LineEditor(text: "hello"), suggestions: ["world"], status: "st"))
        bytes += renderer.printAbove(["> hello", "a message"])
        bytes += renderer.frame(ScreenState(editor: LineEditor(), suggestions: ["I"], status: "st"))
        let shown = screen(bytes, width: 40)
        XCTAssertEqual(shown.lines, ["> hello", "a message", ">", " 1 I", "st"])
        XCTAssertEqual(shown.row, 2)
        XCTAssertEqual(shown.column, 2)
        bytes += renderer.clear()
        XCTAssertEqual(screen(bytes, width: 40).lines, ["> hello", "a message"], "clear() removes the whole frame")
    }

    func testLongLineScrollsToKeepTheCursorVisible() {
        let text = "the quick brown fox jumps over the lazy dog"  // 43 characters
        let renderer = ScreenRenderer(width: 20)  // rows use at most 19 columns
        // Cursor at the end: "> …" then the last 15 characters, then the cursor cell.
        let atEnd = screen(renderer.frame(ScreenState(editor: LineEditor(text: text))), width: 20)
        XCTAssertEqual(atEnd.line(0), "> …" + String(text.suffix(15)))
        XCTAssertEqual(atEnd.column, 18)
        XCTAssertEqual(atEnd.lines.count, 1, "nothing wrapped onto another row")
        // Cursor at the start: the beginning of the text, cut with "…" at column 18.
        let atStart = screen(renderer.frame(ScreenState(editor: LineEditor(text: text, cursor: 0))), width: 20)
        XCTAssertEqual(atStart.line(0), "> the quick brown …")
        XCTAssertEqual(atStart.column, 2)
        // Cursor in the middle (after "the quick brown fox jumps", 25 characters): both markers take a
        // column, the cursor cell one, so 14 characters before the cursor fit, and one after it.
        let middle = screen(renderer.frame(ScreenState(editor: LineEditor(text: text, cursor: 25))), width: 20)
        XCTAssertEqual(middle.line(0), "> …rown fox jumps …")
        XCTAssertEqual(middle.column, 17)
    }

    func testWideCharactersAreMeasuredInColumns() {
        let renderer = ScreenRenderer(width: 40)
        let shown = screen(renderer.frame(ScreenState(editor: LineEditor(text: "日本 👍 e\u{301}"))), width: 40)
        XCTAssertEqual(shown.line(0), "> 日本 👍 e\u{301}")
        XCTAssertEqual(shown.column, 2 + 4 + 1 + 2 + 1 + 1)
        // A line of 2-column characters in a narrow terminal never spills onto a second row.
        let narrow = screen(ScreenRenderer(width: 12).frame(ScreenState(editor: LineEditor(text: String(repeating: "日", count: 20)))), width: 12)
        XCTAssertEqual(narrow.lines.count, 1)
        XCTAssertLessThanOrEqual(narrow.column, 10)
    }

    func testSuggestionsAndStatusAreCutToTheWidth() {
        let renderer = ScreenRenderer(width: 20)
        let state = ScreenState(editor: LineEditor(), suggestions: ["extraordinarily", "beta", "gamma"],
                                status: "a very long status line that goes on")
        let shown = screen(renderer.frame(state), width: 20)
        XCTAssertEqual(shown.line(1), " 1 extraordinarily")
        XCTAssertEqual(shown.line(2), "a very long status…")
        XCTAssertEqual(shown.lines.count, 3)
        let tight = screen(ScreenRenderer(width: 12).frame(state), width: 12)
        XCTAssertEqual(tight.line(1), " 1 extraor…")
    }

    func testControlCharactersFromTheEngineAreNotSentToTheTerminal() {
        let state = ScreenState(editor: LineEditor(), suggestions: ["evil\u{1B}[2Jx"], status: "model\u{07}")
        let text = String(decoding: ScreenRenderer(width: 40).frame(state), as: UTF8.self)
        XCTAssertFalse(text.contains("\u{1B}[2J"))
        XCTAssertFalse(text.contains("\u{07}"))
        XCTAssertTrue(text.contains("evil\u{FFFD}[2Jx"))
    }
}
