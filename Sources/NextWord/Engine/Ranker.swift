import Foundation

/// Turns what the sources say after a context into the suggestion strip: mixes them, keeps the
/// words that start with the typed letters, leaves out what the user already passed over or just
/// typed, cases what is left for display and returns the best `limit`: those that would save most
/// (probability times letters left to the power `MixingWeights.lettersLeft`), most probable first.
///
///     score(w) = λ_corpus · P_corpus(w) + Σ_s w_s · P_s(w)        w_s = λ_s · confidence_s
///
/// P_corpus is the context's corpus row (LSTM and Kneser-Ney with fixed shares); a word the corpus
/// models call `<unk>` takes P_corpus(<unk>) split by its lexicon count among such words, times
/// `MixingWeights.unknownBoost`. The sparse sources (document cache, user history) add their
/// weighted probabilities, and λ_corpus is what they leave: 1 − Σ w_s. The scores are
/// probabilities under that mixture, except for the boost of those words, and that a
/// sparse source's word the model does not know also lends its possessive or its stem
/// `MixingWeights.possessive` of its share ("albright's" → "albright").
///
/// Used under the engine's lock: it keeps a scratch row over the vocabulary.
final class Ranker {
    let resources: EngineResources
    let casing = Casing()
    /// What a word offered earlier for this word and typed past keeps of its score.
    let passedOverFactor: Float
    /// What a word typed past more than once keeps (`MixingWeights.passedOverAgain`).
    let passedOverAgainFactor: Float
    /// `MixingWeights.capital`.
    let capitalPower: Float
    /// `MixingWeights.lettersLeft`.
    let lettersLeftPower: Float
    /// What an unknown word from a sparse source lends its possessive form or stem (`MixingWeights.possessive`).
    let possessiveShare: Float
    /// `MixingWeights.unknownBoost`.
    let unknownBoost: Float
    /// [V] zeros except while `rank` runs: the sparse sources' scores of vocabulary words by id.
    private var boostScratch: [Float]

    init(resources: EngineResources, weights: MixingWeights) {
        self.resources = resources
        passedOverFactor = weights.passedOver
        passedOverAgainFactor = weights.passedOverAgain
        capitalPower = weights.capital
        lettersLeftPower = weights.lettersLeft
        possessiveShare = weights.possessive
        unknownBoost = weights.unknownBoost
        boostScratch = [Float](repeating: 0, count: resources.bundle.vocabulary.count)
    }

    /// What a word's score keeps after it was offered and typed past `times` times (nil: never).
    func passedOverShare(_ times: Int?) -> Float {
        guard let times else { return 1 }
        return times == 1 ? passedOverFactor : passedOverAgainFactor
    }

    /// A sparse source and its weight after the context (its mixture weight times its confidence).
    typealias Share = (source: PredictionSource, weight: Float)

    /// A word outside the vocabulary with its score and whether the user's sources named it.
    typealias ScoredWord = (word: String, score: Float, fromUser: Bool)

    /// The best `count` of `words` by score, equal scores in text order (what `TopK` keeps of
    /// words inserted in text order); all of them, in their order, when there are no more.
    static func best(_ words: [ScoredWord], count: Int) -> [ScoredWord] {
        guard words.count > count else { return words }
        return Array(words.sorted { $0.score != $1.score ? $0.score > $1.score : Vocabulary.precedesInScalarOrder($0.word, $1.word) }
            .prefix(count))
    }

    /// Lends each boosted word the model does not know to its other form, possessive or stem
    /// ("albright's" → "albright", "shipyard" → "shipyard's"), `possessiveShare` of its score,
    /// where that form has the typed letters. A word typed past lends from its discounted score,
    /// so its other form does not take the slot it just lost. Only the best `lenders` lend (ties
    /// in text order): at a word boundary the caches name a few hundred such words, lending from
    /// all of them was a seventh of the keystroke, and a share of a score below the best
    /// `lenders` changed no strip of the dev texts.
    private func addPossessiveVariants(to boosts: inout [String: (score: Float, fromUser: Bool)], typed: String,
                                       passedOver: [String: Int], lenders: Int) {
        guard possessiveShare > 0 else { return }
        let vocabulary = resources.bundle.vocabulary
        var candidates: [ScoredWord] = []
        for (word, boost) in boosts where vocabulary.id(word) == nil {
            candidates.append((word, boost.score * passedOverShare(passedOver[word]), boost.fromUser))
        }
        var lent: [(String, Float, Bool)] = []
        for (word, score, fromUser) in Self.best(candidates, count: lenders) {
            let variant: String
            if word.hasSuffix("'s") {
                variant = String(word.dropLast(2))
                guard variant.count >= 2, !variant.contains("'") else { continue }
            } else if !word.contains("'") {
                variant = word + "'s"
            } else { continue }
            guard variant.hasPrefix(typed) else { continue }
            lent.append((variant, possessiveShare * score, fromUser))
        }
        for (variant, score, fromUser) in lent {
            boosts[variant, default: (0, fromUser)].score += score
            if fromUser { boosts[variant]?.fromUser = true }
        }
    }

