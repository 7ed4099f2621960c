import XCTest
@testable import NextWordREPL

/// A tiny terminal emulator for tests: enough of a VT100 (printing with deferred wrap, CR, LF, cursor
/// moves A/B/C/D/G, erase K/J, reverse video) to turn the REPL's output bytes into the rows a user sees.
/// Its width rules are written independently of `TerminalText` (CJK and emoji presentation are two
/// columns, marks and joiners attach to the previous cell) so that renderer tests check one against the other.
struct VirtualScreen {
    struct Cell: Equatable {
        var text = " "
        var reverse = false
        /// The right half of a two-column character.
        var isContinuation = false
    }

    let width: Int
    private(set) var rows: [[Cell]] = []
    private(set) var row = 0
    private(set) var column = 0
    private var pendingWrap = false
    private var reverse = false
    private var attachNext = false

    init(width: Int) { self.width = width }

    /// Interprets `bytes` (all of them: give whole output logs, since a UTF-8 sequence cut at the end
    /// of a chunk would be garbled).
    mutating func feed(_ bytes: [UInt8]) {
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "\u{1B}":
                guard index < scalars.count, scalars[index] == "[" else { index += 1; continue }
                index += 1
                var parameters = ""
                while index < scalars.count, (0x20...0x3F).contains(scalars[index].value) {
                    parameters.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { return }
                control(final: scalars[index], parameters: parameters)
                index += 1
            case "\r":
                column = 0
                pendingWrap = false
            case "\n":
                row += 1
                pendingWrap = false
            case "\u{08}":
                column = max(column - 1, 0)
                pendingWrap = false
            default:
                put(scalar)
            }
        }
    }

    private mutating func control(final: Unicode.Scalar, parameters: String) {
        let n = max(Int(parameters) ?? 1, 1)
        pendingWrap = false
        switch final {
        case "A": row = max(row - n, 0)
        case "B": row += n
        case "C": column = min(column + n, width - 1)
        case "D": column = max(column - n, 0)
        case "G": column = min(n - 1, width - 1)
        case "K": ensureRow(row); for c in column..<width { rows[row][c] = Cell() }
        case "J":
            ensureRow(row)
            for c in column..<width { rows[row][c] = Cell() }
            if rows.count > row + 1 { rows.removeSubrange((row + 1)...) }
        case "m":
            for code in parameters.split(separator: ";", omittingEmptySubsequences: false) {
                switch code {
                case "7": reverse = true
                case "", "0", "27": reverse = false
                default: break
                }
            }
        default: break
        }
    }

    private static func cellWidth(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if scalar.properties.isEmojiPresentation { return 2 }
        if (0x1100...0x115F).contains(v) || (0x3040...0x30FF).contains(v) || (0x4E00...0x9FFF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xFF00...0xFF60).contains(v) { return 2 }
        return 1
    }

    private mutating func put(_ scalar: Unicode.Scalar) {
        let category = scalar.properties.generalCategory
        if attachNext || category == .nonspacingMark || scalar.value == 0x200D || scalar.value == 0xFE0F
            || (0x1F3FB...0x1F3FF).contains(scalar.value) {
            attachNext = scalar.value == 0x200D
            attachToPrevious(scalar)
            return
        }
        let w = Self.cellWidth(scalar)
        if pendingWrap || column + w > width {
            row += 1
            column = 0
            pendingWrap = false
        }
        ensureRow(row)
        rows[row][column] = Cell(text: String(scalar), reverse: reverse)
        if w == 2 { rows[row][column + 1] = Cell(text: "", reverse: reverse, isContinuation: true) }
        column += w
        if column >= width {
            column = width - 1
            pendingWrap = true
        }
    }

    private mutating func attachToPrevious(_ scalar: Unicode.Scalar) {
        ensureRow(row)
        var c = pendingWrap ? column : column - 1
        while c > 0, rows[row][c].isContinuation { c -= 1 }
        guard c >= 0 else { return }
        rows[row][c].text.unicodeScalars.append(scalar)
    }

    private mutating func ensureRow(_ r: Int) {
        while rows.count <= r { rows.append(Array(repeating: Cell(), count: width)) }
    }

    /// Row `r` as text, trailing blanks removed.
    func line(_ r: Int) -> String {
        guard r < rows.count else { return "" }
        var text = rows[r].filter { !$0.isContinuation }.map(\.text).joined()
        while text.last == " " { text.removeLast() }
        return text
    }

    /// The text of row `r`'s reverse-video cells.
    func reversedText(_ r: Int) -> String {
        guard r < rows.count else { return "" }
        return rows[r].filter { $0.reverse && !$0.isContinuation }.map(\.text).joined()
    }

    /// Every row, trailing blank rows removed.
    var lines: [String] {
        var all = (0..<rows.count).map(line)
        while all.last == "" { all.removeLast() }
        return all
    }
}

final class REPLVirtualScreenTests: XCTestCase {
    func testCarriageReturnAndEraseToEndOfLineRewriteARow() {
        var screen = VirtualScreen(width: 10)
        screen.feed(Array("hello\r\u{1B}[Kab\r\nx".utf8))
        XCTAssertEqual(screen.lines, ["ab", "x"])
        XCTAssertEqual(screen.row, 1)
        XCTAssertEqual(screen.column, 1)
    }

    func testWideCharactersTakeTwoCellsAndMarksAttach() {
        var screen = VirtualScreen(width: 10)
        screen.feed(Array("日👍e\u{301}x".utf8))
        XCTAssertEqual(screen.line(0), "日👍e\u{301}x")
        XCTAssertEqual(screen.column, 6)  // 2 + 2 + 1 + 1
    }

    func testDeferredWrapAndCursorUp() {
        var screen = VirtualScreen(width: 4)
        screen.feed(Array("abcd".utf8))
        XCTAssertEqual(screen.row, 0, "writing the last column must not move to the next row yet")
        screen.feed(Array("e\u{1B}[1A\u{1B}[2C\u{1B}[7mZ\u{1B}[0m".utf8))
        XCTAssertEqual(screen.lines, ["abcZ", "e"])
        XCTAssertEqual(screen.reversedText(0), "Z")
    }
}
