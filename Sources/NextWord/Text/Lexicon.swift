import Foundation

/// Word counts by surface form, for completing words the model's vocabulary lacks and for
/// restoring case (`nasa` → `NASA`, `i` → `I`).
///
/// Surface forms are kept as they appear in text (case untouched, `’` normalized to `'`); a
/// lowercased key groups the forms of one word. File format: one `word<TAB>count` per line, by
/// count descending, ties in Unicode scalar order.
///
/// Memory is what limits the lexicon (the default one has 63,000 forms and lives in every engine),
/// so it is a few flat arrays with no hash table: the keys sorted by UTF-8 bytes (the same order as
/// Unicode scalars, and one in which all keys with a given prefix are contiguous) with their first
/// eight bytes as one integer, so that finding a word or a prefix is a binary search on integers;
/// each key's forms are one run of a single array. A small table holds the most frequent words for
/// one- and two-character prefixes, whose ranges are the long ones.
public struct Lexicon: Sendable {
    /// One surface form and how often it was seen.
    public struct Entry: Sendable, Hashable {
        public let word: String
        public let count: Int

        public init(word: String, count: Int) {
            self.word = word
            self.count = count
        }
    }

    /// Sum of all counts.
    public let totalCount: Int
    /// Every surface form, key after key in `keys` order; within a key most frequent first (on a
    /// tie the all-lowercase form, then scalar order).
    private let forms: [Entry]
    /// The lowercased keys (canonically composed when not ASCII), sorted by UTF-8 bytes.
    let keys: [String]
    /// Each key's first eight UTF-8 bytes, big-endian, zero-padded (no word holds NUL).
    private let heads: [UInt64]
    /// Key `g`'s forms are `forms[formStarts[g] ..< formStarts[g + 1]]`.
    let formStarts: [UInt32]
    /// The count of all forms of each key.
    private let totals: [Int]
    /// Key positions by total descending (ties: key order), for the empty prefix.
    private let byFrequency: [UInt32]
    /// The `shortPrefixDepth` most frequent keys for every key prefix of one or two scalars.
    private let shortPrefixTop: [String: [Int]]
    private static let shortPrefixDepth = 16

    /// A lexicon of `counts` (surface form → count). Apostrophes are normalized, merging the
    /// counts of `don’t` and `don't`; forms that cannot be a line of the file (empty, holding
    /// whitespace or a tab) and counts below 1 are left out.
    public init(counts: [String: Int]) {
        var merged: [String: Int] = [:]
        for (word, count) in counts where count > 0 && Vocabulary.wordProblem(word) == nil {
            let form = Tokenizer.normalizeApostrophes(word)
            merged[form] = Lexicon.saturatingSum(merged[form, default: 0], count)
        }
        self.init(distinct: merged.map { Entry(word: $0.key, count: $0.value) })
    }

    /// Builds every index from forms that are clean (positive counts, valid, normalized) and
    /// distinct, in any order. Runs at every start-up, so it sorts integer positions (by an 8-byte
    /// key prefix first) rather than moving strings around.
    init(distinct entries: [Entry]) {
        totalCount = entries.reduce(0) { Lexicon.saturatingSum($0, $1.count) }
        let entryKeys = entries.map { Lexicon.key(of: $0.word) }
        let entryHeads = entryKeys.map(Lexicon.head(of:))
        // Key bytes, then the order within a key: count descending, the all-lowercase form, bytes.
        let order = entries.indices.sorted { a, b in
            if entryHeads[a] != entryHeads[b] { return entryHeads[a] < entryHeads[b] }
            if entryKeys[a] != entryKeys[b] { return Vocabulary.precedesInScalarOrder(entryKeys[a], entryKeys[b]) }
            if entries[a].count != entries[b].count { return entries[a].count > entries[b].count }
            let aIsKey = entries[a].word == entryKeys[a], bIsKey = entries[b].word == entryKeys[b]
            if aIsKey != bIsKey { return aIsKey }
            return Vocabulary.precedesInScalarOrder(entries[a].word, entries[b].word)
        }
        var forms: [Entry] = [], keys: [String] = [], heads: [UInt64] = [], starts: [UInt32] = [], totals: [Int] = []
        forms.reserveCapacity(entries.count)
        for index in order {
            if keys.last.map({ $0 != entryKeys[index] }) ?? true {
                keys.append(entryKeys[index])
                heads.append(entryHeads[index])
                starts.append(UInt32(forms.count))
                totals.append(0)
            }
            forms.append(entries[index])
            totals[totals.count - 1] = Lexicon.saturatingSum(totals[totals.count - 1], entries[index].count)
        }
        starts.append(UInt32(forms.count))
        self.forms = forms
        self.keys = keys
        self.heads = heads
        self.formStarts = starts
        self.totals = totals
        self.byFrequency = keys.indices.sorted { a, b in totals[a] != totals[b] ? totals[a] > totals[b] : a < b }
            .map { UInt32($0) }
        self.shortPrefixTop = Lexicon.shortPrefixTops(keys: keys, totals: totals, included: nil)
    }

