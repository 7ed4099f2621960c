import Foundation

/// The shape of an LSTM language model and how it was made. Stored as `config.json` beside
/// `model.safetensors`; every field is checked against the weights when a model is loaded.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// Bumped whenever the meaning of a field or of a tensor changes; loading refuses other versions.
    public static let currentFormatVersion = 1
    public static let formatName = "nextword-lstm"

    /// Always `nextword-lstm`: tells a foreign `config.json` apart.
    public var format: String = ModelConfig.formatName
    /// The file-format version this config was written with.
    public var formatVersion: Int = ModelConfig.currentFormatVersion
    /// File name of the vocabulary (one word per line), looked up beside the model, then in `vocab/`.
    public var vocabularyFile: String
    /// SHA-256 (hex) of the vocabulary file's bytes: a model never runs with the wrong word list.
    public var vocabularySHA256: String
    /// Number of words, specials included; rows of the embedding and of the decoder.
    public var vocabSize: Int
    /// Width of a word embedding (E).
    public var embeddingSize: Int
    /// Width of each LSTM layer's cell state (H), and of its output when there is no projection.
    public var hiddenSize: Int
    /// Width of each layer's output h_t = W_hr · (o ⊙ tanh c_t) when the LSTM has a projection (P < H,
    /// as `nn.LSTM(proj_size:)`): the recurrent input, the next layer's input and the decoder's
    /// width. nil: no projection (P = H).
    public var projectionSize: Int?
    /// Number of stacked LSTM layers.
    public var layers: Int
    /// Decoder weight shared with the embedding (needs E == the output width).
    public var tied: Bool
    /// How text was turned into tokens for training: `words` (the natural-text tokenizer) or
    /// `pretokenized` (split on spaces, as the brown-lm benchmark files are).
    public var tokenization: TokenizationMode = .words
    /// Whether words were lowercased before lookup (casing is then restored by the engine).
    public var lowercase: Bool = false
    /// How the model was trained (absent for imported or untrained models).
    public var training: TrainingRecord?

    public enum TokenizationMode: String, Codable, Sendable {
        case words
        case pretokenized
    }

    public init(vocabularyFile: String, vocabularySHA256: String, vocabSize: Int,
                embeddingSize: Int, hiddenSize: Int, layers: Int, tied: Bool,
                tokenization: TokenizationMode = .words, lowercase: Bool = false) {
        self.vocabularyFile = vocabularyFile
        self.vocabularySHA256 = vocabularySHA256
        self.vocabSize = vocabSize
        self.embeddingSize = embeddingSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.tied = tied
        self.tokenization = tokenization
        self.lowercase = lowercase
    }

    /// Width of each layer's output h (P with a projection, H without): what the next layer, the
    /// recurrence and the decoder read.
    public var outputSize: Int { projectionSize ?? hiddenSize }

    /// Input width of layer `layer`: the embedding for the first, the layer below's output otherwise.
    public func inputSize(ofLayer layer: Int) -> Int { layer == 0 ? embeddingSize : outputSize }

    /// Checks the numbers make a buildable network; throws `ModelError.invalidConfig` otherwise.
    public func validate() throws {
        func fail(_ why: String) throws -> Never { throw ModelError.invalidConfig(why) }
        if format != ModelConfig.formatName { try fail("format is \"\(format)\", expected \"\(ModelConfig.formatName)\"") }
        if formatVersion != ModelConfig.currentFormatVersion {
            try fail("format version \(formatVersion) is not supported (this build reads \(ModelConfig.currentFormatVersion))")
        }
        let limit = 1 << 24
        if vocabSize < 2 || vocabSize > limit { try fail("vocabSize \(vocabSize) out of range 2...\(limit)") }
        if embeddingSize < 1 || embeddingSize > 8192 { try fail("embeddingSize \(embeddingSize) out of range 1...8192") }
        if hiddenSize < 1 || hiddenSize > 8192 { try fail("hiddenSize \(hiddenSize) out of range 1...8192") }
        if layers < 1 || layers > 16 { try fail("layers \(layers) out of range 1...16") }
        if let p = projectionSize, p < 1 || p >= hiddenSize {
            try fail("projectionSize \(p) out of range 1...\(hiddenSize - 1) (it must be smaller than hiddenSize)")
        }
        if tied && embeddingSize != outputSize {
            try fail(projectionSize == nil ? "tied embeddings need embeddingSize == hiddenSize"
                                           : "tied embeddings need embeddingSize == projectionSize")
        }
        if ParameterLayout(self).totalCount > 1 << 31 { try fail("too many parameters") }
    }
}

/// What a training run did, kept in `config.json` so a model card can be checked against it.
public struct TrainingRecord: Codable, Sendable, Equatable {
    public var command: String
    public var data: String
    public var epochs: Int
    public var batchSize: Int
    public var bptt: Int
    public var dropout: Float
    public var learningRate: Float
    public var seed: UInt64
    public var threads: Int
    public var wallSeconds: Double
    public var tokensPerSecond: Double
    public var bestValidPerplexity: Double?
    public var history: [EpochRecord]
    /// The model directory whose weights this run started from (nil: a fresh initialisation).
    public var initializedFrom: String?
    /// The training records of the runs before this one, when it continued an earlier model.
    public var earlierRuns: [TrainingRecord]?
    /// Every dropout rate of the run, when it used more than one (`dropout` holds the output's).
    public var regularization: Regularization?
    /// L2 weight decay per step (nil: none).
    public var weightDecay: Float?
    /// NT-ASGD: its non-monotone interval and the epoch after which averaging began (nil: plain
    /// SGD with annealing, or averaging not begun).
    public var averagingNonmonotone: Int?
    public var averagingSinceEpoch: Int?
    /// NT-ASGD's latest start (`--asgd-start`), when one was set.
    public var averagingStartEpoch: Int?
    /// "bfloat16" when the segment's matrix products ran in bfloat16 on AMX tiles (nil: float32).
    public var matmulPrecision: String?

    public init(command: String, data: String, epochs: Int, batchSize: Int, bptt: Int, dropout: Float,
                learningRate: Float, seed: UInt64, threads: Int, wallSeconds: Double = 0,
                tokensPerSecond: Double = 0, bestValidPerplexity: Double? = nil, history: [EpochRecord] = []) {
        self.command = command; self.data = data; self.epochs = epochs; self.batchSize = batchSize
        self.bptt = bptt; self.dropout = dropout; self.learningRate = learningRate; self.seed = seed
        self.threads = threads; self.wallSeconds = wallSeconds; self.tokensPerSecond = tokensPerSecond
        self.bestValidPerplexity = bestValidPerplexity; self.history = history
    }
}

public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var validPerplexity: Double
    public var learningRate: Float
    public var seconds: Double
    public var tokensPerSecond: Double
    /// True when the epoch's validation ran on NT-ASGD's averaged weights.
    public var averaged: Bool? = nil
}
