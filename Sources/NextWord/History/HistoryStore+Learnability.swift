import Foundation

extension HistoryStore {
    /// Whether `word` may be stored. Rejects what a keyboard must never remember or suggest back:
    /// - runs of 5 or more digits, and digit groups with separators holding 6+ digits
    ///   (card, phone and account numbers: "4242-4242-4242-4242", "555-123-456");
    /// - e-mail addresses and URLs ("a@b.org", "https://…", "www.…", domain-like "a.b.com");
    /// - secret-looking tokens: letters and digits mixed in 8+ characters ("sk_live_4eC39HqL…",
    ///   "abc12345x"), 12+ characters mixing three character classes, or 12+ characters with
    ///   three or more inner capitals ("HqLyjWDarjtT");
    /// - anything empty, longer than 48 characters, holding whitespace or control characters, or
    ///   with no letter and no digit (punctuation).
    /// Short words with a digit, such as "hunter2" or "mp3", are learned.
    public static func isLearnable(_ word: String) -> Bool {
        Learnability.isLearnable(HistoryText.normalize(word))
    }

    /// Stands in for a chunk of a line that must not be learned: refused by ``isLearnable(_:)``, so
    /// it is never stored and no n-gram spans it.
    public static let redactedToken = "\u{FFFD}"

    /// The tokens of a committed line as they should be learned. Each whitespace-separated chunk
    /// is judged whole before it is cut into tokens: the tokenizer splits `jane.doe@example.com`,
    /// `https://host/path?token=…`, `sk_live_4eC39…` or `P@ssw0rd` at their punctuation into
    /// harmless-looking words ("jane", "example", "token", "live"), which ``isLearnable(_:)`` alone
    /// would accept. A chunk that, without its leading and trailing punctuation, is an address or
    /// looks like a secret or a number (the rules of ``isLearnable(_:)`` except length) becomes
    /// one ``redactedToken``. Other chunks give their tokens, apostrophes normalized.
    public static func tokensForLearning(line: String, tokenizer: Tokenizer = Tokenizer(mode: .natural)) -> [String] {
        var tokens: [String] = []
        for chunk in line.split(whereSeparator: \.isWhitespace) {
            if let first = chunk.firstIndex(where: Learnability.isWordCharacter),
               let last = chunk.lastIndex(where: Learnability.isWordCharacter),
               Learnability.isSensitive(HistoryText.normalize(String(chunk[first...last]))) {
                if tokens.last != redactedToken { tokens.append(redactedToken) }
                continue
            }
            for token in tokenizer.tokenize(String(chunk)) { tokens.append(Tokenizer.normalizeApostrophes(token.text)) }
        }
        return tokens
    }
}

/// The text normalization shared by learning, lookups and forgetting.
enum HistoryText {
    /// NFC, with typographic apostrophes (’ ‘ ʼ ＇) made ASCII, so "don’t" and "don't" are one word.
    static func normalize(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar {
            case "\u{2019}", "\u{2018}", "\u{02BC}", "\u{FF07}": result.unicodeScalars.append("'")
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The lowercase key of a normalized word.
    static func lower(_ normalized: String) -> String {
        normalized.lowercased()
    }
}

/// The rules behind ``HistoryStore/isLearnable(_:)``, on normalized text.
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
    /// a secret or a long number: the rules of `isLearnable` but for length, so a long URL counts.
    static func isSensitive(_ chunk: String) -> Bool {
        guard let profile = Profile(chunk, stopAtSpaceOrControl: false) else { return false }
        return profile.isSecretOrNumber || looksLikeAddress(chunk)
    }

    /// A letter or digit (with any marks on it): what a chunk keeps at its edges.
    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber
    }

    /// Counts of character classes in a word, in one pass.
    struct Profile {
        var length = 0, letters = 0, digits = 0, uppers = 0, innerUppers = 0, lowers = 0, symbols = 0
        var longestDigitRun = 0

