import Foundation

/// A committed line as every learner consumes it: the history store on disk, the in-memory user
/// model, the caches. One value, made once, by one set of rules (`LearningPolicy`), so no store can
/// learn a piece of a secret that another refused.
public struct CommittedLine: Sendable, Equatable {
    /// The line's tokens: words to learn, punctuation (context only) and breakers (refused and
    /// redacted text).
    let tokens: [LearnedToken]

    /// The words to learn, normalized surface form and lowercase key, in order.
    public var words: [(surface: String, lower: String)] { HistoryStore.extract(tokens).words }

    /// The words' 2- and 3-grams: after the line's start and punctuation too, never across a breaker.
    public var ngrams: [(context: String, word: String, order: Int)] { HistoryStore.extract(tokens).ngrams }

    public var isEmpty: Bool { !tokens.contains { if case .word = $0 { return true } else { return false } } }

    public static func == (a: CommittedLine, b: CommittedLine) -> Bool { a.tokens == b.tokens }
}

/// What may be learned from what the user types, and how a committed line becomes a `CommittedLine`.
///
/// Never learned (each rule with tests in HistoryLearnabilityTests and the privacy fuzz test):
/// - numbers of any length, and a token holding digits next to one (IBAN "DE89 3704 …", "4111 1111");
/// - addresses, judged whole before the tokenizer cuts them: e-mail, URLs with or without a scheme
///   ("github.com/x", "mybank.com/login?user=jsmith"), IP addresses;
/// - secret-looking tokens (letters and digits mixed in 8+ characters, long mixed-class strings);
/// - whatever follows a secret marker ("password:", "pin is", "passcode", "api key", …);
/// - non-words, and words over 48 characters.
public enum LearningPolicy {
    /// Splits `text` into lines and prepares each; empty results are dropped.
    public static func committedLines(_ text: String, tokenizer: Tokenizer = Tokenizer(mode: .natural)) -> [CommittedLine] {
        text.split(whereSeparator: \.isNewline).map { committedLine(String($0), tokenizer: tokenizer) }.filter { !$0.isEmpty }
    }

    /// One line: chunks judged whole (addresses, secrets, marker-protected values), then the
    /// tokens of the rest classified (numbers, secret-looking words).
    public static func committedLine(_ line: String, tokenizer: Tokenizer = Tokenizer(mode: .natural)) -> CommittedLine {
        var scanner = LearningScanner()
        scanner.feed(line: line, tokenizer: tokenizer)
        return CommittedLine(tokens: scanner.tokens)
    }

    /// Words after which the next value is a secret, whatever it looks like ("password hunter2").
    static let strongMarkers: Set<String> = [
        "password", "passwd", "pwd", "passcode", "passphrase", "pincode", "otp", "cvv", "cvc", "cvv2",
        "ssn", "iban", "apikey", "api-key", "api_key", "passwort", "kennwort", "contraseña", "senha",
    ]
    /// Ordinary words that mark a secret only when a link follows them ("pin: 1234", "my key is x",
    /// "user=jsmith"): "pin the tail" and "the key to it" are learned as usual.
    static let weakMarkers: Set<String> = ["pin", "key", "token", "secret", "login", "user", "username", "code"]
    /// Words between a marker and its value ("pin is 1234", "password = x", "pin code: x").
    static let markerLinks: Set<String> = ["is", "was", "=", ":", "-", "code"]

    /// Where a line is in a "marker [links] value" pattern, chunk by chunk.
    struct MarkerState {
        /// A marker was seen; `linked` once a link (or an attached ":"/"=") followed it.
        var armed = false, strong = false, linked = false

        /// Whether `chunk` (lowercased core `word`, nil for bare punctuation) is the protected value;
        /// updates the state either way.
        mutating func protects(chunk: Substring, word: String?) -> Bool {
            let endsWithLink = chunk.last == ":" || chunk.last == "="
            if armed {
                if word == nil || LearningPolicy.markerLinks.contains(word ?? "") {
                    linked = true
                    return false
                }
                let isValue = strong || linked
                armed = false
                if isValue { return true }
            }
            if let word, LearningPolicy.strongMarkers.contains(word) {
                (armed, strong, linked) = (true, true, endsWithLink)
            } else if let word, LearningPolicy.weakMarkers.contains(word) {
                (armed, strong, linked) = (true, false, endsWithLink)
            }
            return false
        }
    }
}

