import XCTest
@testable import NextWordREPL

final class REPLLineEditorTests: XCTestCase {
    private func edited(_ text: String, cursor: Int? = nil, _ keys: [Key], suggestions: [String] = []) -> LineEditor {
        var editor = cursor.map { LineEditor(text: text, cursor: $0) } ?? LineEditor(text: text)
        for key in keys { _ = editor.apply(key, suggestions: suggestions) }
        return editor
    }

    func testTabReplacesThePartialWordAndAddsASpace() {
        let editor = edited("I would like t", [.tab], suggestions: ["to", "the"])
        XCTAssertEqual(editor.text, "I would like to ")
        XCTAssertEqual(editor.cursor, 16)
        XCTAssertEqual(edited("Hello Wor", [.tab], suggestions: ["World"]).text, "Hello World ")
        XCTAssertEqual(edited("I don'", [.tab], suggestions: ["don't"]).text, "I don't ", "apostrophes are part of words")
        // Hyphens inside a word too, as the engine reads it: its suggestion for "crime-r" is the whole compound.
        XCTAssertEqual(edited("a crime-r", [.tab], suggestions: ["crime-ridden"]).text, "a crime-ridden ")
        XCTAssertEqual(edited("a crime-", [.tab], suggestions: ["crime-ridden"]).text, "a crime-ridden ")
        XCTAssertEqual(edited("a state-of-the-a", [.tab], suggestions: ["state-of-the-art"]).text, "a state-of-the-art ")
        XCTAssertEqual(edited("pages 3 -", [.tab], suggestions: ["5"]).text, "pages 3 -5 ", "a dash after a space is not part of a word")
    }

    func testAcceptAfterASpaceOnlyInserts() {
        XCTAssertEqual(edited("I would like to ", [.tab], suggestions: ["go"]).text, "I would like to go ")
        XCTAssertEqual(edited("", [.tab], suggestions: ["I"]).text, "I ")
    }

    func testAcceptSpacingAroundPunctuation() {
        XCTAssertEqual(edited("Hello,", [.tab], suggestions: ["world"]).text, "Hello, world ")
        XCTAssertEqual(edited("she said \"", [.tab], suggestions: ["yes"]).text, "she said \"yes ")
        XCTAssertEqual(edited("(", [.tab], suggestions: ["see"]).text, "(see ")
        XCTAssertEqual(edited("Hello ", [.tab], suggestions: [","]).text, "Hello, ", "closing punctuation attaches")
        XCTAssertEqual(edited("Hello", [.tab], suggestions: ["!"]).text, "Hello! ", "and keeps the word typed")
    }

    func testAcceptInsideAWordReplacesTheWholeWord() {
        var editor = LineEditor(text: "I wonder why", cursor: 4)  // "I wo|nder why"
        XCTAssertEqual(editor.apply(.tab, suggestions: ["would"]), .changed)
        XCTAssertEqual(editor.text, "I would why", "the existing space is reused, not doubled")
        XCTAssertEqual(editor.cursor, 8)
    }

    func testAltDigitPicksTheNumberedSuggestion() {
        XCTAssertEqual(edited("to ", [.pick(2)], suggestions: ["go", "be", "see"]).text, "to be ")
        XCTAssertEqual(edited("to ", [.pick(3)], suggestions: ["go", "be", "see"]).text, "to see ")
        var editor = LineEditor(text: "to ")
        XCTAssertEqual(editor.apply(.pick(3), suggestions: ["go"]), .unchanged)
        XCTAssertEqual(editor.apply(.tab, suggestions: []), .unchanged)
        XCTAssertEqual(editor.text, "to ")
    }

    func testBackspaceDeletesWholeGraphemes() {
        XCTAssertEqual(edited("hi 👨‍👩‍👧", [.backspace]).text, "hi ", "a ZWJ family emoji is one character")
        XCTAssertEqual(edited("flag 🇫🇷", [.backspace]).text, "flag ")
        var editor = LineEditor()
        editor.insert("cafe")
        editor.insert("\u{301}")  // combining acute typed on its own joins the e
        XCTAssertEqual(editor.characters.count, 4)
        XCTAssertEqual(editor.text, "cafe\u{301}")
        XCTAssertEqual(editor.apply(.backspace, suggestions: []), .changed)
        XCTAssertEqual(editor.text, "caf")
        XCTAssertEqual(edited("", [.backspace]).text, "")
    }

    func testControlWDeletesThePreviousWord() {
        XCTAssertEqual(edited("hello big world  ", [.deleteWordBackward]).text, "hello big ")
        XCTAssertEqual(edited("hello big world", [.deleteWordBackward, .deleteWordBackward]).text, "hello ")
        let middle = edited("one two three", cursor: 7, [.deleteWordBackward])
        XCTAssertEqual(middle.text, "one  three")
        XCTAssertEqual(middle.cursor, 4)
    }

    func testControlUClearsTheLineAndControlKCutsToTheEnd() {
        let cleared = edited("some text", cursor: 4, [.clearLine])
        XCTAssertEqual(cleared.text, "")
        XCTAssertEqual(cleared.cursor, 0)
        XCTAssertEqual(edited("some text", cursor: 4, [.deleteToEnd]).text, "some")
    }