        /// Nil when `stopAtSpaceOrControl` and the text holds whitespace, control or format characters.
        init?(_ word: String, stopAtSpaceOrControl: Bool) {
            length = word.count
            var digitRun = 0
            for (index, scalar) in word.unicodeScalars.enumerated() {
                let properties = scalar.properties
                if properties.isWhitespace || properties.generalCategory == .control
                    || properties.generalCategory == .format {
                    if stopAtSpaceOrControl { return nil }
                    continue
                }
                if ("0"..."9").contains(scalar) {
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
        }

        /// Card, phone and account numbers, and secret-looking mixes of letters and digits.
        var isSecretOrNumber: Bool {
            if longestDigitRun >= 5 { return true }
            if digits >= 6 && letters == 0 { return true }  // "4242-4242", "12.345.678", "06/12/2024"
            if letters > 0 && digits > 0 && length >= 8 { return true }
            if length >= 12 {
                let classes = [lowers > 0, uppers > 0, digits > 0, symbols > 0].filter { $0 }.count
                if classes >= 3 { return true }
                if lowers > 0 && innerUppers >= 3 { return true }
            }
            return false
        }
    }

    /// E-mail addresses and URLs: "@" between two non-empty parts, "scheme://", "www.", or a
    /// domain-like run of labels ending in a 2-24 letter top-level label ("a.b.com", "mail.co.uk").
    /// Abbreviations such as "e.g." or "U.S." have one-letter labels and stay learnable.
    static func looksLikeAddress(_ word: String) -> Bool {
        if let at = word.firstIndex(of: "@"), at != word.startIndex, word.index(after: at) != word.endIndex {
            return true
        }
        let lower = word.lowercased()
        if lower.contains("://") || lower.hasPrefix("www.") { return true }
        var labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        if labels.last == "" { labels.removeLast() }  // a sentence's final dot
        guard labels.count >= 2, !labels.contains(where: \.isEmpty) else { return false }
        guard let top = labels.last, (2...24).contains(top.count),
              top.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) }) else { return false }
        return labels.dropLast().allSatisfy { label in
            label.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" }
        }
    }
}

/// One token of a committed line, as `learn` sees it.
enum LearnedToken: Equatable {
    /// A word to learn: the normalized surface form and its lowercase key.
    case word(surface: String, lower: String)
    /// Punctuation or a refused word: not learned, and no n-gram spans it.
    case breaker

    /// Classifies a line's tokens. Besides ``HistoryStore/isLearnable(_:)`` on each token, a run of
    /// number tokens (possibly split by "-", ".", "/" or "," tokens) holding 5+ digits in all is
    /// refused as a whole: "4242 4242 4242 4242" arrives as four harmless-looking tokens.
    static func classify(_ tokens: [String]) -> [LearnedToken] {
        let normalized = tokens.map(HistoryText.normalize)
        var result: [LearnedToken] = normalized.map { token in
            Learnability.isLearnable(token) ? .word(surface: token, lower: HistoryText.lower(token)) : .breaker
        }
        var index = 0
        while index < normalized.count {
            guard isNumber(normalized[index]) else { index += 1; continue }
            // Extend the run over "number (separator number)*".
            var numberIndices = [index]
            var digits = normalized[index].count
            var next = index + 1
            while next < normalized.count {
                if isNumber(normalized[next]) {
                    numberIndices.append(next)
                    digits += normalized[next].count
                    next += 1
                } else if isSeparator(normalized[next]), next + 1 < normalized.count,
                          isNumber(normalized[next + 1]) {
                    next += 1
                } else {
                    break
                }
            }
            if numberIndices.count >= 2 && digits >= 5 {
                for position in numberIndices { result[position] = .breaker }
            }
            index = next
        }
        return result
    }

    private static func isNumber(_ token: String) -> Bool {
        !token.isEmpty && token.unicodeScalars.allSatisfy { ("0"..."9").contains($0) }
    }

    private static func isSeparator(_ token: String) -> Bool {
        token == "-" || token == "." || token == "/" || token == ","
    }
}
