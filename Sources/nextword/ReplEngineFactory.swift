// PLACEHOLDER: the integrator replaces this whole file with one that loads the real engine
// (model bundle + history database) from `ReplEngineOptions`. Only `ReplEngineOptions` and
// `makeReplEngine(_:)` are used by ReplCommand; everything else here is the stand-in engine.

import ArgumentParser
import Foundation
import NextWord

/// Options that say which engine the REPL runs on.
struct ReplEngineOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json, model.safetensors).")
    var model: String?

    @Option(name: .long, help: "History database file (what the REPL learns goes there).")
    var history: String?
}

/// Builds the engine for `nextword repl`. Errors are printed as one line `nextword: <description>`,
/// so they must say what is wrong and what to do.
func makeReplEngine(_ options: ReplEngineOptions) throws -> any SuggestionProviding {
    if let model = options.model, !FileManager.default.fileExists(atPath: model) {
        throw PlaceholderEngineError.missingModel(model)
    }
    return PlaceholderEngine()
}

enum PlaceholderEngineError: Error, CustomStringConvertible {
    case missingModel(String)

    var description: String {
        switch self {
        case .missingModel(let path):
            return "no model at \(path): pass --model with a directory holding config.json and model.safetensors"
        }
    }
}

/// A tiny fixed-suggestion engine standing in for the real one: completes partial words from a short
/// list and otherwise proposes a few common words; "learns" into memory only.
final class PlaceholderEngine: SuggestionProviding, @unchecked Sendable {
    // @unchecked: all mutable state is behind `lock`.
    private let lock = NSLock()
    private var learned: [String] = []
    private var isIncognito = false
    private static let words = ["the", "to", "a", "and", "I", "you", "it", "go", "going", "good", "great",
                                "like", "would", "want", "with", "we", "will", "see", "be", "have", "home"]

    var modelName: String { "placeholder" }

    var incognito: Bool {
        get { lock.withLock { isIncognito } }
        set { lock.withLock { isIncognito = newValue } }
    }

    func suggest(prefix: String, limit: Int) -> [Suggestion] {
        let partial = prefix.reversed().prefix { $0.isLetter }.reversed()
        let texts: [String]
        if partial.isEmpty {
            texts = prefix.hasSuffix("to ") ? ["go", "be", "see"] : ["the", "to", "a"]
        } else {
            let typed = String(partial).lowercased()
            texts = Self.words.filter { $0.lowercased().hasPrefix(typed) && $0.count > typed.count }
        }
        return texts.prefix(limit).enumerated().map { index, text in
            Suggestion(text: text, probability: 0.5 / Double(index + 1), source: .model)
        }
    }

    func learn(_ text: String) throws {
        lock.withLock { if !isIncognito { learned.append(text) } }
    }

    func forget(word: String) throws -> Int {
        lock.withLock {
            let before = learned.count
            learned.removeAll { $0.split(separator: " ").contains(Substring(word)) }
            return before - learned.count
        }
    }

    func statsSummary() throws -> String {
        lock.withLock { "placeholder engine: \(learned.count) lines learned this session (kept in memory only)" }
    }
}
