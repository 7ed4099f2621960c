import Foundation

/// The ARPA text format (the format of SRILM and of KenLM's `lmplz`), both ways, over a model's
/// vocabulary:
///
///     \data\
///     ngram 1=3
///     ngram 2=2
///
///     \1-grams:
///     -0.69897	</s>
///     -99	<s>	-0.30103
///     -0.39794	cat	-0.17609
///
///     \2-grams:
///     -0.30103	<s> cat
///     -0.22185	cat </s>
///
///     \end\
///
/// Each line is log10 p(w | h) for a listed n-gram `h w` and, when `h w` is itself a context,
/// its log10 backoff weight; an n-gram not listed backs off: p(w | h) = b(h) · p(w | h minus its
/// first word). An interpolated Kneser-Ney model maps onto this exactly: the listed probability is
/// the interpolated one, alpha(h w) + gamma(h) · p_{n-1}(w | h'), and b(h) = gamma(h).
///
/// Our end-of-sentence id is `</s>` as a word and `<s>` as the context that starts a sentence.
extension NGramModel {
    /// The model as ARPA text, its ids written as `words` (the vocabulary, by id). N-grams that
    /// ARPA cannot name (an end of sentence inside a context) are left out.
    public func arpaText(words: [String]) throws -> String {
        guard words.count == vocabSize else {
            throw NGramError.invalidArgument("\(words.count) words for a model over \(vocabSize) ids")
        }
        func name(_ id: UInt32, inContext: Bool) -> String {
            Int(id) == endOfSentence ? (inContext ? "<s>" : "</s>") : words[Int(id)]
        }
        func logText(_ p: Double) -> String { p > 0 ? String(format: "%.6f", log10(p)) : "-99" }

        // Order n's n-grams: the entries of level n and every context of level n + 1 (ARPA lists
        // each context as an n-gram of its own, and a pruned model may store a context whose
        // n-gram it dropped).
        var sections: [[(ids: [UInt32], line: String)]] = []
        var unigrams: [(ids: [UInt32], line: String)] = []
        for id in 0 ..< vocabSize {
            let backoff = levels.first.flatMap { $0.find(context: [UInt32(id)][...]) }.map { levels[0].backoffs[$0] }
            let word = UInt32(id)
            let isStart = id == endOfSentence
            if isStart {
                // "</s>" is predicted; "<s>" only starts sentences, with the backoff of that context.
                unigrams.append(([word], "\(logText(Double(unigram[id])))\t</s>"))
                unigrams.append(([word], "-99\t<s>" + (backoff.map { "\t\(logText(Double($0)))" } ?? "")))
            } else {
                unigrams.append(([word], "\(logText(Double(unigram[id])))\t\(words[id])" + (backoff.map { "\t\(logText(Double($0)))" } ?? "")))
            }
        }
        sections.append(unigrams)
        for n in 2 ... order {
            let level = levels[n - 2]
            var grams = Set<[UInt32]>()
            for c in 0 ..< level.contextCount {
                let context = Array(level.contextIDs[(c * level.contextLength) ..< ((c + 1) * level.contextLength)])
                for e in level.entries(ofContext: c) { grams.insert(context + [level.words[e]]) }
            }
            if n < order {
                let above = levels[n - 1]
                for c in 0 ..< above.contextCount {
                    grams.insert(Array(above.contextIDs[(c * above.contextLength) ..< ((c + 1) * above.contextLength)]))
                }
            }
            let eos = UInt32(endOfSentence)
            var lines: [(ids: [UInt32], line: String)] = []
            for gram in grams.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                // ARPA has no end of sentence inside a context, and `<s>` is never predicted.
                if gram.dropFirst().dropLast().contains(eos) { continue }
                let p = probability(of: Int(gram.last!), context: gram.dropLast().map(Int.init))
                var line = logText(p) + "\t" + gram.enumerated().map { name($1, inContext: $0 < gram.count - 1) }.joined(separator: " ")
                if n < order, let index = levels[n - 1].find(context: gram[...]) {
                    line += "\t" + logText(Double(levels[n - 1].backoffs[index]))
                }
                lines.append((gram, line))
            }
            sections.append(lines)
        }
        var text = "\\data\\\n"
        for (index, section) in sections.enumerated() { text += "ngram \(index + 1)=\(section.count)\n" }
        for (index, section) in sections.enumerated() {
            text += "\n\\\(index + 1)-grams:\n"
            for item in section { text += item.line + "\n" }
        }
        return text + "\n\\end\\\n"
    }

    /// Reads an ARPA model over `words` (the vocabulary, by id; `endOfSentence` the id of `</s>`
    /// and `<s>`, `unknown` the id `<unk>` maps to). N-grams holding a word outside the vocabulary
    /// are dropped; vocabulary words the file does not list get its `<unk>` probability; the
    /// unigrams are then renormalised so they sum to 1.
    ///
    /// - Throws: `NGramError.corrupt` naming `file` and the line for text that is not ARPA.
    public static func fromARPA(_ text: String, words: [String], endOfSentence: Int, unknown: Int,
                                file: String = "ARPA text") throws -> NGramModel {
        let ids = Dictionary(words.enumerated().map { ($1, UInt32($0)) }, uniquingKeysWith: { first, _ in first })
        let eos = UInt32(endOfSentence)
        func id(_ word: Substring, inContext: Bool) -> UInt32? {
            switch word {
            case "<s>": return inContext ? eos : nil
            case "</s>": return inContext ? nil : eos
            case "<unk>": return UInt32(unknown)
            default: return ids[String(word)]
            }
        }
        // Per order: n-gram ids → (log10 p, log10 backoff).
        var orders: [[[UInt32]: (p: Double, backoff: Double)]] = []
        var declared: [Int] = []
        var section = 0  // 0: before \data\ ends; n: inside \n-grams:
        var sawData = false, sawEnd = false
        var unknownLogP = -99.0
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            func corrupt(_ problem: String) -> NGramError { .corrupt(file: file, problem: "line \(number + 1): \(problem)") }
            if line.isEmpty { continue }
            if line == "\\data\\" { sawData = true; continue }
            if line == "\\end\\" { sawEnd = true; break }
            if line.hasPrefix("ngram ") {
                let parts = line.dropFirst(6).split(separator: "=")
                guard parts.count == 2, let n = Int(parts[0]), let count = Int(parts[1]), n == declared.count + 1, count >= 0 else {
                    throw corrupt("expected \"ngram N=COUNT\" for the next order")
                }
                declared.append(count)
                continue
            }
            if line.hasPrefix("\\"), line.hasSuffix("-grams:"), let n = Int(line.dropFirst().dropLast(7)) {
                guard sawData, n == section + 1, n <= declared.count else { throw corrupt("section \\\(n)-grams: out of order") }
                section = n
                orders.append([:])
                continue
            }
            guard section > 0 else { throw corrupt("text before the first n-gram section") }
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count == section + 1 || fields.count == section + 2, let logP = Double(fields[0]), logP.isFinite, logP <= 0 else {
                throw corrupt("expected log10 p, \(section) word\(section == 1 ? "" : "s") and an optional backoff")
            }
            var backoff = 0.0
            if fields.count == section + 2 {
                guard let b = Double(fields[section + 1]), b.isFinite else { throw corrupt("the backoff is not a number") }
                backoff = b
            }
            let gramWords = fields[1 ... section]
            if section == 1, gramWords.first == "<unk>" { unknownLogP = logP }
            var gram: [UInt32] = []
            for (position, word) in gramWords.enumerated() {
                guard let mapped = id(word, inContext: position < section - 1 || (section == 1 && word == "<s>")) else { break }
                gram.append(mapped)
            }
            guard gram.count == section else { continue }  // a word outside the vocabulary
            // "<s>" and "</s>" are one id: the unigram keeps the probability of "</s>" and the
            // backoff of "<s>".
            if section == 1, gramWords.first == "<s>" {
                orders[0][gram, default: (-99, 0)].backoff = backoff
                continue
            }
            if section == 1, gramWords.first == "</s>" {
                orders[0][gram, default: (-99, 0)].p = logP
                continue
            }
            orders[section - 1][gram] = (logP, backoff)
        }
        guard sawData, sawEnd, !orders.isEmpty, orders.count == declared.count else {
            throw NGramError.corrupt(file: file, problem: "not an ARPA model (a \\data\\ header, n-gram sections and \\end\\ are needed)")
        }
        let order = orders.count
        guard (2 ... 4).contains(order) else { throw NGramError.invalidArgument("\(file): order \(order); orders 2 to 4 are supported") }

        var unigram = [Double](repeating: pow(10, unknownLogP), count: words.count)
        for (gram, value) in orders[0] { unigram[Int(gram[0])] = pow(10, value.p) }
        let total = unigram.reduce(0, +)
        guard total > 0 else { throw NGramError.corrupt(file: file, problem: "the unigrams have no probability mass") }
        var model = NGramModel(order: 1, vocabSize: words.count, endOfSentence: endOfSentence,
                               discounts: [], unigram: unigram.map { Float($0 / total) }, levels: [])
        // Order by order: alpha(h w) = p(h w) − b(h) · p_{n-1}(w | h'), with the lower orders built.
        var levels: [NGramLevel] = []
        for n in 2 ... order {
            var byContext: [[UInt32]: [(word: UInt32, alpha: Float)]] = [:]
            for (gram, value) in orders[n - 1] {
                let context = Array(gram.dropLast())
                let backoff = pow(10, orders[n - 2][context]?.backoff ?? 0)
                let lower = model.probability(of: Int(gram.last!), context: context.dropFirst().map(Int.init))
                let alpha = max(0, pow(10, value.p) - backoff * lower)
                byContext[context, default: []].append((gram.last!, Float(min(alpha, 1))))
            }
            var contextIDs: [UInt32] = [], offsets: [UInt32] = [0], backoffs: [Float] = [], entryWords: [UInt32] = [], probs: [Float] = []
            for context in byContext.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                contextIDs += context
                backoffs.append(Float(min(1, pow(10, orders[n - 2][context]?.backoff ?? 0))))
                for entry in byContext[context]!.sorted(by: { $0.word < $1.word }) {
                    entryWords.append(entry.word)
                    probs.append(entry.alpha)
                }
                offsets.append(UInt32(entryWords.count))
            }
            levels.append(NGramLevel(contextLength: n - 1, contextIDs: contextIDs, offsets: offsets, backoffs: backoffs,
                                     words: entryWords, probs: probs))
            model = NGramModel(order: n, vocabSize: words.count, endOfSentence: endOfSentence,
                               discounts: [NGramDiscounts](repeating: NGramDiscounts(d1: 0, d2: 0, d3Plus: 0), count: n),
                               unigram: model.unigram, levels: levels)
        }
        if let problem = levels.lazy.compactMap({ $0.problem(vocabSize: words.count) }).first {
            throw NGramError.corrupt(file: file, problem: problem)
        }
        return model
    }
}
