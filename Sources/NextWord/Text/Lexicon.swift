import Foundation

/// Word counts by surface form, for completing words the model's vocabulary lacks and for
/// restoring case (`nasa` → `NASA`, `i` → `I`).
///
/// Surface forms are kept as they appear in text (case untouched, `’` normalized to `'`); a
/// lowercased key groups the forms of one word. File format: one `word<TAB>count` per line, by
/// count descending, ties in Unicode scalar order.
///
/// Completion is a binary search in the keys sorted by UTF-8 bytes (the same order as Unicode
/// scalars, and one in which all keys with a given prefix are contiguous), plus a small table of
/// the most frequent words for one- and two-character prefixes, whose ranges are the long ones.
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

    /// One word (one lowercased key): its forms are `groupedForms[forms]`, most frequent first.
    struct Group: Sendable {
        let key: String
        let forms: Range<Int>
        let total: Int
    }

    /// Every surface form, by count descending, ties in Unicode scalar order (the file order).
    public let entries: [Entry]
    /// Sum of all counts.
    public let totalCount: Int
    private let countByWord: [String: Int]
    /// Groups sorted by key bytes.
    private let groups: [Group]
    /// Every entry again, group after group in `groups` order (one array, not one per group).
    private let groupedForms: [Entry]
    private let groupByKey: [String: Int]
    /// Group positions by total descending (ties: key order), for the empty prefix.
    private let byFrequency: [Int]
    /// The `shortPrefixDepth` most frequent groups for every key prefix of one or two scalars.
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
        self.init(merged: merged)
    }

    /// Builds every index from counts that are already clean (positive, valid, normalized).
    /// Runs at every start-up, so it sorts integer positions (by an 8-byte key prefix first)
    /// rather than moving strings and arrays around; `ordered` is `merged` already in entry order
    /// (a lexicon file as written), which saves the sort.
    init(merged: [String: Int], ordered: [Entry]? = nil) {
        let entries: [Entry]
        if let ordered {
            entries = ordered
        } else {
            let words = Array(merged.keys), counts = Array(merged.values)  // the same order
            entries = Lexicon.orderByUTF8(words, countsDescending: counts).map { Entry(word: words[$0], count: counts[$0]) }
        }
        self.entries = entries
        self.countByWord = merged
        self.totalCount = entries.reduce(0) { Lexicon.saturatingSum($0, $1.count) }

        // Group the forms by lowercased key: keys numbered as first seen, then sorted by bytes;
        // each group's forms are one run of `groupedForms` (a counting sort of entry indices, so
        // `entries` order, count descending, holds within a group).
        var firstSeen: [String: Int] = [:]
        firstSeen.reserveCapacity(entries.count)
        var keys: [String] = []
        var seenOf = [Int](repeating: 0, count: entries.count)  // entry index → its key's number
        for (index, entry) in entries.enumerated() {
            let key = Lexicon.lowercasedKey(entry.word)
            // One hash for a new key (most are); a key seen before gets its number back.
            if let seen = firstSeen.updateValue(keys.count, forKey: key) {
                firstSeen[key] = seen
                seenOf[index] = seen
            } else {
                seenOf[index] = keys.count
                keys.append(key)
            }
        }
        let byKey = Lexicon.orderByUTF8(keys, countsDescending: nil)
        var positionOfSeen = [Int](repeating: 0, count: keys.count)
        for (position, seen) in byKey.enumerated() { positionOfSeen[seen] = position }
        var starts = [Int](repeating: 0, count: keys.count + 1)
        for seen in seenOf { starts[positionOfSeen[seen] + 1] += 1 }
        for position in 0 ..< keys.count { starts[position + 1] += starts[position] }
        var cursor = starts, order = [Int](repeating: 0, count: entries.count)
        for (index, seen) in seenOf.enumerated() {
            order[cursor[positionOfSeen[seen]]] = index
            cursor[positionOfSeen[seen]] += 1
        }
        var groups: [Group] = []
        groups.reserveCapacity(keys.count)
        for position in 0 ..< keys.count {
            let key = keys[byKey[position]], run = starts[position] ..< starts[position + 1]
            if run.count > 1 {
                // On a tie the all-lowercase form wins: capitals need evidence (then entry order).
                order[run].sort { a, b in
                    if entries[a].count != entries[b].count { return entries[a].count > entries[b].count }
                    if (entries[a].word == key) != (entries[b].word == key) { return entries[a].word == key }
                    return a < b
                }
            }
            groups.append(Group(key: key, forms: run, total: order[run].reduce(0) { Lexicon.saturatingSum($0, entries[$1].count) }))
        }
        self.groups = groups
        self.groupedForms = order.map { entries[$0] }
        self.groupByKey = firstSeen.mapValues { positionOfSeen[$0] }

        let totals = groups.map(\.total)
        self.byFrequency = groups.indices.sorted { a, b in totals[a] != totals[b] ? totals[a] > totals[b] : a < b }
        self.shortPrefixTop = Lexicon.shortPrefixTops(groups: groups, totals: totals)
    }

    /// For every key prefix of one or two scalars, its `shortPrefixDepth` groups of largest total
    /// (ties: key order). Groups are in key byte order, so the keys sharing such a prefix are one
    /// run: one pass keeps a short ranked list per run, with no sort and no lookup per group.
    private static func shortPrefixTops(groups: [Group], totals: [Int]) -> [String: [Int]] {
        var tops: [String: [Int]] = [:]
        // The run open at each depth (one scalar, two scalars): its prefix's bytes and its ranked
        // positions. Prefixes are compared as bytes; a String is made once per run.
        var runs: [(prefix: [UInt8], top: [Int])] = [([], []), ([], [])]
        func close(_ depth: Int) {
            if !runs[depth].top.isEmpty { tops[String(decoding: runs[depth].prefix, as: UTF8.self)] = runs[depth].top }
        }
        for position in groups.indices {
            var key = groups[position].key
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

    /// Positions of `strings` (distinct) by `counts` descending when given, then in UTF-8 byte
    /// order: strings compared by their first eight bytes as one integer, by `memcmp` only when
    /// those are equal.
    static func orderByUTF8(_ strings: [String], countsDescending counts: [Int]?) -> [Int] {
        let heads: [UInt64] = strings.map { string in
            var head: UInt64 = 0, taken = 0
            for byte in string.utf8.prefix(8) {
                head = head << 8 | UInt64(byte)
                taken += 1
            }
            return head << (8 * (8 - taken))  // shorter strings pad with zero bytes (no word holds NUL)
        }
        let counts = counts ?? []
        return strings.indices.sorted { a, b in
            if !counts.isEmpty && counts[a] != counts[b] { return counts[a] > counts[b] }
            return heads[a] != heads[b] ? heads[a] < heads[b] : Vocabulary.precedesInScalarOrder(strings[a], strings[b])
        }
    }

    /// Number of surface forms.
    public var count: Int { entries.count }

    /// How often exactly this surface form was seen (apostrophes normalized), 0 if never.
    public func count(of word: String) -> Int {
        countByWord[Tokenizer.normalizeApostrophes(word)] ?? 0
    }

    /// Every word's lowercased key with the count of all its forms, in key byte order.
    var keyTotals: [(key: String, total: Int)] { groups.map { ($0.key, $0.total) } }

    /// How often the word was seen in any casing.
    public func totalCount(ofLowercased word: String) -> Int {
        group(of: word)?.total ?? 0
    }

    /// Up to `limit` words starting with `prefix`, compared case-insensitively (both lowercased,
    /// apostrophes normalized), most frequent first (ties in key order). Each word appears once,
    /// in its preferred casing, with the count of all its forms.
    public func completions(ofPrefix prefix: String, limit: Int) -> [(word: String, count: Int)] {
        guard limit > 0 else { return [] }
        let key = Tokenizer.normalizeApostrophes(prefix).lowercased()
        let positions: [Int]
        if key.isEmpty {
            positions = Array(byFrequency.prefix(limit))
        } else if limit <= Lexicon.shortPrefixDepth, key.unicodeScalars.count <= 2 {
            positions = Array((shortPrefixTop[key] ?? []).prefix(limit))
        } else {
            positions = topMatches(of: key, limit: limit)
        }
        return positions.map { (word: groupedForms[groups[$0].forms.lowerBound].word, count: groups[$0].total) }
    }

    /// The most frequent surface form of a word (`nasa` → `NASA`, `i` → `I`, `the` → `the`), or
    /// nil for an unknown word. The argument is lowercased (and apostrophes normalized) first.
    public func preferredCasing(of lowercasedWord: String) -> String? {
        group(of: lowercasedWord).map { groupedForms[$0.forms.lowerBound].word }
    }

    /// The share (0...1) of a word's occurrences whose first letter is a capital, or nil for an
    /// unknown word: near 1 for names, near the sentence-start rate for ordinary words.
    public func capitalizedShare(of lowercasedWord: String) -> Double? {
        group(of: lowercasedWord).flatMap(capitalizedShare(of:))
    }

    private func capitalizedShare(of group: Group) -> Double? {
        guard group.total > 0 else { return nil }
        let capitalized = groupedForms[group.forms].reduce(0.0) { sum, form in
            form.word.first?.isUppercase == true ? sum + Double(form.count) : sum
        }
        return capitalized / Double(group.total)
    }

    /// Counts from hostile files can be near `Int.max`; sums stop there instead of trapping.
    static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    private func group(of word: String) -> Group? {
        // At every keystroke for each offered word: most are lowercase ASCII already.
        groupByKey[Lexicon.lowercasedKey(Tokenizer.normalizeApostrophes(word))].map { groups[$0] }
    }

    /// `preferredCasing(of:)` and `capitalizedShare(of:)` from one lookup (the ranker asks both
    /// for every word it offers).
    func usualCasing(of lowercasedWord: String) -> (preferred: String, capitalizedShare: Double)? {
        guard let group = group(of: lowercasedWord) else { return nil }
        return (groupedForms[group.forms.lowerBound].word, capitalizedShare(of: group) ?? 1)
    }

    /// The `limit` most frequent groups whose key starts with `key`: binary search for the first
    /// key not below it, then walk the contiguous range of matches keeping the best `limit`.
    private func topMatches(of key: String, limit: Int) -> [Int] {
        let target = Array(key.utf8)
        var low = 0, high = groups.count
        while low < high {
            let mid = low + (high - low) / 2
            if groups[mid].key.utf8.lexicographicallyPrecedes(target) { low = mid + 1 } else { high = mid }
        }
        var best: [Int] = []
        var position = low
        while position < groups.count, groups[position].key.utf8.starts(with: target) {
            let total = groups[position].total
            // Insert keeping `best` sorted by total descending; equal totals keep key order.
            if best.count < limit || total > groups[best[best.count - 1]].total {
                let slot = best.firstIndex { groups[$0].total < total } ?? best.count
                best.insert(position, at: slot)
                if best.count > limit { best.removeLast() }
            }
            position += 1
        }
        return best
    }
}

// MARK: Files

/// Reading and writing lexicon files: `word<TAB>count` per line, UTF-8, by count descending,
/// ties in Unicode scalar order, each line ending in a line feed.
extension Lexicon {
    /// Reads a lexicon file (any line order; a final line break optional, CRLF tolerated). Throws
    /// `TextError.io` if it cannot be read, `TextError.invalidUTF8InFile` for bytes that are not
    /// UTF-8, and `TextError.lexicon` naming the line for a line without exactly one tab, an empty
    /// or spaced word, a count that is not a positive decimal integer, or a duplicate word
    /// (`don’t` and `don't` are the same word here).
    public static func load(contentsOf url: URL) throws -> Lexicon {
        try parse(bytes: [UInt8](TextFile.read(url)), file: url.path)
    }

    /// Parses the lines of a lexicon file; `file` names it in errors.
    static func parse(_ lines: [String], file: String) throws -> Lexicon {
        try parse(bytes: Array(lines.joined(separator: "\n").utf8), file: file)
    }

    /// Parses a lexicon file's bytes, cut into lines as `TextFile.lines` cuts them
    /// (`TextFile.forEachLine`: a leading byte-order mark dropped, CRLF tolerated). A lexicon is
    /// read at every start, so the common lines (ASCII) are checked on their bytes; a line with
    /// other bytes is validated as UTF-8 and its word checked scalar by scalar.
    static func parse(bytes: [UInt8], file: String) throws -> Lexicon {
        var counts: [String: Int] = [:]
        // The file's own order, and whether it is entry order (count descending, ties by bytes) as
        // every written lexicon is: then the start-up sort is not needed.
        var ordered: [Entry] = []
        var inEntryOrder = true
        try bytes.withUnsafeBufferPointer { all in
            let lineCount = all.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } + 1
            counts.reserveCapacity(lineCount)
            ordered.reserveCapacity(lineCount)
            try TextFile.forEachLine(in: all) { number, range in
                let start = range.lowerBound
                func fail(_ problem: String) -> TextError {
                    .lexicon(file: file, problem: "line \(number): \(problem)")
                }
                let line = UnsafeBufferPointer(rebasing: all[range])
                let ascii = !line.contains { $0 >= 0x80 }
                if !ascii, String(validating: line, as: UTF8.self) == nil {
                    throw TextError.invalidUTF8InFile(file: file, line: number, offset: start + (TextFile.firstInvalidUTF8Offset(line) ?? 0))
                }
                guard let tab = line.firstIndex(of: 0x09) else { throw fail("expected word<TAB>count, found no tab") }
                let countBytes = UnsafeBufferPointer(rebasing: line[(tab + 1)...])
                if countBytes.contains(0x09) { throw fail("expected word<TAB>count, found more than one tab") }
                let wordBytes = UnsafeBufferPointer(rebasing: line[..<tab])
                var word = String(decoding: wordBytes, as: UTF8.self)
                if !ascii { word = Tokenizer.normalizeApostrophes(word) }
                // ASCII: a problem is an empty word, a space or a control byte; wordProblem words it.
                if !ascii || wordBytes.isEmpty || wordBytes.contains(where: { $0 <= 0x20 || $0 == 0x7F }),
                   let problem = Vocabulary.wordProblem(word) {
                    throw fail(problem)
                }
                // Digits only: a count is never signed or spaced.
                guard let count = decimalValue(countBytes) else {
                    throw fail("count \(Vocabulary.quoted(String(decoding: countBytes, as: UTF8.self))) is not a decimal integer (or is too large)")
                }
                guard count > 0 else { throw fail("count of \(Vocabulary.quoted(word)) is \(count); counts start at 1") }
                if counts.updateValue(count, forKey: word) != nil {
                    // Rare, so the first line is looked for only now.
                    throw fail("duplicate word \(Vocabulary.quoted(word)) (first on line \(firstLine(of: word, in: all)))")
                }
                if inEntryOrder, let last = ordered.last {
                    inEntryOrder = last.count > count || (last.count == count && Vocabulary.precedesInScalarOrder(last.word, word))
                }
                ordered.append(Entry(word: word, count: count))
            }
        }
        return Lexicon(merged: counts, ordered: inEntryOrder ? ordered : nil)
    }

    /// The number of the first line whose word (apostrophes normalized) is `word`.
    private static func firstLine(of word: String, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var found = 0
        TextFile.forEachLine(in: bytes) { number, range in
            guard found == 0, let tab = bytes[range].firstIndex(of: 0x09) else { return }
            let candidate = Tokenizer.normalizeApostrophes(String(decoding: UnsafeBufferPointer(rebasing: bytes[range.lowerBound ..< tab]), as: UTF8.self))
            if candidate == word { found = number }
        }
        return found
    }

    /// A non-empty run of ASCII digits as an Int; nil for anything else or on overflow.
    private static func decimalValue(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(byte - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// Writes `fileData()` to `url` atomically (temporary file, then rename).
    public func write(to url: URL) throws {
        try TextFile.writeAtomically(fileData(), to: url)
    }

    /// The file form: `word<TAB>count` and a line feed per entry, in `entries` order, UTF-8.
    public func fileData() -> Data {
        var text = ""
        for entry in entries {
            text += entry.word
            text += "\t"
            text += String(entry.count)
            text += "\n"
        }
        return Data(text.utf8)
    }
}
