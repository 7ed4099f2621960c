import ArgumentParser
import Foundation
import NextWord

struct SuggestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suggest",
        abstract: "Print suggestions for the text typed so far (completions if it ends inside a word, next words otherwise).")

    @OptionGroup var engineOptions: EngineOptions

    @Option(name: [.short, .long], help: "How many suggestions.")
    var limit = 3

    @Flag(help: "Print a JSON array of {text, probability, source}.")
    var json = false

    @Argument(help: "The text typed so far. Quote it; a trailing space asks for the next word.")
    var text: String

    func validate() throws {
        if limit < 1 || limit > 100 { throw ValidationError("--limit must be between 1 and 100") }
    }

    func run() throws {
        let engine = try engineOptions.open()
        let suggestions = engine.suggest(prefix: text, limit: limit)
        if json {
            print(try jsonLine(suggestions))
        } else {
            for suggestion in suggestions { print(suggestion.text) }
        }
    }
}
