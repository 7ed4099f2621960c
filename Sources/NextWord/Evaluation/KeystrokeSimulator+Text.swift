/// The test text as the simulator sees it (docs/KSR.md, Input and Segmentation), prepared once per run
/// exactly as `shared/tools/presage_ksr.cpp` does: byte-order mark dropped, CRLF normalized to LF,
/// then decoded into Unicode scalars where every byte that is not part of valid UTF-8 becomes one
/// U+FFFD (one character, a literal).
struct KeystrokeDocument {
    /// The characters of the text; `scalars.count` is kn for an untruncated run.
    let scalars: [Unicode.Scalar]
    /// The text re-encoded as valid UTF-8 (an invalid byte as U+FFFD), which contexts are cut from.
    let utf8: [UInt8]
    /// `offsets[i]` is the byte offset of scalar `i` in `utf8`; `offsets[scalars.count] == utf8.count`.
    let offsets: [Int]

    init<Bytes: Collection>(bytes raw: Bytes) where Bytes.Element == UInt8 {
        var bytes = Array(raw)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        // Drop every CR that directly precedes an LF; a lone CR stays a literal.
        var normalized: [UInt8] = []
        normalized.reserveCapacity(bytes.count)
        for i in bytes.indices where !(bytes[i] == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A) {
            normalized.append(bytes[i])
        }
        let scalars = Self.decode(normalized)
        var utf8: [UInt8] = []
        utf8.reserveCapacity(normalized.count)
        var offsets: [Int] = []
        offsets.reserveCapacity(scalars.count + 1)
        for scalar in scalars {
            offsets.append(utf8.count)
            Self.appendUTF8(scalar, to: &utf8)
        }
        offsets.append(utf8.count)
        self.scalars = scalars
        self.utf8 = utf8
        self.offsets = offsets
    }

    /// The text of the scalars in `range`, as a String.
    func text(_ range: Range<Int>) -> String {
        String(decoding: utf8[offsets[range.lowerBound]..<offsets[range.upperBound]], as: UTF8.self)
    }

    /// The end (exclusive) of the word starting at `start`, whose first scalar is a letter or digit:
    /// the maximal match of `[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*`.
    func wordEnd(from start: Int) -> Int {
        var j = start + 1
        while true {
            while j < scalars.count && Self.isLetterOrDigit(scalars[j]) { j += 1 }
            if j + 1 < scalars.count && Self.isJoiner(scalars[j]) && Self.isLetterOrDigit(scalars[j + 1]) {
                j += 2
                continue
            }
            return j
        }
    }

    /// Decodes UTF-8 the way the reference does: a well-formed sequence (no overlong forms, no
    /// surrogates, nothing above U+10FFFF) is one scalar; any other byte is one U+FFFD on its own,
    /// so the bytes after a broken lead byte are each looked at again. Swift's own repairing decoder
    /// folds a maximal broken subsequence into one U+FFFD, which would change kn.
    static func decode(_ s: [UInt8]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(s.count)
        let n = s.count
        var i = 0
        while i < n {
            let b = s[i]
            var value: UInt32 = 0xFFFD
            var length = 1
            var need = 0
            if b < 0x80 {
                value = UInt32(b)
            } else if b >= 0xC2 && b <= 0xDF {
                value = UInt32(b & 0x1F); need = 1
            } else if b >= 0xE0 && b <= 0xEF {
                value = UInt32(b & 0x0F); need = 2
            } else if b >= 0xF0 && b <= 0xF4 {
                value = UInt32(b & 0x07); need = 3
            }
            if need > 0 {
                var ok = i + need < n
                var k = 1
                while ok && k <= need {
                    let c = s[i + k]
                    if c & 0xC0 != 0x80 { ok = false } else { value = (value << 6) | UInt32(c & 0x3F) }
                    k += 1
                }
                if ok && ((need == 2 && value < 0x800) || (need == 3 && (value < 0x10000 || value > 0x10FFFF))
                          || (value >= 0xD800 && value <= 0xDFFF)) {
                    ok = false
                }
                if ok { length = need + 1 } else { value = 0xFFFD }
            }
            result.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            i += length
        }
        return result
    }

    /// Appends the UTF-8 encoding of `c`.
    static func appendUTF8(_ c: Unicode.Scalar, to out: inout [UInt8]) {
        let v = c.value
        switch v {
        case ..<0x80:
            out.append(UInt8(v))
        case ..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case ..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// `\p{L}` or `\p{N}`: general categories L* and N*.
    static func isLetterOrDigit(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39)
        }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// The characters that may join two runs of letters and digits inside a word: `'`, `’`, `-`.
    static func isJoiner(_ c: Unicode.Scalar) -> Bool {
        c == "'" || c == "\u{2019}" || c == "-"
    }

    /// Simple (one-to-one) per-scalar lowercase mapping, as ICU's `u_tolower`. Swift only exposes the
    /// full mapping (`lowercaseMapping`), which equals the simple one whenever it is a single scalar.
    /// The one scalar whose full lowercase mapping is longer is U+0130 (İ → i + U+0307), whose simple
    /// mapping is `i`.
    static func simpleLowercase(_ c: Unicode.Scalar) -> Unicode.Scalar {
        if c.isASCII {
            return c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(UInt8(c.value + 0x20)) : c
        }
        if c == "\u{130}" { return "i" }
        let mapped = c.properties.lowercaseMapping.unicodeScalars
        if let first = mapped.first, mapped.index(after: mapped.startIndex) == mapped.endIndex {
            return first
        }
        return c
    }

    /// The scalars of `s`, each simply lowercased: the key both the target and suggestions are
    /// compared by.
    static func matchKey<S: StringProtocol>(_ s: S) -> [Unicode.Scalar] {
        s.unicodeScalars.map(simpleLowercase)
    }
}
