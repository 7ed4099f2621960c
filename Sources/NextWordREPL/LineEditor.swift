/// What applying a key did to the line.
public enum EditorEffect: Equatable, Sendable {
    /// Nothing changed (cursor already at the edge, no such suggestion, ...).
    case unchanged
    /// The text or the cursor moved: suggestions and the screen need refreshing.
    case changed
    /// Enter: the line as typed (untrimmed); the editor is empty again.
    case submit(String)
    /// Ctrl-D on an empty line.
    case endOfInput
    /// Ctrl-C on an empty line.
    case interrupt
}

/// The line being typed: grapheme clusters and a cursor, with the editing keys and suggestion accepting.
///
/// A value type with no I/O so every editing rule can be tested directly. The buffer holds `Character`s
/// (extended grapheme clusters), so Backspace removes a whole emoji or a letter with its combining accent,
/// never half of one. The cursor is an index into `characters` (0 = before the first).
///
/// Accepting a suggestion (Tab, Alt-digit) follows these rules:
/// - The partial word is the run of word characters (letters, digits, combining marks, apostrophes,
///   and hyphens after one of them, as the engine reads `crime-r`) just left of the cursor. If there
///   is one, it and the rest of that word right of the cursor are replaced by the suggestion.
/// - With no partial word, a word is inserted; a space goes before it unless the cursor is at the start
///   or after whitespace or an opening bracket/quote/dash/slash (`( [ { " “ ‘ « ¿ ¡ - /`).
/// - A suggestion made only of closing punctuation (`. , ; : ! ? ) ] } ” ’ » …`) attaches to the text
///   before it: spaces just left of the cursor are removed first.
/// - One space follows the insertion, unless the next character is already whitespace (then the cursor
///   just steps over it).
public struct LineEditor: Equatable, Sendable {
    /// Longest line accepted, in characters; further input is ignored (a paste cannot grow it without bound).
    public static let maximumLength = 8192

    public private(set) var characters: [Character]
    /// Insertion point: an index into `characters`, 0...count.
    public private(set) var cursor: Int
    /// Where the space that accepting a suggestion added is, while nothing else was done since:
    /// closing punctuation typed next takes its place ("help" + Tab + "," gives "help,").
    public private(set) var automaticSpace: Int?
    /// Whether the line holds pasted text (the REPL does not learn it: it is not the user's typing).
    public private(set) var holdsPaste = false

    public init(text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }

    /// Starts with `text` and the cursor at `cursor` (clamped to the line).
    public init(text: String, cursor: Int) {
        self.init(text: text)
        self.cursor = min(max(cursor, 0), characters.count)
    }

    public var text: String { String(characters) }
    /// The text suggestions are computed from: everything left of the cursor.
    public var textBeforeCursor: String { String(characters[..<cursor]) }
    public var isEmpty: Bool { characters.isEmpty }

    /// Applies one key; `suggestions` are the texts currently shown (for Tab and Alt-digit).
    public mutating func apply(_ key: Key, suggestions: [String]) -> EditorEffect {
        let space = automaticSpace
        automaticSpace = nil
        if characters.isEmpty { holdsPaste = false }  // whatever was pasted is gone
        switch key {
        case .text(let typed):
            if let space, space == cursor - 1, let first = typed.first, Self.isClosingPunctuation(first) {
                characters.remove(at: space)
                cursor -= 1
            }
            return insert(typed) ? .changed : .unchanged
        case .paste(let pasted):
            // One line: line breaks and tabs become spaces (Enter is the user's own key).
            let flat = String(pasted.map { $0.isNewline || $0 == "\t" ? " " : $0 })
            guard insert(flat) else { return .unchanged }
            holdsPaste = true
            return .changed
        case .enter:
            let line = text
            self = LineEditor()
            return .submit(line)
        case .tab:
            return accept(suggestions.first) ? .changed : .unchanged
        case .pick(let number):
            guard number >= 1, number <= suggestions.count else { return .unchanged }
            return accept(suggestions[number - 1]) ? .changed : .unchanged
        case .backspace:
            guard cursor > 0 else { return .unchanged }
            cursor -= 1
            characters.remove(at: cursor)
            return .changed
        case .deleteForward:
            return deleteForward()
        case .left:
            return moveCursor(to: cursor - 1)
        case .right:
            return moveCursor(to: cursor + 1)
        case .home:
            return moveCursor(to: 0)
        case .end:
            return moveCursor(to: characters.count)
        case .deleteWordBackward:
            // Like readline's unix-word-rubout: spaces before the cursor, then the non-spaces before them.
            var start = cursor
            while start > 0, characters[start - 1].isWhitespace { start -= 1 }
            while start > 0, !characters[start - 1].isWhitespace { start -= 1 }
            return removeRange(start..<cursor)
        case .clearLine:
            return removeRange(0..<characters.count)
        case .deleteToEnd:
            return removeRange(cursor..<characters.count)
        case .interrupt:
            if characters.isEmpty { return .interrupt }
            return removeRange(0..<characters.count)
        case .endOfInput:
            if characters.isEmpty { return .endOfInput }
            return deleteForward()
        case .redraw, .escape:
            return .unchanged
        }
    }

