import Foundation

/// The rules behind ``HistoryStore/isLearnable(_:)`` and `LearningPolicy`, on normalized text.
enum Learnability {
    static let maxLength = 48

    static func isLearnable(_ word: String) -> Bool {
        // Length first: a megabyte-long "word" is refused without being scanned.
        let length = word.count
        guard length > 0, length <= maxLength, let profile = Profile(word, stopAtSpaceOrControl: true) else { return false }
        if profile.letters == 0 && profile.digits == 0 { return false }
        return !profile.isSecretOrNumber && !looksLikeAddress(word)
    }

    /// Whether a whole chunk of text (no whitespace; its edges' punctuation removed) is an address,
    /// a secret or a number: the rules of `isLearnable` but for length, so a long URL counts.
    static func isSensitive(_ chunk: String) -> Bool {
        guard let profile = Profile(chunk, stopAtSpaceOrControl: false) else { return false }
        return profile.isSecretOrNumber || looksLikeAddress(chunk)
    }

    /// `isSensitive` without the address rule: what even the document on the screen does not read.
    static func isSecretOrNumber(_ chunk: String) -> Bool {
        Profile(chunk, stopAtSpaceOrControl: false)?.isSecretOrNumber ?? false
    }

    /// The chunk without its leading and trailing punctuation, nil when nothing is left.
    static func core(of chunk: Substring) -> Substring? {
        guard let first = chunk.firstIndex(where: isWordCharacter), let last = chunk.lastIndex(where: isWordCharacter) else { return nil }
        return chunk[first...last]
    }

    /// A letter or digit (with any marks on it): what a chunk keeps at its edges.
    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber
    }

    /// A decimal digit of any script ("4", "٤", "４").
    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.numericType == .decimal
    }

    /// Combining marks: they ride on the character before them and change nothing about what it is
    /// ("4\u{301}" is still a digit of a card number).
    static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// A number: digits (marks allowed) with at most separators between them ("2024", "4242-4242",
    /// "1,000", "06/12", "10:30").
    static func isNumber(_ token: String) -> Bool {
        var digits = 0
        for scalar in token.unicodeScalars where !isMark(scalar) {
            if isDigit(scalar) { digits += 1; continue }
            guard numberSeparators.contains(scalar) else { return false }
        }
        return digits > 0
    }

    /// What may stand between the digits of a number.
    static let numberSeparators: Set<Unicode.Scalar> = ["-", ".", "/", ",", ":"]

    /// Counts of character classes in a word, in one pass.
    struct Profile {
        var length = 0, letters = 0, digits = 0, uppers = 0, innerUppers = 0, lowers = 0, symbols = 0
        var longestDigitRun = 0
        var isNumber = false

        /// Nil when `stopAtSpaceOrControl` and the text holds whitespace, control or format characters.
        init?(_ word: String, stopAtSpaceOrControl: Bool) {
            var digitRun = 0, index = 0
            // `Learnability.isNumber` in the same pass: digits and separators only (marks ignored).
            var onlyDigitsAndSeparators = true
            for scalar in word.unicodeScalars {
                let properties = scalar.properties
                if properties.isWhitespace || properties.generalCategory == .control
                    || properties.generalCategory == .format {
                    if stopAtSpaceOrControl { return nil }
                    onlyDigitsAndSeparators = false
                    continue
                }
                if Learnability.isMark(scalar) { continue }
                length += 1
                defer { index += 1 }
                if !Learnability.isDigit(scalar) && !Learnability.numberSeparators.contains(scalar) {
                    onlyDigitsAndSeparators = false
                }
                if Learnability.isDigit(scalar) {
                    digits += 1
                    digitRun += 1
                    longestDigitRun = max(longestDigitRun, digitRun)
                    continue
                }
                digitRun = 0
                if properties.isAlphabetic {
                    letters += 1
                    if properties.isUppercase {
                        uppers += 1
                        if index > 0 { innerUppers += 1 }
                    } else if properties.isLowercase {
                        lowers += 1
                    }
                } else if scalar != "'" && scalar != "-" {
                    symbols += 1
                }
            }
            isNumber = onlyDigitsAndSeparators && digits > 0
        }

        /// Numbers, and secret-looking mixes of letters and digits.
        var isSecretOrNumber: Bool {
            if isNumber { return true }
            if longestDigitRun >= 5 { return true }
            if digits >= 6 && letters == 0 { return true }  // "4242 4242" with other separators
            if letters > 0 && digits > 0 && length >= 8 { return true }
            if length >= 12 {
                let classes = [lowers > 0, uppers > 0, digits > 0, symbols > 0].filter { $0 }.count
                if classes >= 3 { return true }
                if lowers > 0 && innerUppers >= 3 { return true }
            }
            return false
        }
    }

    /// E-mail addresses, URLs and IP addresses: "@" between two non-empty parts, "scheme://",
    /// "www.", a domain-like run of labels ending in a 2-24 letter top-level label ("a.b.com",
    /// "mail.co.uk"), such a host followed by a path, query or port ("github.com/x",
    /// "mybank.com/login?user=j", "example.org:8080"), four dotted numbers, or colon-separated hex
    /// groups (IPv6). Abbreviations such as "e.g." or "U.S." have one-letter labels and stay learnable.
    static func looksLikeAddress(_ word: String) -> Bool {
        if let at = word.firstIndex(of: "@"), at != word.startIndex, word.index(after: at) != word.endIndex {
            return true
        }
        let lower = word.lowercased()
        if lower.contains("://") || lower.hasPrefix("www.") { return true }
        if isDomain(lower) { return true }
        // A host with a path, query, fragment or port after it.
        if let cut = lower.firstIndex(where: { "/?#:".contains($0) }), cut != lower.startIndex {
            let host = String(lower[..<cut])
            if isDomain(host) || isIPv4(host) { return true }
        }
        if isIPv4(lower) { return true }
        let colons = lower.filter { $0 == ":" }.count
        if colons >= 2, lower.allSatisfy({ $0 == ":" || $0.isHexDigit }), lower.contains(where: \.isHexDigit) { return true }
        return false
    }

    private static func isDomain(_ lower: String) -> Bool {
        var labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last == "" { labels.removeLast() }  // a sentence's final dot
        guard labels.count >= 2, !labels.contains(where: \.isEmpty) else { return false }
        guard let top = labels.last, (2...24).contains(top.count),
              top.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) }) else { return false }
        return labels.dropLast().allSatisfy { label in
            label.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" }
        }
    }

    private static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber)
        }
    }
}