    /// For every key prefix of one or two scalars, its `shortPrefixDepth` keys of largest total
    /// (ties: key order), among the `included` positions when given. Keys are in byte order, so the
    /// keys sharing such a prefix are one run: one pass keeps a short ranked list per run, with no
    /// sort and no lookup per key.
    static func shortPrefixTops(keys: [String], totals: [Int], included: [Bool]?) -> [String: [Int]] {
        var tops: [String: [Int]] = [:]
        // The run open at each depth (one scalar, two scalars): its prefix's bytes and its ranked
        // positions. Prefixes are compared as bytes; a String is made once per run.
        var runs: [(prefix: [UInt8], top: [Int])] = [([], []), ([], [])]
        func close(_ depth: Int) {
            if !runs[depth].top.isEmpty { tops[String(decoding: runs[depth].prefix, as: UTF8.self)] = runs[depth].top }
        }
        for position in keys.indices where included?[position] ?? true {
            var key = keys[position]
            key.withUTF8 { bytes in
                var end = 0
                for depth in 0 ..< 2 where end < bytes.count {
                    // The next scalar's length from its lead byte (the key is valid UTF-8).
                    let lead = bytes[end]
                    end += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
                    let prefix = UnsafeBufferPointer(rebasing: bytes[..<min(end, bytes.count)])
                    if !runs[depth].prefix.elementsEqual(prefix) {
                        close(depth)
                        runs[depth] = (Array(prefix), [])
                    }
                    let total = totals[position]
                    // Later positions lose ties, so a full list keeps its last unless this one is larger.
                    if runs[depth].top.count == shortPrefixDepth, totals[runs[depth].top[shortPrefixDepth - 1]] >= total { continue }
                    let slot = runs[depth].top.firstIndex { totals[$0] < total } ?? runs[depth].top.count
                    runs[depth].top.insert(position, at: slot)
                    if runs[depth].top.count > shortPrefixDepth { runs[depth].top.removeLast() }
                }
            }
        }
        close(0)
        close(1)
        return tops
    }

