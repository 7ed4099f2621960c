/// One key press (or pasted run of text) as the line editor sees it.
///
/// Control keys are already given their editing meaning here (Ctrl-A is `.home`, Ctrl-B is `.left`, ...)
/// so the editor has one case per action, whichever key or escape sequence produced it.
public enum Key: Equatable, Sendable {
    /// Printable text: one or more Unicode scalars typed or pasted in one read.
    case text(String)
    /// Enter (CR or LF).
    case enter
    /// Tab: accept the first suggestion.
    case tab
    /// Backspace (DEL 0x7F or BS 0x08): delete the grapheme before the cursor.
    case backspace
    /// Delete (`ESC [ 3 ~`): delete the grapheme under the cursor.
    case deleteForward
    /// Left/Right arrows (CSI or SS3 form, any modifiers) or Ctrl-B/Ctrl-F.
    case left, right
    /// Home, `ESC [ H`, `ESC O H`, `ESC [ 1 ~`, `ESC [ 7 ~` or Ctrl-A.
    case home
    /// End, `ESC [ F`, `ESC O F`, `ESC [ 4 ~`, `ESC [ 8 ~` or Ctrl-E.
    case end
    /// Ctrl-W: delete the word before the cursor.
    case deleteWordBackward
    /// Ctrl-U: clear the whole line.
    case clearLine
    /// Ctrl-K: delete from the cursor to the end of the line.
    case deleteToEnd
    /// Ctrl-C (byte 0x03 in raw mode): clear the line, or leave when it is empty.
    case interrupt
    /// Ctrl-D: leave on an empty line, else delete the grapheme under the cursor.
    case endOfInput
    /// Ctrl-L: redraw.
    case redraw
    /// Alt-1 ... Alt-9 (ESC followed by a digit): pick that suggestion.
    case pick(Int)
    /// A lone Escape key (ESC with nothing after it before the timeout).
    case escape
    /// Text pasted between the bracketed-paste markers (`ESC [ 200 ~` … `ESC [ 201 ~`), line
    /// breaks included: inserted as text, never taken as Enter.
    case paste(String)
}

/// Turns terminal input bytes into `Key`s.
///
/// It keeps state across `feed` calls because one read can end in the middle of a UTF-8 sequence or an
/// escape sequence. Invalid UTF-8 and unknown or malformed escape sequences are dropped; nothing here
/// can trap on input. A trailing lone ESC stays pending (it may be the start of a sequence) until
/// `flush()`, which the session calls when no further byte arrives within a short timeout.
public struct KeyDecoder: Sendable {
    private enum State: Sendable, Equatable {
        case ground
        /// Inside a UTF-8 sequence: the scalar so far, bytes still needed, and the valid range of the
        /// next continuation byte (narrower than 0x80...0xBF after E0, ED, F0 and F4).
        case utf8(value: UInt32, remaining: Int, nextRange: ClosedRange<UInt8>)
        case escape
        /// After `ESC [`: parameter and intermediate bytes so far.
        case csi(parameters: [UInt8])
        /// After `ESC O` (SS3, sent by terminals in application cursor mode).
        case ss3
        /// Inside a CSI sequence too long to be a key: skip to its final byte.
        case skippingCSI
        /// Between the bracketed-paste markers: bytes go to `pasteBytes` until `ESC [ 201 ~`.
        case paste
    }

    /// Most bytes kept of one paste (a line holds at most `LineEditor.maximumLength` characters);
    /// the rest is dropped, and the end marker still found.
    static let maximumPasteBytes = 4 * LineEditor.maximumLength
    private static let pasteEnd: [UInt8] = [0x1B, UInt8(ascii: "["), UInt8(ascii: "2"), UInt8(ascii: "0"), UInt8(ascii: "1"), UInt8(ascii: "~")]
    private var pasteBytes: [UInt8] = []
    /// The last bytes of the paste, to see the end marker even after `pasteBytes` is full.
    private var pasteTail: [UInt8] = []

