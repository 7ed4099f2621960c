/// Everything one frame shows: the prompt line, up to nine suggestions and the status line.
public struct ScreenState: Equatable, Sendable {
    /// Shown before the text (at most half the width).
    public var prompt: String
    /// The line and cursor.
    public var editor: LineEditor
    /// Suggestion texts, best first; numbered from 1, the first highlighted.
    public var suggestions: [String]
    /// The dim line under the suggestions (model, incognito, timing).
    public var status: String

    public init(prompt: String = "> ", editor: LineEditor = LineEditor(), suggestions: [String] = [], status: String = "") {
        self.prompt = prompt
        self.editor = editor
        self.suggestions = suggestions
        self.status = status
    }
}

/// Turns a `ScreenState` into the exact bytes of one frame.
///
/// The frame is three terminal rows: the prompt line, the suggestion line and the (dim) status line.
/// Every frame starts and ends with the cursor on the prompt row, so it can be redrawn in place with
/// relative moves only: carriage return, each row rewritten then cleared to its end (`ESC [ K`), CR LF
/// down to the next row (which scrolls the screen the first time if the prompt is at the bottom), and
/// finally `ESC [ 2 A` back up and `ESC [ n C` to the cursor column. Nothing is erased before it is
/// redrawn, so there is no flicker, and the session writes a frame with a single `write`.
///
/// No row is ever wider than `width - 1` columns: a full-width row would leave the terminal in its
/// "pending wrap" state, where the next CR LF behaves differently between terminals. A line too long
/// for the screen scrolls horizontally to keep the cursor in view, marked with "…" at the cut ends.
public struct ScreenRenderer: Sendable {
    /// Terminal width in columns (at least 4 is assumed; smaller widths are treated as 4).
    public var width: Int

    static let reverse = "\u{1B}[7m"
    static let dim = "\u{1B}[2m"
    static let reset = "\u{1B}[0m"
    static let clearToEndOfLine = "\u{1B}[K"
    static let clearToEndOfScreen = "\u{1B}[J"

    public init(width: Int) {
        self.width = width
    }

    private var usable: Int { max(width, 4) - 1 }

    /// The bytes of one frame; expects the cursor on the prompt row and leaves it there, at the cursor column.
    public func frame(_ state: ScreenState) -> [UInt8] {
        let (line, cursorColumn) = promptLine(state)
        var out = "\r" + line + Self.clearToEndOfLine
        out += "\r\n" + suggestionLine(state.suggestions) + Self.clearToEndOfLine
        out += "\r\n" + statusLine(state.status) + Self.clearToEndOfLine
        out += "\u{1B}[2A\r"
        if cursorColumn > 0 { out += "\u{1B}[\(cursorColumn)C" }
        return Array(out.utf8)
    }

    /// Erases the frame (from the prompt row down), leaving the cursor at the start of the prompt row.
    public func clear() -> [UInt8] {
        Array(("\r" + Self.clearToEndOfScreen).utf8)
    }

    /// Erases the frame and prints `lines` in its place as ordinary terminal lines, which scroll up like
    /// any output; the next frame is then drawn below them.
    public func printAbove(_ lines: [String]) -> [UInt8] {
        var out = "\r" + Self.clearToEndOfScreen
        for line in lines { out += TerminalText.sanitized(line) + "\r\n" }
        return Array(out.utf8)
    }

    /// The prompt row's text and the cursor's column in it.
    func promptLine(_ state: ScreenState) -> (text: String, cursorColumn: Int) {
        let prompt = TerminalText.truncated(TerminalText.sanitized(state.prompt), toColumns: usable / 2)
        let promptWidth = TerminalText.columns(of: prompt)
        let chars = state.editor.characters
        let cursor = state.editor.cursor
        let available = usable - promptWidth
        let widths = chars.map(TerminalText.columns(of:))
        if widths.reduce(0, +) <= available {
            return (prompt + String(chars), promptWidth + widths[..<cursor].reduce(0, +))
        }
        // Scroll: start as far left as possible while the cursor cell stays inside the row, leaving room
        // for the "…" markers (left when text is hidden there; right when there is text after the cursor).
        var start = 0
        var beforeCursor = widths[..<cursor].reduce(0, +)
        let rightMarker = cursor < chars.count ? 1 : 0
        while start < cursor, beforeCursor > available - 1 - rightMarker - (start > 0 ? 1 : 0) {
            beforeCursor -= widths[start]
            start += 1
        }
        var text = prompt
        var used = 0
        if start > 0 {
            text += "…"
            used = 1
        }
        var index = start
        while index < chars.count, used + widths[index] <= available - (index < chars.count - 1 ? 1 : 0) {
            text.append(chars[index])
            used += widths[index]
            index += 1
        }
        if index < chars.count {
            text += "…"
        }
        return (text, promptWidth + (start > 0 ? 1 : 0) + beforeCursor)
    }

    /// " 1 the   2 to   3 a " (each label padded by a space) with the first in reverse video, cut to the width.
    func suggestionLine(_ suggestions: [String]) -> String {
        var out = ""
        var used = 0
        for (index, suggestion) in suggestions.enumerated() {
            let separator = index == 0 ? "" : " "
            let label = " \(index + 1) " + TerminalText.sanitized(suggestion) + " "
            let room = usable - used - separator.count
            guard room >= 4 else { break }
            let shown = TerminalText.truncated(label, toColumns: room)
            out += separator + (index == 0 ? Self.reverse + shown + Self.reset : shown)
            used += separator.count + TerminalText.columns(of: shown)
            if shown != label { break }
        }
        return out
    }

    func statusLine(_ status: String) -> String {
        guard !status.isEmpty else { return "" }
        return Self.dim + TerminalText.truncated(TerminalText.sanitized(status), toColumns: usable) + Self.reset
    }
}