    /// `word.lowercased()`, without Unicode case tables for the ASCII words most lexicons hold.
    static func lowercasedKey(_ word: String) -> String {
        var contiguous = word
        let ascii: String?? = contiguous.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }  // not ASCII: the full mapping
            guard bytes.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return .some(nil) }  // already lowercase
            return String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        switch ascii {
        case .none: return word.lowercased()
        case .some(.none): return word
        case .some(.some(let lowered)): return lowered
        }
    }

    /// The key a word is found under: lowercased, and canonically composed when it is not ASCII,
    /// so that `café` typed with a combining accent finds the composed form, as `String`'s own
    /// equality would (the keys are compared as bytes).
    static func key(of word: String) -> String {
        let lowered = lowercasedKey(word)
        return lowered.utf8.allSatisfy({ $0 < 0x80 }) ? lowered : lowered.precomposedStringWithCanonicalMapping
    }

    /// The first eight UTF-8 bytes of `key` as one big-endian integer, zero-padded: integers
    /// compare as the byte strings' first eight bytes do.
    static func head(of key: String) -> UInt64 {
        var head: UInt64 = 0, taken = 0
        for byte in key.utf8.prefix(8) {
            head = head << 8 | UInt64(byte)
            taken += 1
        }
        return taken == 0 ? 0 : head << (8 * (8 - taken))
    }

    /// Number of surface forms.
    public var count: Int { forms.count }

    /// Every surface form, by count descending, ties in Unicode scalar order (the file order).
    public var entries: [Entry] {
        forms.sorted { a, b in a.count != b.count ? a.count > b.count : Vocabulary.precedesInScalarOrder(a.word, b.word) }
    }

    /// How often exactly this surface form was seen (apostrophes normalized), 0 if never.
    public func count(of word: String) -> Int {
        let form = Tokenizer.normalizeApostrophes(word)
        guard let position = position(ofKey: Lexicon.key(of: form)) else { return 0 }
        return formsOf(position).first { $0.word == form }?.count ?? 0
    }

    /// How often the word was seen in any casing.
    public func totalCount(ofLowercased word: String) -> Int {
        position(of: word).map { totals[$0] } ?? 0
    }

    /// Up to `limit` words starting with `prefix`, compared case-insensitively (both lowercased,
    /// apostrophes normalized), most frequent first (ties in key order). Each word appears once,
    /// in its preferred casing, with the count of all its forms.
    public func completions(ofPrefix prefix: String, limit: Int) -> [(word: String, count: Int)] {
        completions(ofPrefix: prefix, limit: limit, in: nil)
    }

    /// `completions(ofPrefix:limit:)` among the words of `subset` only (all words when nil).
    func completions(ofPrefix prefix: String, limit: Int, in subset: LexiconSubset?) -> [(word: String, count: Int)] {
        guard limit > 0 else { return [] }
        let key = Lexicon.key(of: Tokenizer.normalizeApostrophes(prefix))
        let positions: [Int]
        if key.isEmpty {
            positions = byFrequency.lazy.map { Int($0) }.filter { subset?.included[$0] ?? true }.prefix(limit).map { $0 }
        } else if limit <= Lexicon.shortPrefixDepth, key.unicodeScalars.count <= 2 {
            positions = Array(((subset?.shortPrefixTop ?? shortPrefixTop)[key] ?? []).prefix(limit))
        } else {
            positions = topMatches(of: key, limit: limit, included: subset?.included)
        }
        return positions.map { (word: forms[Int(formStarts[$0])].word, count: totals[$0]) }
    }

    /// The words whose key `include` accepts, for completing from part of the lexicon (the
    /// engine's: the words its model's vocabulary lacks). One pass over the keys; `include` is
    /// given each key with its total count and the count of its forms with a capital first letter,
    /// so that one pass also serves whatever else the caller wants of every word.
    func subset(where include: (_ key: String, _ total: Int, _ capitalized: Int) -> Bool) -> LexiconSubset {
        let included = keys.indices.map { include(keys[$0], totals[$0], capitalizedCount(at: $0)) }
        return LexiconSubset(included: included,
                             shortPrefixTop: Lexicon.shortPrefixTops(keys: keys, totals: totals, included: included))
    }

    /// The most frequent surface form of a word (`nasa` → `NASA`, `i` → `I`, `the` → `the`), or
    /// nil for an unknown word. The argument is lowercased (and apostrophes normalized) first.
    public func preferredCasing(of lowercasedWord: String) -> String? {
        position(of: lowercasedWord).map { forms[Int(formStarts[$0])].word }
    }

    /// The share (0...1) of a word's occurrences whose first letter is a capital, or nil for an
    /// unknown word: near 1 for names, near the sentence-start rate for ordinary words.
    public func capitalizedShare(of lowercasedWord: String) -> Double? {
        position(of: lowercasedWord).flatMap(capitalizedShare(at:))
    }

    /// How often the word was seen in any casing, and how often with a capital first letter
    /// (one look-up; `UserModel.capitalizedUses` is the user's side).
    func capitalizedUses(of lowercasedWord: String) -> (capitalized: Int, total: Int)? {
        position(of: lowercasedWord).map { (capitalizedCount(at: $0), totals[$0]) }
    }

    private func capitalizedShare(at position: Int) -> Double? {
        guard totals[position] > 0 else { return nil }
        return Double(capitalizedCount(at: position)) / Double(totals[position])
    }

    /// The count of the forms of the key at `position` that start with a capital (an ASCII
    /// letter checked on its byte; anything else by its Unicode properties).
    private func capitalizedCount(at position: Int) -> Int {
        formsOf(position).reduce(0) { sum, form in
            guard let lead = form.word.utf8.first else { return sum }
            let capital = lead < 0x80 ? (lead >= 0x41 && lead <= 0x5A) : form.word.first?.isUppercase == true
            return capital ? Lexicon.saturatingSum(sum, form.count) : sum
        }
    }

    /// `preferredCasing(of:)` and `capitalizedShare(of:)` from one lookup (the ranker asks both
    /// for every word it offers).
    func usualCasing(of lowercasedWord: String) -> (preferred: String, capitalizedShare: Double)? {
        guard let position = position(of: lowercasedWord) else { return nil }
        return (forms[Int(formStarts[position])].word, capitalizedShare(at: position) ?? 1)
    }

    /// Counts from hostile files can be near `Int.max`; sums stop there instead of trapping.
    static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    /// The forms of the key at `position`, most frequent first.
    func formsOf(_ position: Int) -> ArraySlice<Entry> {
        forms[Int(formStarts[position]) ..< Int(formStarts[position + 1])]
    }

    /// The position of a word's key, any casing. At every keystroke for each offered word.
    private func position(of word: String) -> Int? {
        position(ofKey: Lexicon.key(of: Tokenizer.normalizeApostrophes(word)))
    }

    /// The first position whose key is not below `key` in byte order (`keys.count` if none).
    private func lowerBound(ofKey key: String) -> Int {
        let head = Lexicon.head(of: key)
        var low = 0, high = keys.count
        while low < high {
            let mid = low + (high - low) / 2
            let below = heads[mid] != head ? heads[mid] < head : Vocabulary.precedesInScalarOrder(keys[mid], key)
            if below { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func position(ofKey key: String) -> Int? {
        let position = lowerBound(ofKey: key)
        guard position < keys.count, heads[position] == Lexicon.head(of: key),
              keys[position].utf8.elementsEqual(key.utf8) else { return nil }
        return position
    }

    /// The `limit` most frequent keys that start with `key`: binary search for the first key not
    /// below it, then walk the contiguous range of matches keeping the best `limit`. A prefix of at
    /// most eight bytes is matched on the heads alone.
    private func topMatches(of key: String, limit: Int, included: [Bool]?) -> [Int] {
        let target = Array(key.utf8)
        let head = Lexicon.head(of: key)
        let shown = min(target.count, 8)
        let mask: UInt64 = shown == 8 ? .max : ~(UInt64.max >> (8 * shown))
        var best: [Int] = []
        var position = lowerBound(ofKey: key)
        while position < keys.count, heads[position] & mask == head & mask,
              target.count <= 8 || keys[position].utf8.starts(with: target) {
            defer { position += 1 }
            if let included, !included[position] { continue }
            let total = totals[position]
            // Insert keeping `best` sorted by total descending; equal totals keep key order.
            if best.count < limit || total > totals[best[best.count - 1]] {
                let slot = best.firstIndex { totals[$0] < total } ?? best.count
                best.insert(position, at: slot)
                if best.count > limit { best.removeLast() }
            }
        }
        return best
    }
}

/// Part of a lexicon's words (`Lexicon.subset(where:)`): a flag per key, and the short-prefix
/// table of the part, so that completing from it costs what completing from the whole does.
struct LexiconSubset: Sendable {
    /// By key position: whether the key is in the subset.
    let included: [Bool]
    /// As `Lexicon.shortPrefixTop`, among the included keys.
    let shortPrefixTop: [String: [Int]]
}
