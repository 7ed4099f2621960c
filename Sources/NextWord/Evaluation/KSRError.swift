/// What can go wrong preparing a keystroke simulation.
public enum KSRError: Error, Equatable, CustomStringConvertible {
    /// The test text could not be read.
    case unreadable(file: String, problem: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let problem): return "\(file): cannot read the test text: \(problem)"
        }
    }
}