extension HistoryStore {
    /// Whether `word` may be stored. Rejects what a keyboard must never remember or suggest back:
    /// - numbers: any token made only of digits (with marks on them) and separators ("2024",
    ///   "4242-4242", "06/12/2024"), and 5+ digit runs inside other tokens;
    /// - e-mail addresses, URLs and IP addresses ("a@b.org", "https://…", "www.…", "a.b.com",
    ///   "a.com/path", "10.0.0.1");
    /// - secret-looking tokens: letters and digits mixed in 8+ characters ("sk_live_4eC39HqL…",
    ///   "abc12345x"), 12+ characters mixing three character classes, or 12+ characters with
    ///   three or more inner capitals ("HqLyjWDarjtT");
    /// - anything empty, longer than 48 characters, holding whitespace or control characters, or
    ///   with no letter and no digit (punctuation).
    /// Short words with letters and a digit, such as "hunter2" or "mp3", are learned (but not
    /// after a secret marker, nor next to a number: `LearningPolicy`).
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
    /// one ``redactedToken``, and so does the chunk after a secret marker ("password: x") or the
    /// part after the marker in the same chunk ("pin:1234"). Other chunks give their tokens,
    /// apostrophes normalized.
    public static func tokensForLearning(line: String, tokenizer: Tokenizer = Tokenizer(mode: .natural)) -> [String] {
        var scanner = LearningScanner()
        scanner.feed(line: line, tokenizer: tokenizer)
        return scanner.texts
    }
}

/// The learning policy applied chunk by chunk (whitespace-separated pieces of a line), keeping the
/// little state the rules need across chunks: whether a secret marker wants the next value, and
/// the last token (a word with digits beside a number goes with it). `LearningPolicy` runs it over
/// whole lines; the engine runs it incrementally over the document being typed, so its document
/// memory holds what learning the text would learn, and the words of its addresses besides
/// (`readsAddresses`).
struct LearningScanner: Sendable {
    /// Every token so far, classified; `texts` has the same tokens as text, a redacted run as one
    /// ``HistoryStore/redactedToken``.
    private(set) var tokens: [LearnedToken] = []
    private(set) var texts: [String] = []
    private var markers = LearningPolicy.MarkerState()
    /// The last token that was not a separator, and whether it was a number or a redaction.
    private var lastIndex: Int?
    private var lastIsNumber = false
    /// Tokens before this index were handed out by `takeSettledWords`.
    private var taken = 0
    /// Whether an address is read as its words instead of refused whole: true for the document on
    /// the screen, whose own names and hosts ("richard.shapiro@enron.com", then "Shapiro") come
    /// back in the same text, and which is never stored. Numbers, secret-looking tokens and marker
    /// values stay refused either way, and what is learned never holds an address.
    let readsAddresses: Bool

    init(readsAddresses: Bool = false) {
        self.readsAddresses = readsAddresses
    }

    /// Separators that do not break a number from the word beside it ("DE89-3704", "(555) 123").
    private static let separators: Set<String> = ["-", ".", "/", ",", "(", ")", "+"]

    /// The chunks of one line (no line break inside), in order.
    mutating func feed(line: some StringProtocol, tokenizer: Tokenizer) {
        for chunk in line.split(whereSeparator: \.isWhitespace) { feed(chunk: Substring(chunk), tokenizer: tokenizer) }
    }

    mutating func feed(chunk: Substring, tokenizer: Tokenizer) {
        let core = Learnability.core(of: chunk)
        let word = core.map { HistoryText.normalize(String($0)).lowercased() }
        if markers.protects(chunk: chunk, word: word) { return redact() }
        let markerSplit = Self.markerSplit(in: chunk)
        if let core {
            let normalized = HistoryText.normalize(String(core))
            if Learnability.isSensitive(normalized) {
                // Even on the screen, an address is refused whole after a marker ("password:https://…").
                guard readsAddresses, !Learnability.isSecretOrNumber(normalized), markerSplit == nil else { return redact() }
                return feed(address: chunk, tokenizer: tokenizer)
            }
        }
        // "password:hunter2" / "pin=1234": the marker is learned, what follows it is not.
        if let split = markerSplit {
            for token in tokenizer.tokenize(String(chunk[...split])) { feed(token: token.text) }
            return redact()
        }
        for token in tokenizer.tokenize(String(chunk)) { feed(token: token.text) }
    }