    /// The best `limit` suggestions after `entry` for the typed letters (`typed` lowercased, as
    /// `partial` was typed), leaving out the words in `passedOver` unless nothing better is left.
    func rank(entry: ContextEntry, shares: [Share], typed: String, partial: String, limit: Int,
              excluding passedOver: [String: Int], user: UserModel) -> [Suggestion] {
        let vocabulary = resources.bundle.vocabulary
        let lexicon = resources.lexicon
        let corpusWeight = 1 - shares.reduce(0) { $0 + $1.weight }

        // Sparse sources first: their words with these letters, and the rarer ones they know.
        var boosts: [String: (score: Float, fromUser: Bool)] = [:]
        for (source, weight) in shares where weight > 0 {
            let fromUser = source.kind.isUsers
            func add(_ word: String, _ probability: Float) {
                boosts[word, default: (0, fromUser)].score += weight * probability
                if fromUser { boosts[word]?.fromUser = true }
            }
            let distribution = entry.distribution(of: source)
            if typed.isEmpty {
                for (word, probability) in distribution { add(word, probability) }
            } else {
                for (word, probability) in entry.words(of: source, withPrefix: typed) { add(word, probability) }
            }
            for (word, probability) in source.completions(of: typed, after: entry.context, limit: 64)
            where distribution[word] == nil { add(word, probability) }
        }

        // A capital typed where a sentence does not start says "a name" (or an acronym, or a
        // title): the candidates are re-weighed by how often each is written with one.
        let capitalTyped = capitalPower > 0 && !typed.isEmpty && !entry.context.sentenceStart && (partial.first?.isUppercase ?? false)
            && !(partial.count >= 2 && !partial.contains(where: \.isLowercase))
        // Both re-weighings below change the order of the best few, so a few more are kept.
        let reweighed = capitalTyped || lettersLeftPower > 0
        var top = TopK(limit + (reweighed ? 8 : 1) + passedOver.count)
        addPossessiveVariants(to: &boosts, typed: typed, passedOver: passedOver, lenders: top.capacity)
        var extra: [Int32: (String, Bool)] = [:]  // candidates outside the vocabulary, by a negative key
        // Boosts of vocabulary words go into a dense scratch row, so the loop over every candidate
        // adds a float instead of hashing a string.
        var boostedIDs: [Int] = []
        var outside: [(key: String, value: (score: Float, fromUser: Bool))] = []  // boosted words the vocabulary lacks
        for (word, boost) in boosts {
            guard let id = vocabulary.id(word) else {
                outside.append((word, boost))
                continue
            }
            boostScratch[id] += boost.score
            boostedIDs.append(id)
        }
        defer { for id in boostedIDs { boostScratch[id] = 0 } }
        entry.corpus.withUnsafeBufferPointer { corpus in
            boostScratch.withUnsafeBufferPointer { boost in
                for id in resources.prefixIndex.ids(withPrefix: typed) {
                    top.insert(id: id, score: corpusWeight * corpus[Int(id)] + boost[Int(id)])
                }
            }
            let unknownProbability = corpus[vocabulary.unknownID]
            var nextKey: Int32 = -1
            func addOutside(_ word: String, score: Float, fromUser: Bool) {
                extra[nextKey] = (word, fromUser)
                top.insert(id: nextKey, score: score)
                nextKey -= 1
            }
            // In text order: equal scores keep their insertion order in `top`, and a dictionary's
            // order changes from one process to the next (Swift seeds its hashing per process).
            // Only the best `top.capacity` by score, then text order (what `top` would keep of
            // them all), are put in that order and offered: at a word boundary the caches name a
            // few hundred such words, and sorting them all by text was a tenth of the keystroke.
            let scored = outside.map { word, boost in
                let base = resources.outsideProbability(count: lexicon?.totalCount(ofLowercased: word) ?? 0,
                                                        unknownProbability: unknownProbability, boost: unknownBoost)
                return ScoredWord(word: word, score: corpusWeight * base + boost.score, fromUser: boost.fromUser)
            }
            for item in Self.best(scored, count: top.capacity).sorted(by: { Vocabulary.precedesInScalarOrder($0.word, $1.word) }) {
                addOutside(item.word, score: item.score, fromUser: item.fromUser)
            }
            if !typed.isEmpty, let lexicon, resources.unknownMass > 0 {
                // Only the words the vocabulary lacks: the others are scored above, and among the most
                // frequent completions they would hide the rarer words this is for.
                for (word, count) in lexicon.completions(ofPrefix: typed, limit: limit + 2, in: resources.outsideVocabulary) {
                    let lower = Lexicon.lowercasedKey(word)
                    if boosts[lower] != nil { continue }
                    addOutside(lower, score: corpusWeight * resources.outsideProbability(count: count, unknownProbability: unknownProbability,
                                                                                         boost: unknownBoost), fromUser: false)
                }
            }
        }

        // Words already offered for this word and passed over count `passedOverFactor` times
        // their score: the user may not have looked (typing on while "tomorrow" was offered at
        // "tom" does not mean "not tomorrow"), but a close runner-up should get the slot. Passed
        // over again, they count `passedOverAgainFactor` times it.
        let context = entry.context
        // score: the probability shown with a suggestion; savingsKey: what the strip is chosen by.
        var candidates: [(word: String, source: Suggestion.Source, score: Float, savingsKey: Float)] = []
        for item in top.items {
            let word: String, fromUser: Bool
            if item.id >= 0 {
                word = vocabulary.words[Int(item.id)]
                fromUser = boosts[word]?.fromUser ?? false
            } else if let outside = extra[item.id] {
                (word, fromUser) = outside
            } else { continue }
            if word == typed { continue }  // already typed out: nothing to save
            // The word just typed is on the screen: offering it again as the next word is an echo,
            // not a prediction, unless the user really does repeat it ("bye bye") or the models
            // are sure of it.
            if typed.isEmpty, word == context.lastWord, item.score < 0.3,
               (user.followers(of: [word])[word] ?? 0) < 2 { continue }
            // The probability given what the user did: a word typed past keeps its discounted share.
            var score = item.score * passedOverShare(passedOver[word])
            if capitalTyped { score *= capitalLikelihood(of: word, id: item.id, user: user) }
            // What accepting it saves grows with the letters it has left (see MixingWeights.lettersLeft).
            let savingsKey = lettersLeftPower > 0 ? score * pow(Float(max(word.count - typed.count, 1)), lettersLeftPower) : score
            let source: Suggestion.Source = fromUser ? (item.id >= 0 ? .both : .history) : .model
            candidates.append((word, source, score, savingsKey))
        }
        // Stable: equal scores (a factor of 0 puts every passed-over word last) keep their order.
        // Only the words shown are cased: casing's lexicon and history lookups were the largest
        // part of a keystroke inside a word when every candidate was cased.
        // The strip is the `limit` words that save most, shown most probable first.
        let chosen = candidates.indices.sorted {
            candidates[$0].savingsKey != candidates[$1].savingsKey ? candidates[$0].savingsKey > candidates[$1].savingsKey : $0 < $1
        }.prefix(limit)
        let order = chosen.sorted {
            candidates[$0].score != candidates[$1].score ? candidates[$0].score > candidates[$1].score : $0 < $1
        }
        return order.map { index in
            let candidate = candidates[index]
            let usual = usualForm(of: candidate.word, user: user)
            let text = casing.display(usual: usual, typed: partial, sentenceStart: context.sentenceStart,
                                          curlyApostrophes: context.curlyApostrophes)
            return Suggestion(text: text, probability: Double(candidate.score), source: candidate.source)
        }
    }