    /// Longest CSI parameter string kept; longer (hostile or garbage) sequences are abandoned.
    static let maximumParameterBytes = 32

    private var state: State = .ground
    private var text = ""
    private var keys: [Key] = []
    /// Set after CR so that a following LF (CR LF from some terminals and pastes) is one Enter.
    private var lastWasCarriageReturn = false

    public init() {}

    /// True while a lone ESC is waiting to learn whether a sequence follows.
    public var hasPendingEscape: Bool { state == .escape }

    /// Decodes `bytes`, returning the complete keys; an incomplete sequence at the end is kept.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Key] where Bytes.Element == UInt8 {
        for byte in bytes { consume(byte) }
        flushText()
        defer { keys.removeAll(keepingCapacity: true) }
        return keys
    }

    /// Ends whatever is pending: a lone ESC becomes `.escape`; a cut-off UTF-8 or escape sequence is dropped.
    public mutating func flush() -> [Key] {
        var result: [Key] = []
        if state == .escape { result.append(.escape) }
        // A paste still open waits for its end marker (a long paste arrives in many reads).
        if state != .paste { state = .ground }
        return result
    }

    private mutating func consume(_ byte: UInt8) {
        let wasCR = lastWasCarriageReturn
        lastWasCarriageReturn = false
        switch state {
        case .ground:
            ground(byte, afterCarriageReturn: wasCR)
        case let .utf8(value, remaining, nextRange):
            guard nextRange.contains(byte) else {
                // Invalid continuation: drop the partial scalar and treat this byte afresh, so one
                // bad byte never swallows the valid character after it.
                state = .ground
                ground(byte, afterCarriageReturn: false)
                return
            }
            let value = value << 6 | UInt32(byte & 0x3F)
            if remaining == 1 {
                state = .ground
                if let scalar = Unicode.Scalar(value) { appendScalar(scalar) }
            } else {
                state = .utf8(value: value, remaining: remaining - 1, nextRange: 0x80...0xBF)
            }
        case .escape:
            escape(byte)
        case .csi(let parameters):
            csi(byte, parameters: parameters)
        case .skippingCSI:
            switch byte {
            case 0x20...0x3F: break
            case 0x40...0x7E: state = .ground
            default: state = .ground; ground(byte, afterCarriageReturn: false)
            }
        case .paste:
            pasteTail.append(byte)
            if pasteTail.count > Self.pasteEnd.count { pasteTail.removeFirst() }
            if pasteBytes.count < Self.maximumPasteBytes + Self.pasteEnd.count { pasteBytes.append(byte) }
            if pasteTail == Self.pasteEnd {
                if pasteBytes.suffix(Self.pasteEnd.count).elementsEqual(Self.pasteEnd) { pasteBytes.removeLast(Self.pasteEnd.count) }
                if pasteBytes.count > Self.maximumPasteBytes { pasteBytes.removeLast(pasteBytes.count - Self.maximumPasteBytes) }
                // Invalid UTF-8 becomes U+FFFD, which is then dropped: a paste never brings raw bytes.
                let pasted = String(decoding: pasteBytes, as: UTF8.self).filter { $0 != "\u{FFFD}" }
                pasteBytes.removeAll()
                pasteTail.removeAll()
                state = .ground
                emit(.paste(pasted))
            }
        case .ss3:
            state = .ground
            switch byte {
            case UInt8(ascii: "A"), UInt8(ascii: "B"): break  // up/down: no history recall yet
            case UInt8(ascii: "C"): emit(.right)
            case UInt8(ascii: "D"): emit(.left)
            case UInt8(ascii: "H"): emit(.home)
            case UInt8(ascii: "F"): emit(.end)
            default: break
            }
        }
    }

    private mutating func ground(_ byte: UInt8, afterCarriageReturn: Bool) {
        switch byte {
        case 0x1B: flushText(); state = .escape
        case 0x0D: emit(.enter); lastWasCarriageReturn = true
        case 0x0A: if !afterCarriageReturn { emit(.enter) }
        case 0x09: emit(.tab)
        case 0x7F, 0x08: emit(.backspace)
        case 0x01: emit(.home)
        case 0x02: emit(.left)
        case 0x03: emit(.interrupt)
        case 0x04: emit(.endOfInput)
        case 0x05: emit(.end)
        case 0x06: emit(.right)
        case 0x0B: emit(.deleteToEnd)
        case 0x0C: emit(.redraw)
        case 0x15: emit(.clearLine)
        case 0x17: emit(.deleteWordBackward)
        case 0x00..<0x20: break  // other C0 controls: no meaning here
        case 0x20..<0x80: appendScalar(Unicode.Scalar(byte))
        case 0xC2...0xDF: state = .utf8(value: UInt32(byte & 0x1F), remaining: 1, nextRange: 0x80...0xBF)
        case 0xE0: state = .utf8(value: 0, remaining: 2, nextRange: 0xA0...0xBF)  // no overlongs
        case 0xED: state = .utf8(value: 0x0D, remaining: 2, nextRange: 0x80...0x9F)  // no surrogates
        case 0xE1...0xEF: state = .utf8(value: UInt32(byte & 0x0F), remaining: 2, nextRange: 0x80...0xBF)
        case 0xF0: state = .utf8(value: 0, remaining: 3, nextRange: 0x90...0xBF)
        case 0xF4: state = .utf8(value: 4, remaining: 3, nextRange: 0x80...0x8F)  // <= U+10FFFF
        case 0xF1...0xF3: state = .utf8(value: UInt32(byte & 0x07), remaining: 3, nextRange: 0x80...0xBF)
        default: break  // stray continuation byte, C0, C1, F5...FF: never valid as a lead
        }
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "["): state = .csi(parameters: [])
        case UInt8(ascii: "O"): state = .ss3
        case 0x1B:
            // ESC ESC: the first was a lone Escape; the second may start a sequence.
            emit(.escape)
            state = .escape
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            state = .ground
            emit(.pick(Int(byte - UInt8(ascii: "0"))))
        default:
            // Alt with another key: no binding; drop both bytes.
            state = .ground
        }
    }

    private mutating func csi(_ byte: UInt8, parameters: [UInt8]) {
        switch byte {
        case 0x20...0x3F:  // parameter and intermediate bytes
            if parameters.count >= Self.maximumParameterBytes {
                state = .skippingCSI
            } else {
                state = .csi(parameters: parameters + [byte])
            }
        case 0x40...0x7E:  // final byte
            state = .ground
            if byte == UInt8(ascii: "~"), parameters == Array("200".utf8) {
                flushText()
                state = .paste
            } else if let key = Self.csiKey(final: byte, parameters: parameters) {
                emit(key)
            }
        default:
            // Not valid inside CSI: abandon the sequence, then read the byte normally (it may be ESC).
            state = .ground
            ground(byte, afterCarriageReturn: false)
        }
    }

    /// Maps a complete CSI sequence to a key; modifiers (`1;5C`) are ignored, unknown sequences
    /// (a stray paste end marker `201~`, focus events, function keys) give nil.
    static func csiKey(final: UInt8, parameters: [UInt8]) -> Key? {
        let first = parameters.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).first ?? []
        switch final {
        case UInt8(ascii: "C"): return .right
        case UInt8(ascii: "D"): return .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch String(decoding: first, as: UTF8.self) {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .deleteForward
            default: return nil
            }
        default: return nil
        }
    }

    private mutating func appendScalar(_ scalar: Unicode.Scalar) {
        // C1 controls (U+0080...U+009F) arrive as valid UTF-8 but must not reach the screen.
        if (0x80...0x9F).contains(scalar.value) { return }
        text.unicodeScalars.append(scalar)
    }

    private mutating func emit(_ key: Key) {
        flushText()
        keys.append(key)
    }

    private mutating func flushText() {
        guard !text.isEmpty else { return }
        keys.append(.text(text))
        text = ""
    }
}