/// One token of a committed line, as every learner sees it.
enum LearnedToken: Equatable, Sendable {
    /// A word to learn: the normalized surface form and its lowercase key.
    case word(surface: String, lower: String)
    /// Punctuation (",", ".", "?", a quote): never learned or offered as a word, but the user's
    /// n-grams read it as context as the LSTM does ("thanks , bob", ". see").
    case punctuation(String)
    /// A refused token (a number, an address, a secret, a redacted run): no n-gram spans it.
    case breaker

    /// The context a line's first word is learned and looked up after, as the model reads a line:
    /// after `</s>`.
    static let lineStart = "</s>"

    /// Punctuation the n-grams keep as context: one to three characters, none a letter, digit,
    /// whitespace or control character ("," "?!" "..." a quote).
    static func isPunctuation(_ token: String) -> Bool {
        !token.isEmpty && token.count <= 3 && token.allSatisfy { character in
            !Learnability.isWordCharacter(character) && !character.isWhitespace
                && !character.unicodeScalars.contains { $0.properties.generalCategory == .control }
        }
    }

    /// Each word of `tokens` with the context it is learned after, the two tokens before it
    /// (oldest first): words and punctuation since the line's start (`lineStart`) or since the
    /// last refused token. The one definition of the user's n-gram chains: the history store and
    /// the in-memory user model both learn from it.
    static func wordsInContext(_ tokens: [LearnedToken],
                               _ body: (_ surface: String, _ lower: String, _ context: ArraySlice<String>) -> Void) {
        var chain: [String] = [lineStart]
        for token in tokens {
            switch token {
            case .word(let surface, let lower):
                body(surface, lower, chain.suffix(2))
                chain.append(lower)
            case .punctuation(let text):
                chain.append(text)
            case .breaker:
                chain.removeAll()
            }
            if chain.count > 2 { chain.removeFirst(chain.count - 2) }
        }
    }

    /// Classifies a line's tokens: ``HistoryStore/isLearnable(_:)`` on each (numbers are refused
    /// there), and a word holding a digit next to a number is refused with it: "DE89 3704 0044"
    /// (an IBAN) or "4111 1111" arrive as harmless-looking tokens one by one. Separator tokens
    /// ("-", ".", "/", ",", "(", ")") between them do not break that adjacency. (`LearningScanner`
    /// without its chunk rules.)
    static func classify(_ tokens: [String]) -> [LearnedToken] {
        var scanner = LearningScanner()
        for token in tokens { scanner.feed(token: token) }
        return scanner.tokens
    }
}