    /// How likely `word` is to be written with a capital first letter, to `capitalPower`: from
    /// the corpus's and the user's counts of it (capitalised over all, smoothed by half an
    /// occurrence each way), 0.5 for a word neither knows. Only a capital typed mid-sentence asks,
    /// for the limit + 8 best candidates it re-weighs.
    func capitalLikelihood(of word: String, id: Int32, user: UserModel) -> Float {
        var capitalized: Float = 0.5, total: Float = 1
        if id >= 0 {
            let corpus = resources.corpusCapitalization[Int(id)]
            capitalized += corpus.capitalized
            total += corpus.total
        } else if let uses = resources.lexicon?.capitalizedUses(of: word) {
            capitalized += Float(uses.capitalized)
            total += Float(uses.total)
        }
        if let uses = user.capitalizedUses(of: word) {
            capitalized += Float(uses.capitalized)
            total += Float(uses.total)
        }
        return pow(capitalized / total, capitalPower)
    }

    /// How a word is written mid-sentence: a capitalised form only when it is how the word is
    /// nearly always written (names, `I`, acronyms), not when it merely often starts sentences
    /// (`Thank`). The user's own writing decides first, then the corpus; a possessive and its stem
    /// are written alike (the forms `addPossessiveVariants` lends are often known only as the other).
    func usualForm(of word: String, user: UserModel) -> String {
        if let form = knownUsualForm(of: word, user: user) { return form }
        if word.hasSuffix("'s"), let stem = knownUsualForm(of: String(word.dropLast(2)), user: user) { return stem + "'s" }
        if let possessive = knownUsualForm(of: word + "'s", user: user) { return String(possessive.dropLast(2)) }
        return word
    }

    /// `usualForm` from what the user and the corpus say of `word` itself; nil where neither knows it.
    private func knownUsualForm(of word: String, user: UserModel) -> String? {
        let threshold = 0.8
        if let surface = user.preferredSurface(of: word), let share = user.capitalizedShare(of: word) {
            return surface.first?.isUppercase == true && share < threshold ? word : surface
        }
        if let (surface, share) = resources.lexicon?.usualCasing(of: word) {
            return surface.first?.isUppercase == true && share < threshold ? word : surface
        }
        return nil
    }
}
