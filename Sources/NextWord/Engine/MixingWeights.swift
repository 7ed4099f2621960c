import Foundation

/// How the engine mixes its sources into one probability per word (`Ranker`):
///
///     P(w) = (1 − Σ w_s) · P_corpus(w)
///            + w_cache · P_document(w) + w_user · P_history(w | last two words) + w_usercache · P_usercache(w)
///
///     P_corpus(w) = geo · P_lstm(w)^(1 − g) · P_kn(w)^g / Z + (1 − geo) · [ (1 − ngram) · P_lstm(w) + ngram · P_kn(w) ]
///
/// P_lstm is the LSTM's softmax (at `lstmTemperature`, fading with the lines adapted, and with the
/// user's decoder-bias adaptation), P_kn the corpus
/// Kneser-Ney trigram (Z normalises their log-linear product, g = `geometricNgram`,
/// geo = `geometricShare`), P_document the neural cache over the last `cacheWindow` words of the text
/// (`NeuralCache`: ∝ Σ exp(θ·h·h_i − decay·age_i) over the positions followed by w; θ = 0 and
/// decay 0 is the share of w among those words), P_history the user's own Witten-Bell trigram, P_usercache the same neural cache
/// over the user's last `userCacheSize` committed positions. Words the model only knows as
/// `<unk>` take P(<unk>) split by their corpus (lexicon) counts, times `unknownBoost`. Each sparse source's weight w_s is
/// the user's `AdaptiveMixture` weight (whose prior is `cache`, `user`, `userCache` here) times the
/// source's confidence after the context (a cache's shrinks for a short memory; an empty source's
/// is 0, giving its weight back). An unknown word a sparse source offers also lends its
/// possessive or stem `possessive` of its score. Tuned on ../shared/data/dev (see BENCHMARKS.md): the defaults are
/// the tuned values.
public struct MixingWeights: Codable, Sendable, Equatable {
    /// Share of the Kneser-Ney n-gram in the corpus models' linear mixture (0: no n-gram at all).
    public var ngram: Float = 0.4
    /// Share of the log-linear product of the two in the corpus row (0: the linear mixture alone),
    /// and the n-gram's exponent in it. Tuned on the five dev texts, `simulate`, KSR summed
    /// (BENCHMARKS.md): linear alone 242.68; geo/g 0.7/0.2 243.59, 0.7/0.25 243.45, 0.5/0.2
    /// 243.47, 0.85/0.2 243.46, 1/0.2 243.01, 0.5/0.3 243.25, 0.5/0.5 242.81.
    public var geometricShare: Float = 0.7
    public var geometricNgram: Float = 0.2
    /// Weight of the document cache.
    public var cache: Float = 0.12
    /// Weight of the user's history.
    public var user: Float = 0.12
    /// Weight of the user's neural cache (`UserCacheSource`), and the committed positions it keeps.
    public var userCache: Float = 0.1
    public var userCacheSize = 300
    /// Words of the document the cache looks back over, and how fast an older position fades:
    /// exp(−cacheDecay · age) on its term, age in positions (0 for the newest). A long window
    /// with a fade keeps a long document's names and terms without the stale words of a text that
    /// changed subject (ksr-dev is 81 unrelated openings in one file). Tuned on the five dev texts
    /// (`simulate`, KSR summed, the LSTM of run 5): window/θ/decay 100/0.7/0 250.40 (ksr-dev
    /// 46.92), 150/0.7/0 251.67, 300/0.7/0 252.67 (46.79), 500/0.7/0 252.93 (46.71), 300/0.5/0
    /// 253.24, 500/0.5/0.005 253.87 (46.89), 500/0.5/0.01 253.13, 500/0.4/0.005 254.17 (46.95),
    /// 1000/0.4/0.005 254.58 (46.96; boundary p99 0.54 against 0.29 ms and peak RSS 79.8 MB in
    /// `bench`, too close to its 80 MB limit). With the states in fp16 (RSS −1.2 to −2 MB) and the
    /// engine of 2026-12-04 (257.18 at 500): 700 257.35, 1000 257.58 (ksr-dev 47.59 both), the
    /// boundary p50 0.44 → 0.52 → 0.67 ms and p99 0.68 → 0.69 → 0.91 ms on a Zen 4 (most of it in
    /// hashing the extra words here and in the ranker). With the words typed past of 2026-12-04:
    /// 500 257.80 (other genres 51.37), 700 257.96 (51.65; `--learn` 258.21 → 258.25, ksr-dev
    /// 47.67 → 47.66): 700, with room under the 1 ms boundary p99.
    public var cacheWindow = 700
    public var cacheDecay: Float = 0.005
    /// The neural caches' θ: how sharply they prefer words that followed states like the current
    /// one (0: every remembered word counts alike, the unigram cache of the last words).
    public var cacheTheta: Float = 0.4
    /// The cache's weight is scaled by n / (n + this), n the positions it remembers: a cache of two
    /// words would otherwise offer one of them after "See you ".
    public var cacheShrinkage = 25
    /// Times the user must type a word the model does not know before it is suggested (typos
    /// typed once are not).
    public var newWordMinimumCount = 2
    /// What a word offered earlier for the same word, and typed past, keeps of its score (0: it
    /// goes behind every fresh candidate). A user who looks at the strip does not want it; one who
    /// typed on without looking still finds a word far ahead of the rest first ("See you tomo":
    /// tomorrow, typed past at "tom"). Five dev texts summed (`simulate`, 2026-12-04): 0.05
    /// 257.18, 0.03 257.61, 0.02 257.75, 0.01 257.92, 0 258.12 (`--learn` 257.52 / 258.00 /
    /// 258.26 / 258.52 / 258.83); at 0.02 and below "tomorrows" takes tomorrow's first slot there.
    public var passedOver: Float = 0.03
    /// What a word typed past a second time (and more) keeps: a user who read the strip twice
    /// does not want it, and one who did not read it loses nothing ("See you tomor" offers
    /// tomorrow third). 0 against `passedOver`: five dev texts 257.61 -> 257.80 (ksr-dev 47.65 ->
    /// 47.67), `--learn` 258.00 -> 258.21; 0.005 257.71; with `passedOver` 0.05 257.46.
    public var passedOverAgain: Float = 0
    /// What a sparse source's word the model does not know lends its possessive, or a possessive
    /// its stem, of its score ("Albright's" typed makes "Albright" likely, and "shipyard"
    /// "shipyard's"): such words are rare names and nouns the corpus models cannot relate.
    public var possessive: Float = 0.1
    /// A capital typed where no sentence starts re-weighs the candidates by how often each is
    /// written with one, to this power (0: off; 1: that likelihood as it is). Names, acronyms and
    /// title words then come before the ordinary words they share letters with.
    public var capital: Float = 0.5
    /// A candidate's score is multiplied by the letters it has left to type, to this power (0:
    /// off): accepting a long word saves more keystrokes than accepting a short one, but a word
    /// not shown now may still be shown after the next letter, so the saving grows slower than
    /// the length. On the five dev texts (`simulate`, KSR summed): 0 249.62, 0.1 249.80, 0.15
    /// 249.92, 0.2 249.98, 0.25 250.02, 0.35 249.92; `--learn` 253.18 at 0, 253.37 at 0.2.
    public var lettersLeft: Float = 0.2
    /// Dynamic evaluation of the decoder bias after each committed line (`BiasAdaptation`):
    /// step size, and the share of the offsets given back to the trained bias per line (0: off).
    public var dynamicRate: Float = 1
    public var dynamicDecay: Float = 0.01
    /// The same step's size for every LSTM layer's gate biases (`GateBiasBackward`; 0: only the
    /// decoder bias adapts). Off while `dynamicRate` is 0.
    public var dynamicGateRate: Float = 0.3