    /// Where a "marker:value" or "marker=value" chunk ("pin:1234", "password=x") puts its ":" or
    /// "=", nil for any other chunk.
    private static func markerSplit(in chunk: Substring) -> Substring.Index? {
        guard let split = chunk.firstIndex(where: { $0 == ":" || $0 == "=" }),
              chunk[chunk.index(after: split)...].contains(where: Learnability.isWordCharacter) else { return nil }
        let head = HistoryText.normalize(String(chunk[..<split])).lowercased()
        return LearningPolicy.strongMarkers.contains(head) || LearningPolicy.weakMarkers.contains(head) ? split : nil
    }

    /// An address on the screen (`readsAddresses`), read as its words up to its query or fragment:
    /// those can hold a login or a token ("?user=jsmith&token=…") and are refused whole.
    private mutating func feed(address chunk: Substring, tokenizer: Tokenizer) {
        let cut = chunk.firstIndex { $0 == "?" || $0 == "#" } ?? chunk.endIndex
        for token in tokenizer.tokenize(String(chunk[..<cut])) { feed(token: token.text) }
        if cut < chunk.endIndex { redact() }
    }

    /// One token, without the chunk-level rules (callers that have tokens only).
    mutating func feed(token text: String) {
        let token = HistoryText.normalize(Tokenizer.normalizeApostrophes(text))
        texts.append(Tokenizer.normalizeApostrophes(text))
        if Self.separators.contains(token) {
            tokens.append(.punctuation(token))  // the number adjacency carries over it
            return
        }
        if Learnability.isNumber(token) { return noteNumber(appending: .breaker) }
        let hasDigit = token.unicodeScalars.contains(where: Learnability.isDigit)
        if Learnability.isLearnable(token) && !(hasDigit && lastIsNumber) {
            tokens.append(.word(surface: token, lower: HistoryText.lower(token)))
        } else if LearnedToken.isPunctuation(token) {
            tokens.append(.punctuation(token))
        } else {
            tokens.append(.breaker)
        }
        lastIndex = tokens.count - 1
        lastIsNumber = false
    }

    /// A line ends: markers and adjacency do not reach into the next one.
    mutating func endLine() {
        markers = LearningPolicy.MarkerState()
        lastIndex = nil
        lastIsNumber = false
    }

    /// The lowercase words no later chunk can change, not handed out before. Only a word holding a
    /// digit can still change (a number after it refuses it), so it waits for the next token.
    mutating func takeSettledWords() -> [String] {
        var end = tokens.count
        if let lastIndex, lastIndex == tokens.count - 1, case .word(let surface, _) = tokens[lastIndex],
           surface.unicodeScalars.contains(where: Learnability.isDigit) {
            end = lastIndex
        }
        guard end > taken else { return [] }
        let words = tokens[taken ..< end].compactMap { token -> String? in
            if case .word(_, let lower) = token { return lower }
            return nil
        }
        taken = end
        return words
    }

    /// Drops what was handed out, so a long document keeps only its recent tokens.
    mutating func compact() {
        guard taken > 64 else { return }
        tokens.removeFirst(taken)
        texts.removeAll()
        if let index = lastIndex { lastIndex = index >= taken ? index - taken : nil }
        taken = 0
    }

    private mutating func redact() {
        if texts.last != HistoryStore.redactedToken { texts.append(HistoryStore.redactedToken) }
        noteNumber(appending: .breaker)
    }

    /// A number or a redaction: the word with digits just before it goes with it.
    private mutating func noteNumber(appending token: LearnedToken) {
        if let lastIndex, !lastIsNumber, case .word(let surface, _) = tokens[lastIndex],
           surface.unicodeScalars.contains(where: Learnability.isDigit), lastIndex >= taken {
            tokens[lastIndex] = .breaker
        }
        tokens.append(token)
        lastIndex = tokens.count - 1
        lastIsNumber = true
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
