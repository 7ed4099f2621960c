/// The single left-to-right pass behind `Tokenizer`. It walks Unicode scalars (the unit the KSR
/// word pattern is written in) and asks the `Character` view only for the extent of a punctuation
/// or symbol cluster, so every scalar is visited a bounded number of times: linear time, no
/// recursion, no backtracking beyond one scalar.
struct TokenScanner {
    typealias Index = String.Index

    let text: String
    let scalars: String.UnicodeScalarView
    private(set) var output: [Tokenizer.Scanned] = []
    /// Whether whitespace has been seen since the last token.
    private var pendingSpace = false

    init(text: String) {
        self.text = text
        self.scalars = text.unicodeScalars
    }

    // MARK: Natural text

    mutating func scanNatural() {
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let s = scalars[i]
            if ScalarClass.isSpace(s) {
                pendingSpace = true
                i = scalars.index(after: i)
            } else if ScalarClass.isInvisible(s) {
                i = scalars.index(after: i)
            } else if ScalarClass.isLetterOrDigit(s), let word = wordEnd(from: i) {
                var end = word.end
                var kind = Token.Kind.word
                if word.allDigits {
                    end = numberEnd(after: end)
                    kind = .number
                }
                emit(i..<end, kind)
                i = end
            } else {
                let end = clusterEnd(from: i)
                emit(i..<end, clusterKind(i..<end))
                i = end
            }
        }
    }

    /// The end of the word starting at `start` (a letter or digit) and whether it is digits only,
    /// or nil when the word would be empty (a digit that is really the start of an emoji).
    private func wordEnd(from start: Index) -> (end: Index, allDigits: Bool)? {
        var j = start
        var allDigits = true
        while true {
            // A run of letters and digits with their combining marks.
            while j < scalars.endIndex {
                let s = scalars[j]
                if ScalarClass.isLetterOrDigit(s) {
                    if allDigits, !ScalarClass.isDigit(s) { allDigits = false }
                } else if ScalarClass.isWordMark(s) {
                    allDigits = false
                } else {
                    break
                }
                j = scalars.index(after: j)
            }
            if j < scalars.endIndex, ScalarClass.isEmojiMarker(scalars[j]) {
                // `1️⃣`, `5️`: the last scalar belongs to an emoji; leave it out, and a joiner
                // it leaves dangling at the end (`a-1️⃣` is `a`, `-`, `1️⃣`).
                j = scalars.index(before: j)
                while j > start, ScalarClass.isJoiner(scalars[scalars.index(before: j)]) {
                    j = scalars.index(before: j)
                }
                guard j > start else { return nil }
                return (j, scalars[start..<j].allSatisfy(ScalarClass.isDigit))
            }
            // An internal apostrophe or hyphen continues the word only before a letter or digit.
            guard j < scalars.endIndex, ScalarClass.isJoiner(scalars[j]) else { break }
            let next = scalars.index(after: j)
            guard next < scalars.endIndex, ScalarClass.isLetterOrDigit(scalars[next]) else { break }
            let afterNext = scalars.index(after: next)
            if afterNext < scalars.endIndex, ScalarClass.isEmojiMarker(scalars[afterNext]) { break }
            allDigits = false
            j = next
        }
        return (j, allDigits)
    }

    /// Extends a digits-only word over `.digits` and `,digits` groups (`3.14`, `1,000,000`). A
    /// group that is not digits only (`3.5x`) is not taken; the scanner meets it again as a word.
    private func numberEnd(after end: Index) -> Index {
        var end = end
        while end < scalars.endIndex, ScalarClass.isDigitGroupSeparator(scalars[end]) {
            let groupStart = scalars.index(after: end)
            guard groupStart < scalars.endIndex, ScalarClass.isDigit(scalars[groupStart]),
                  let group = wordEnd(from: groupStart), group.allDigits else { break }
            end = group.end
        }
        return end
    }

    /// The end of the grapheme cluster that `start` is in. The `Character` view rounds `start`
    /// down to its cluster's start (it can sit mid-cluster after a word, e.g. on the skin-tone
    /// modifier of `a🏽`), so this is the next cluster boundary after `start`.
    private func clusterEnd(from start: Index) -> Index {
        let end = text.index(after: start)
        // Never fails to advance, whatever the rounding does.
        return end > start ? end : scalars.index(after: start)
    }

    /// Punctuation when the cluster starts with a punctuation character and is not an emoji
    /// (`‼️`, `#️⃣`); a symbol otherwise (`$`, `👍🏽`, a lone combining mark, private use...).
    private func clusterKind(_ range: Range<Index>) -> Token.Kind {
        let cluster = scalars[range]
        guard let first = cluster.first, ScalarClass.isPunctuation(first),
              !cluster.contains(where: ScalarClass.isEmojiMarker) else { return .symbol }
        return .punctuation
    }

    // MARK: Pretokenized text

    mutating func scanPretokenized() {
        var i = scalars.startIndex
        while i < scalars.endIndex {
            if ScalarClass.isSpace(scalars[i]) {
                pendingSpace = true
                i = scalars.index(after: i)
                continue
            }
            var end = scalars.index(after: i)
            while end < scalars.endIndex, !ScalarClass.isSpace(scalars[end]) {
                end = scalars.index(after: end)
            }
            emit(i..<end, .word)
            i = end
        }
    }

    // MARK: Output

    private mutating func emit(_ range: Range<Index>, _ kind: Token.Kind) {
        let token = Token(text: String(scalars[range]), kind: kind, spaceBefore: pendingSpace)
        output.append(Tokenizer.Scanned(token: token, range: range))
        pendingSpace = false
    }
}