    /// What a word the corpus models call `<unk>` gets of P(<unk>): its lexicon share of it, times
    /// this. A user's text holds more such words than the corpus the LSTM learned P(<unk>) from
    /// (7.8 % of the dev tokens are outside the vocabulary, 3.4 % of the corpus's), so the share
    /// alone puts the lexicon's words behind vocabulary words they should beat. On the five dev
    /// texts (`simulate`, KSR summed, no learning): 1 256.82, 1.5 256.91, 2.5 257.11, 4 257.18,
    /// 6 257.22, 10 257.03 (ksr-dev 47.54, 47.55, 47.58, 47.60, 47.58, 47.48); `--learn` 257.16 at
    /// 1, 257.52 at 4.
    public var unknownBoost: Float = 4

    /// The LSTM's softmax temperature in a fresh engine, and the lines of dynamic evaluation over
    /// which it fades to 1: T_eff = 1 + (T − 1) · exp(−lines / fade) (`LanguageModelSource`). The
    /// trained softmax is sharper than the mixture wants on text unlike the corpus; once the
    /// decoder bias has adapted to the user, it is not. On the five dev texts (`simulate`, KSR
    /// summed, no learning): T 1 255.29, 1.05 255.48, 1.1 255.63, 1.2 255.72, 1.3 255.73; with
    /// `--learn` and no fade 1 256.10, 1.2 255.99; fade 20 lines 256.05, 100 256.07.
    public var lstmTemperature: Float = 1.2
    public var temperatureFadeLines: Float = 100