    /// Inserts typed or pasted text at the cursor; control characters are dropped and the line is capped
    /// at `maximumLength`. Returns whether anything was inserted.
    @discardableResult
    public mutating func insert(_ typed: String) -> Bool {
        var clean = String.UnicodeScalarView()
        clean.append(contentsOf: typed.unicodeScalars.filter { !Self.isControl($0) })
        var newCharacters = Array(String(clean))
        let room = Self.maximumLength - characters.count
        guard !newCharacters.isEmpty, room > 0 else { return false }
        if newCharacters.count > room { newCharacters.removeLast(newCharacters.count - room) }
        // Re-segment with the character before the cursor so that a combining accent or a ZWJ emoji part
        // typed on its own joins the character it belongs to, as it would in a String.
        var start = cursor
        var joined = newCharacters
        if cursor > 0 {
            start = cursor - 1
            joined = Array(String(characters[cursor - 1]) + String(newCharacters))
        }
        characters.replaceSubrange(start..<cursor, with: joined)
        cursor = start + joined.count
        // A character right of the cursor may also absorb the insertion's end (rare: text typed before a
        // combining mark); merge them so `characters` stays what `Array(text)` would be.
        if cursor < characters.count, cursor > 0 {
            let pair = String(characters[cursor - 1]) + String(characters[cursor])
            if pair.count == 1 {
                characters.replaceSubrange(cursor - 1...cursor, with: [Character(pair)])
            }
        }
        return true
    }

    /// Accepts a suggestion by the rules in the type's documentation. Returns false for nil or empty text.
    @discardableResult
    public mutating func accept(_ suggestion: String?) -> Bool {
        guard let suggestion else { return false }
        let word = Array(String(String.UnicodeScalarView(suggestion.unicodeScalars.filter { !Self.isControl($0) })))
        guard !word.isEmpty else { return false }
        var start = cursor
        while start > 0, Self.isWordCharacter(characters[start - 1])
            || (characters[start - 1] == "-" && start > 1 && Self.isWordCharacter(characters[start - 2])) { start -= 1 }
        let hasPartial = start < cursor
        if word.allSatisfy(Self.isClosingPunctuation) {
            if !hasPartial {
                while start > 0, characters[start - 1] == " " { start -= 1 }
            } else {
                start = cursor  // keep the word typed; the punctuation follows it
            }
            characters.replaceSubrange(start..<cursor, with: word)
            cursor = start + word.count
        } else {
            var end = cursor
            if hasPartial {
                while end < characters.count, Self.isWordCharacter(characters[end])
                    || (characters[end] == "-" && end + 1 < characters.count && Self.isWordCharacter(characters[end + 1])) { end += 1 }
            }
            var insertion = word
            if !hasPartial, start > 0, !Self.takesNoSpaceAfter(characters[start - 1]) {
                insertion.insert(" ", at: 0)
            }
            characters.replaceSubrange(start..<end, with: insertion)
            cursor = start + insertion.count
        }
        if cursor < characters.count, characters[cursor].isWhitespace {
            cursor += 1
        } else if characters.count < Self.maximumLength {
            characters.insert(" ", at: cursor)
            cursor += 1
            automaticSpace = cursor - 1
        }
        return true
    }

    private mutating func moveCursor(to position: Int) -> EditorEffect {
        let clamped = min(max(position, 0), characters.count)
        guard clamped != cursor else { return .unchanged }
        cursor = clamped
        return .changed
    }

    private mutating func deleteForward() -> EditorEffect {
        guard cursor < characters.count else { return .unchanged }
        characters.remove(at: cursor)
        return .changed
    }

    private mutating func removeRange(_ range: Range<Int>) -> EditorEffect {
        guard !range.isEmpty else { return .unchanged }
        characters.removeSubrange(range)
        cursor = range.lowerBound
        return .changed
    }

    /// Letters, digits and marks, plus apostrophes inside words like "don't".
    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "'" || character == "’"
            || character.unicodeScalars.first.map { $0.properties.generalCategory == .nonspacingMark } == true
    }

    static func isClosingPunctuation(_ character: Character) -> Bool {
        ".,;:!?)]}”’»…".contains(character)
    }

    static func takesNoSpaceAfter(_ character: Character) -> Bool {
        character.isWhitespace || "([{\"“‘«¿¡-/".contains(character)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
