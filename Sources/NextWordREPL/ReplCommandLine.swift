/// A `:` command typed on a line of its own in the REPL.
public enum ReplCommandLine: Equatable, Sendable {
    case help
    /// `:incognito` toggles; `:incognito on` / `:incognito off` set.
    case incognito(Bool?)
    case forget(String)
    case stats
    case quit
    /// `:name` that is not a command, or a command used wrongly; the message says what to type.
    case invalid(String)

    /// The help text `:help` prints (one entry per line).
    public static let helpLines = [
        "Type text; suggestions for the next word (or the rest of the current one) appear below the line.",
        "  Tab            accept the first suggestion     Alt-1 Alt-2 Alt-3  pick a suggestion",
        "  Esc            keep the word as typed (hide the suggestions until the next key)",
        "  Enter          commit the line (it is learned unless incognito)",
        "  Backspace      delete a character              Ctrl-W  delete a word    Ctrl-U  clear the line",
        "  Left Right Home End Ctrl-A Ctrl-E  move        Ctrl-L  redraw",
        "  Ctrl-C         clear the line, or quit on an empty line     Ctrl-D  quit on an empty line",
        "Commands (on a line of their own, never learned):",
        "  :help  :incognito [on|off]  :forget WORD  :stats  :quit",
    ]

    static let names = ["help", "incognito", "forget", "stats", "quit"]

    /// Parses a committed line. Returns nil for ordinary text: anything not starting with ':' followed by
    /// a letter, so that ":)" or ": see below" are text; `:word` that is not a command is `.invalid`.
    public static func parse(_ line: String) -> ReplCommandLine? {
        let trimmed = line.trimmingWhitespace()
        guard trimmed.hasPrefix(":"), let second = trimmed.dropFirst().first, second.isLetter else { return nil }
        let words = trimmed.dropFirst().split(whereSeparator: \.isWhitespace).map(String.init)
        guard let name = words.first?.lowercased() else { return nil }
        let arguments = Array(words.dropFirst())
        switch (name, arguments.count) {
        case ("help", 0): return .help
        case ("incognito", 0): return .incognito(nil)
        case ("incognito", 1) where ["on", "off"].contains(arguments[0].lowercased()):
            return .incognito(arguments[0].lowercased() == "on")
        case ("forget", 1): return .forget(arguments[0])
        case ("stats", 0): return .stats
        case ("quit", 0), ("q", 0), ("exit", 0): return .quit
        case ("forget", _): return .invalid("usage: :forget WORD")
        case ("incognito", _): return .invalid("usage: :incognito [on|off]")
        case (_, _) where names.contains(name): return .invalid("usage: :\(name) (no arguments)")
        default: return .invalid("unknown command :\(name) (try :help)")
        }
    }
}

extension String {
    /// The string without leading and trailing whitespace (including newlines), without Foundation.
    func trimmingWhitespace() -> String {
        let characters = Array(self)
        guard let first = characters.firstIndex(where: { !$0.isWhitespace }),
              let last = characters.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(characters[first...last])
    }
}