    public init() {}
}

extension MixingWeights {
    /// Reads `name=value` pairs separated by commas over the defaults (names: ngram, geo, geongram, cache, user, usercache,
    /// window, decay, theta, shrink, newword, passedover, passedagain, possessive, capital, letters, dyn, dyndecay, dyngate,
    /// temperature, tempfade, unknown), for tuning runs.
    public init(parsing text: String) throws {
        self.init()
        for pair in text.split(separator: ",") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Double(parts[1]), value.isFinite, value >= 0 else {
                throw ModelError.invalidInput("mixing weight \"\(pair)\" is not name=value with a value ≥ 0")
            }
            switch parts[0] {
            case "ngram": ngram = Float(value)
            case "geo": geometricShare = Float(value)
            case "geongram": geometricNgram = Float(value)
            case "cache": cache = Float(value)
            case "user": user = Float(value)
            case "window": cacheWindow = Int(value)
            case "theta": cacheTheta = Float(value)
            case "shrink": cacheShrinkage = Int(value)
            case "newword": newWordMinimumCount = Int(value)
            case "passedover": passedOver = Float(value)
            case "passedagain": passedOverAgain = Float(value)
            case "possessive": possessive = Float(value)
            case "capital": capital = Float(value)
            case "letters": lettersLeft = Float(value)
            case "decay": cacheDecay = Float(value)
            case "dyn": dynamicRate = Float(value)
            case "dyndecay": dynamicDecay = Float(value)
            case "dyngate": dynamicGateRate = Float(value)
            case "usercache": userCache = Float(value)
            case "usersize": userCacheSize = Int(value)
            case "temperature": lstmTemperature = Float(value)
            case "unknown": unknownBoost = Float(value)
            case "tempfade": temperatureFadeLines = Float(value)
            default: throw ModelError.invalidInput("unknown mixing weight \"\(parts[0])\" (ngram, geo, geongram, cache, user, usercache, usersize, window, decay, theta, shrink, newword, passedover, passedagain, possessive, capital, letters, dyn, dyndecay, dyngate, temperature, tempfade, unknown)")
            }
        }
        if ngram > 1 || geometricShare > 1 || geometricNgram > 1 || cache + user + userCache >= 1 {
            throw ModelError.invalidInput("weights must leave the model a share: ngram, geo, geongram ≤ 1, cache + user + usercache < 1")
        }
        if !(lstmTemperature >= 0.1 && lstmTemperature <= 10) {
            throw ModelError.invalidInput("temperature must be between 0.1 and 10")
        }
    }
}
