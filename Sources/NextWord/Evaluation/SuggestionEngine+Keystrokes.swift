/// The engine as the keystroke simulator sees it: its suggestions' texts, and learning a line.
extension SuggestionEngine: KeystrokePredictor {
    public func suggestions(for context: String, limit: Int) -> [String] {
        suggest(prefix: context, limit: limit).map(\.text)
    }

    public func learn(line: String) {
        // The simulator has no error channel; it runs on an in-memory history that cannot refuse.
        try? learn(line)
    }
}
