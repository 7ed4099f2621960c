import Foundation

/// Learning off the keystroke path: committed lines wait here, in memory and bounded, and one
/// background thread hands them to the engine in order, retrying while the history is busy (another
/// process holding its write lock, a full disk). A front end's Enter never waits on the database,
/// and a line is not lost while the process lives.
///
/// A failure that waiting cannot mend (a read-only history, a line the store refuses) drops that
/// line and is reported once through `takeReports()`.
///
/// Forgetting goes through the queue too (`forget(_:)`): the word leaves the engine's memory at
/// once, and the history on disk after the lines ahead of it, without Enter or a keystroke
/// waiting for a busy database.
public final class LearningQueue: @unchecked Sendable {  // every mutable field is guarded by `condition`
    private let engine: any SuggestionProviding
    public let capacity: Int
    private let firstRetryDelay: TimeInterval
    private let longestRetryDelay: TimeInterval
    private let condition = NSCondition()
    /// What waits, in order: lines to learn and words to forget on disk.
    private enum Job: Equatable {
        case line(String)
        case forget(String)
    }
    private var jobs: [Job] = []
    /// Set by `close()`: the worker stops at its next look.
    private var closed = false
    private var reports: [String] = []
    private var retrying = false
    /// When the worker took up the line at the head (nil while idle).
    private var headSince: Date?
    /// The head line is being handed to the engine right now (it cannot be taken back).
    private var headInFlight = false

    public init(engine: any SuggestionProviding, capacity: Int = 10_000, firstRetryDelay: TimeInterval = 0.5,
                longestRetryDelay: TimeInterval = 30) {
        self.engine = engine
        self.capacity = max(1, capacity)
        self.firstRetryDelay = firstRetryDelay
        self.longestRetryDelay = longestRetryDelay
        // The thread holds the queue until `close()`.
        DetachedThread.start { self.work() }
    }

    /// Queues a line; false when `capacity` jobs (lines, forgets) are already waiting (the caller says so).
    @discardableResult
    public func enqueue(_ line: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard jobs.count < capacity else { return false }
        jobs.append(.line(line))
        condition.broadcast()
        return true
    }

    /// Forgets `word`: at once in the engine's memory (`SuggestionProviding.forgetInMemory`),
    /// and on disk in the background once the line being written, if any, has landed. Waiting lines
    /// that hold the word are taken back first, so they cannot bring it back; their number is
    /// returned. The result ("forgot …: N entries removed") comes through `takeReports()`.
    @discardableResult
    public func forget(_ word: String) -> Int {
        let lower = word.lowercased()
        let (discarded, _) = discardPending(timeout: 0) { $0.lowercased().contains(lower) }
        engine.forgetInMemory(word: word)
        condition.lock()
        defer { condition.unlock() }
        // Right behind the line in flight: other waiting lines do not hold the word.
        jobs.insert(.forget(word), at: headInFlight ? min(1, jobs.count) : 0)
        condition.broadcast()
        return discarded
    }

    /// Lines not learned yet (the one being written included).
    public var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.filter { if case .line = $0 { true } else { false } }.count
    }

    /// Whether the line at the head has waited more than `seconds` for the history (a busy
    /// writer elsewhere): what a status line reports, without flickering at every Enter.
    public func isDelayed(moreThan seconds: TimeInterval = 0.5) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !jobs.isEmpty, let headSince else { return false }
        return retrying || Date().timeIntervalSince(headSince) > seconds
    }

    /// Whether anything waits (a line or a forget), or a report is ready: a front end that shows
    /// them keeps looking while this is true.
    public var needsAttention: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !jobs.isEmpty || !reports.isEmpty
    }

    /// Whether `takeReports()` has something to say.
    public var hasReports: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !reports.isEmpty
    }

    /// What went wrong since the last call, one line each.
    public func takeReports() -> [String] {
        condition.lock()
        defer { condition.unlock() }
        defer { reports.removeAll() }
        return reports
    }

    /// Waits until every queued line is learned or `timeout` passes; returns how many are left.
    @discardableResult
    public func waitUntilEmpty(timeout: TimeInterval) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while !jobs.isEmpty, condition.wait(until: deadline) {}
        return jobs.count
    }

    /// Takes back the waiting lines `matching` says yes to (a word the user forgets must not
    /// come back with a line learned after the forget), and waits up to `timeout` for a matching
    /// line already being written. Returns how many were taken back, and whether a matching line
    /// may still land (its write outlasted the wait).
    public func discardPending(timeout: TimeInterval = 2, matching: (String) -> Bool) -> (discarded: Int, stillLanding: Bool) {
        condition.lock()
        defer { condition.unlock() }
        let keep = headInFlight ? 1 : 0
        let before = jobs.count
        jobs = Array(jobs.prefix(keep)) + jobs.dropFirst(keep).filter { job in
            if case .line(let text) = job { !matching(text) } else { true }
        }
        let discarded = before - jobs.count
        guard headInFlight, let head = jobs.first, case .line(let text) = head, matching(text) else { return (discarded, false) }
        let deadline = Date().addingTimeInterval(timeout)
        while headInFlight, jobs.first == head, condition.wait(until: deadline) {}
        return (discarded, headInFlight && jobs.first == head)
    }

    /// Stops the background thread (after the line it is writing, if any); lines and forgets still queued
    /// are not learned. Returns how many that is.
    @discardableResult
    public func close() -> Int {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        return jobs.count
    }

    private static func failure(of job: Job) -> String {
        switch job {
        case .line: "a line was not learned"
        case .forget(let word): "\"\(word)\" was not forgotten on disk"
        }
    }

    private func work() {
        var delay = firstRetryDelay
        while true {
            condition.lock()
            while jobs.isEmpty && !closed { condition.wait() }
            if closed {
                condition.unlock()
                return
            }
            // The head line stays queued until it is learned.
            let job = jobs[0]
            if headSince == nil { headSince = Date() }
            headInFlight = true
            condition.unlock()

            var outcome: (done: Bool, report: String?)
            do {
                switch job {
                case .line(let line):
                    try engine.learn(line)
                    outcome = (true, nil)
                case .forget(let word):
                    let removed = try engine.forget(word: word)
                    outcome = (true, "forgot \"\(word)\": \(removed) \(removed == 1 ? "entry" : "entries") removed")
                }
            } catch let error as HistoryError {
                switch error {
                case .io:
                    // Busy or full: the history may come back. Keep the job and try again later.
                    outcome = (false, nil)
                default:
                    outcome = (true, "\(Self.failure(of: job)): \(error.localizedDescription)")
                }
            } catch {
                outcome = (true, "\(Self.failure(of: job)): \(error.localizedDescription)")
            }

            condition.lock()
            headInFlight = false
            condition.broadcast()
            if outcome.done {
                jobs.removeFirst()
                headSince = nil
                retrying = false
                delay = firstRetryDelay
                if let report = outcome.report { reports.append(report) }
                condition.broadcast()
                condition.unlock()
            } else {
                if !retrying {
                    reports.append("the history is busy; \(jobs.count) line\(jobs.count == 1 ? "" : "s") will be learned when it is free")
                }
                retrying = true
                condition.unlock()
                Thread.sleep(forTimeInterval: delay)
                delay = min(longestRetryDelay, delay * 2)
            }
        }
    }
}