    func testCursorMovesAndInsertsInTheMiddle() {
        var editor = LineEditor(text: "héllo")
        XCTAssertEqual(editor.apply(.right, suggestions: []), .unchanged, "already at the end")
        _ = editor.apply(.left, suggestions: [])
        _ = editor.apply(.left, suggestions: [])
        XCTAssertEqual(editor.textBeforeCursor, "hél")
        _ = editor.apply(.home, suggestions: [])
        XCTAssertEqual(editor.cursor, 0)
        XCTAssertEqual(editor.apply(.left, suggestions: []), .unchanged)
        _ = editor.apply(.right, suggestions: [])
        _ = editor.apply(.text("X"), suggestions: [])
        XCTAssertEqual(editor.text, "hXéllo")
        XCTAssertEqual(editor.textBeforeCursor, "hX")
        _ = editor.apply(.end, suggestions: [])
        XCTAssertEqual(editor.cursor, 6)
        _ = editor.apply(.home, suggestions: [])
        _ = editor.apply(.deleteForward, suggestions: [])
        XCTAssertEqual(editor.text, "Xéllo")
    }

    func testEnterControlDAndControlC() {
        var editor = LineEditor(text: "  I would  ")
        XCTAssertEqual(editor.apply(.enter, suggestions: []), .submit("  I would  "), "the editor does not trim")
        XCTAssertTrue(editor.isEmpty)
        XCTAssertEqual(editor.apply(.endOfInput, suggestions: []), .endOfInput)
        XCTAssertEqual(editor.apply(.interrupt, suggestions: []), .interrupt)
        editor = LineEditor(text: "abc", cursor: 1)
        XCTAssertEqual(editor.apply(.endOfInput, suggestions: []), .changed, "Ctrl-D on text deletes forward")
        XCTAssertEqual(editor.text, "ac")
        XCTAssertEqual(editor.apply(.interrupt, suggestions: []), .changed, "Ctrl-C on text clears it")
        XCTAssertEqual(editor.text, "")
    }

    func testInsertedControlCharactersAreDroppedAndLengthIsCapped() {
        var editor = LineEditor()
        XCTAssertTrue(editor.insert("a\u{1B}[31mb\u{7}c"))
        XCTAssertEqual(editor.text, "a[31mbc")
        XCTAssertFalse(editor.insert("\u{1B}\u{9B}"), "nothing left to insert")
        editor.insert(String(repeating: "x", count: LineEditor.maximumLength + 50))
        XCTAssertEqual(editor.characters.count, LineEditor.maximumLength)
        XCTAssertFalse(editor.insert("y"))
    }
}

/// The editing habits of phone keyboards (found from outside: "help" + Tab + "," left "help ,").
final class REPLLineEditorHabitTests: XCTestCase {
    func testTheAutomaticSpaceGivesWayToClosingPunctuation() {
        var editor = LineEditor(text: "I need hel")
        XCTAssertEqual(editor.apply(.tab, suggestions: ["help"]), .changed)
        XCTAssertEqual(editor.text, "I need help ")
        _ = editor.apply(.text(","), suggestions: [])
        XCTAssertEqual(editor.text, "I need help,")
        _ = editor.apply(.text(" now"), suggestions: [])
        XCTAssertEqual(editor.text, "I need help, now")

        // Only the space the acceptance added, and only right after it: a space typed by hand stays.
        var typed = LineEditor(text: "I need help ")
        _ = typed.apply(.text(","), suggestions: [])
        XCTAssertEqual(typed.text, "I need help ,")
        var later = LineEditor(text: "I need hel")
        _ = later.apply(.tab, suggestions: ["help"])
        _ = later.apply(.left, suggestions: [])
        _ = later.apply(.right, suggestions: [])
        _ = later.apply(.text("."), suggestions: [])
        XCTAssertEqual(later.text, "I need help .", "after another key the space is the user's")
        // A word (not punctuation) keeps the space.
        var word = LineEditor(text: "I need hel")
        _ = word.apply(.tab, suggestions: ["help"])
        _ = word.apply(.text("x"), suggestions: [])
        XCTAssertEqual(word.text, "I need help x")
    }

    func testAPasteIsInsertedAsOneLineAndRemembered() {
        var editor = LineEditor(text: "note: ")
        XCTAssertEqual(editor.apply(.paste("first line\nsecond\tline\r\n"), suggestions: []), .changed)
        XCTAssertEqual(editor.text, "note: first line second line ")
        XCTAssertTrue(editor.holdsPaste)
        XCTAssertEqual(editor.apply(.enter, suggestions: []), .submit("note: first line second line "))
        XCTAssertFalse(editor.holdsPaste, "a new line starts without paste")
        _ = editor.apply(.paste("x"), suggestions: [])
        _ = editor.apply(.clearLine, suggestions: [])
        _ = editor.apply(.text("typed"), suggestions: [])
        XCTAssertFalse(editor.holdsPaste, "the paste was cleared away")
    }
}
