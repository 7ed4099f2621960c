/// Finds every word that starts with some typed letters, case-insensitively, in O(log n + matches):
/// the words' lowercased forms sorted once, then a binary search for the range sharing the prefix.
package struct PrefixIndex: Sendable {
    /// Lowercased keys, sorted by their UTF-8 bytes (byte order keeps a prefix's matches contiguous).
    private let keys: [[UInt8]]
    /// ids[i] is the word id of keys[i].
    private let ids: [Int32]

    /// Indexes `words` (id = position); `include` says which ids may ever be suggested.
    public init(words: [String], include: (Int) -> Bool = { _ in true }) {
        var pairs: [([UInt8], Int32)] = []
        pairs.reserveCapacity(words.count)
        for (id, word) in words.enumerated() where include(id) {
            pairs.append((Array(word.lowercased().utf8), Int32(id)))
        }
        pairs.sort { $0.0.lexicographicallyPrecedes($1.0) }
        keys = pairs.map(\.0)
        ids = pairs.map(\.1)
    }

    public var count: Int { ids.count }

    /// Ids of the words whose lowercased form starts with `prefix` (already lowercased).
    public func ids(withPrefix prefix: String) -> ArraySlice<Int32> {
        let p = Array(prefix.utf8)
        if p.isEmpty { return ids[...] }
        let lower = firstIndex { !$0.lexicographicallyPrecedes(p) }
        // Every key with prefix p sorts before p followed by 0xFF (never a UTF-8 byte).
        let bound = p + [0xFF]
        let upper = firstIndex { !$0.lexicographicallyPrecedes(bound) }
        return ids[lower ..< max(lower, upper)]
    }

    /// The first index whose key satisfies `isAtOrAfter` (which must be monotone over the keys).
    private func firstIndex(where isAtOrAfter: ([UInt8]) -> Bool) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if isAtOrAfter(keys[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// The k best (id, score) pairs of a stream, by partial selection in a small sorted buffer: a
/// keystroke needs 3 of up to the whole vocabulary, and sorting all of them would be waste.
package struct TopK: Sendable {
    public let capacity: Int
    public private(set) var items: [(id: Int32, score: Float)] = []

    public init(_ capacity: Int) {
        self.capacity = max(0, capacity)
        items.reserveCapacity(self.capacity + 1)
    }

    /// The score a new item must beat to enter.
    public var threshold: Float { items.count < capacity ? -.infinity : items[items.count - 1].score }

    public mutating func insert(id: Int32, score: Float) {
        guard capacity > 0, score > threshold else { return }
        var index = items.count
        while index > 0 && items[index - 1].score < score { index -= 1 }
        items.insert((id, score), at: index)
        if items.count > capacity { items.removeLast() }
    }
}
