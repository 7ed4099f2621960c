import Foundation

/// Everything that can go wrong loading, saving or running a model, with the file and the problem
/// named so the CLI can print one readable line.
public enum ModelError: LocalizedError, Equatable, CustomStringConvertible {
    /// The config's numbers do not describe a buildable network.
    case invalidConfig(String)
    /// A checkpoint file is missing, truncated, foreign, or disagrees with its config.
    case checkpoint(file: String, problem: String)
    /// A vocabulary file is missing, malformed, or not the one the model was trained with.
    case vocabulary(file: String, problem: String)
    /// A model directory could not be found.
    case notFound(String)
    /// Input the model cannot take (an id out of range, an empty sequence where one is needed).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .invalidConfig(let why): return "invalid model config: \(why)"
        case .checkpoint(let file, let problem): return "\(file): \(problem)"
        case .vocabulary(let file, let problem): return "\(file): \(problem)"
        case .notFound(let what): return what
        case .invalidInput(let why): return "invalid input: \(why)"
        }
    }

    public var errorDescription: String? { description }
}
