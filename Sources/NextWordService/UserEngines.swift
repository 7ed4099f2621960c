import Foundation
import NextWord

/// The engines of the users who typed recently, all on one shared, read-only model.
///
/// Each user has their own `SuggestionEngine` (their history file, user model and mixture), with
/// one `TypingSession` per field they type in, so two fields never disturb each other. At most
/// `maximumOpenUsers` engines stay open: opening one more closes the least recently used, and the
/// idle sweep closes those unused for `idleTimeout`. A closed user's history is on disk; the next
/// request opens it again.
///
/// Thread-safe: the table is behind one lock, held only to find or insert an entry; opening a
/// history file and all engine work happen outside it, so users never wait for each other.
public final class UserEngines: @unchecked Sendable {  // every mutable field is guarded by `lock`
    public struct Limits: Sendable {
        public var maximumOpenUsers = 256
        /// Fields kept per user; the least recently used is dropped beyond it.
        public var maximumSessionsPerUser = 16
        /// Recent contexts each field keeps (each holds a distribution over the vocabulary).
        public var contextsPerSession = 4
        public var idleTimeout: Duration = .seconds(600)
        /// Learn requests per user and second, and how many may come at once.
        public var learnsPerSecond = 5.0
        public var learnBurst = 30.0
        public init() {}
    }

    /// One open user.
    public final class User: @unchecked Sendable {  // `sessions`, `lastUsed`, `learnBucket` under the registry's lock
        public let id: ClientIdentifier
        public let engine: SuggestionEngine
        /// Why the history could not be used, if it could not: learning would not be durable, so
        /// the service refuses it (503) rather than acknowledge what a restart would lose.
        public let historyProblem: String?
        /// Notes from opening (a damaged file moved aside).
        public let notes: [String]
        fileprivate var sessions: [ClientIdentifier: (session: TypingSession, lastUsed: ContinuousClock.Instant)] = [:]

        /// Whether this engine serves the request: any engine for suggestions; for learning, one
        /// with its history file (or one that already knows why it cannot have it).
        fileprivate func serves(forLearning: Bool) -> Bool {
            !forLearning || engine.history != nil || historyProblem != nil
        }
        fileprivate var lastUsed: ContinuousClock.Instant
        fileprivate var learnBucket: TokenBucket

        /// `historyExpected`: whether the engine was asked to open a history file (it is not for a
        /// user who never learned anything).
        fileprivate init(id: ClientIdentifier, engine: SuggestionEngine, notes: [String], limits: Limits,
                         now: ContinuousClock.Instant, historyExpected: Bool) {
            self.id = id
            self.engine = engine
            self.notes = notes
            if let history = engine.history {
                historyProblem = history.isReadOnly ? (notes.first ?? "the history file is read-only") : nil
            } else {
                historyProblem = historyExpected ? (notes.first ?? "the history file could not be opened") : nil
            }
            lastUsed = now
            learnBucket = TokenBucket(perSecond: limits.learnsPerSecond, burst: limits.learnBurst, now: now)
        }
    }

    public let resources: EngineResources
    public let layout: UserFileLayout
    public let limits: Limits
    public let weights: MixingWeights
    private let clock = ContinuousClock()
    private let lock = NSLock()
    private var users: [ClientIdentifier: User] = [:]
    /// The incognito fields of each user, kept apart from the engines: closing an idle engine
    /// (or dropping a field from it) must not turn a password field back into a learning one.
    private var incognitoFields: [ClientIdentifier: Set<ClientIdentifier>] = [:]
    /// Most incognito fields one user may have on.
    public static let maximumIncognitoFields = 64
    private var closed = false
    /// How many users' histories `closeAll` closed (what a shutdown reports).
    public var closedAtShutdown: Int { lock.withLock { closedCount } }
    private var closedCount = 0

    public init(resources: EngineResources, layout: UserFileLayout, limits: Limits = Limits(), weights: MixingWeights = MixingWeights()) {
        self.resources = resources
        self.layout = layout
        self.limits = limits
        self.weights = weights
    }

    public var openUserCount: Int { lock.withLock { users.count } }

    /// The user's open engine, opening their history first if they have none open.
    ///
    /// A user's history file is made by their first learn (`forLearning`), not by a suggestion
    /// or an export: asking for suggestions under a thousand made-up names leaves no files.
    public func user(_ id: ClientIdentifier, forLearning: Bool = false) throws -> User {
        if let user = openUser(id, forLearning: forLearning) { return user }
        let now = clock.now
        let file = layout.historyFile(for: id)
        var info = stat()
        let fileExists = lstat(file.path, &info) == 0
        let options = SuggestionEngine.OpenOptions(historyPath: file, useHistory: forLearning || fileExists, weights: weights)
        let (engine, notes) = try SuggestionEngine.open(options, resources: resources)
        let opened = User(id: id, engine: engine, notes: notes, limits: limits, now: now,
                          historyExpected: options.useHistory)
        return try lock.withLock {
            guard !closed else { throw ServiceError(.serviceUnavailable, "the service is shutting down") }
            // Another request may have opened this user meanwhile: keep the first, so every
            // request of the user sees one engine (this one's store closes when released).
            if let existing = users[id], existing.serves(forLearning: forLearning) {
                return existing
            }
            if let replaced = users[id] {
                // The user had no history file until this learn: the new engine has it. The
                // rate bucket carries over; the fields start again.
                opened.learnBucket = replaced.learnBucket
            } else if users.count >= limits.maximumOpenUsers, let oldest = users.values.min(by: { $0.lastUsed < $1.lastUsed }) {
                users[oldest.id] = nil
            }
            users[id] = opened
            return opened
        }
    }

    /// The user's engine if it is open (and, `forLearning`, has its history file), without
    /// touching the disk.
    public func openUser(_ id: ClientIdentifier, forLearning: Bool = false) -> User? {
        let now = clock.now
        return lock.withLock {
            guard let user = users[id], user.serves(forLearning: forLearning) else { return nil }
            user.lastUsed = now
            return user
        }
    }

    /// The typing session of field `session` in `user`'s engine, made on first use.
    public func session(_ session: ClientIdentifier, of user: User) -> TypingSession {
        let now = clock.now
        let known: TypingSession? = lock.withLock {
            guard let known = user.sessions[session] else { return nil }
            user.sessions[session] = (known.session, now)
            return known.session
        }
        if let known { return known }
        // Made outside the registry's lock: making one takes the engine's lock, which a
        // suggestion for this user may hold, and other users must not wait for that.
        let made = user.engine.makeSession(contextCapacity: limits.contextsPerSession)
        let incognito: Bool = lock.withLock { incognitoFields[user.id]?.contains(session) == true }
        if incognito { user.engine.setIncognito(true, for: made) }
        return lock.withLock {
            // Another request of this field may have made one meanwhile: every request of a
            // field must see the same session.
            if let raced = user.sessions[session] { return raced.session }
            if user.sessions.count >= limits.maximumSessionsPerUser,
               let oldest = user.sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                user.sessions[oldest.key] = nil
            }
            user.sessions[session] = (made, now)
            return made
        }
    }

    /// Turns incognito on or off for one field of `user`.
    public func setIncognito(_ on: Bool, session: ClientIdentifier, of user: User) throws {
        let typing = self.session(session, of: user)
        try lock.withLock {
            var fields = incognitoFields[user.id] ?? []
            if on {
                guard fields.count < Self.maximumIncognitoFields || fields.contains(session) else {
                    throw ServiceError(.badRequest, "at most \(Self.maximumIncognitoFields) fields of one user may be incognito at once")
                }
                fields.insert(session)
            } else {
                fields.remove(session)
            }
            incognitoFields[user.id] = fields.isEmpty ? nil : fields
        }
        user.engine.setIncognito(on, for: typing)
    }

    /// Whether `user` may learn now; the seconds to wait when not.
    public func admitLearn(_ user: User) -> (allowed: Bool, retryAfter: Double) {
        let now = clock.now
        return lock.withLock { user.learnBucket.take(now: now) }
    }

    /// Closes the engines unused for `limits.idleTimeout`; returns how many.
    @discardableResult
    public func closeIdle() -> Int {
        let now = clock.now
        let idle: [User] = lock.withLock {
            let idle = users.values.filter { now - $0.lastUsed >= limits.idleTimeout }
            for user in idle { users[user.id] = nil }
            return idle
        }
        // Released outside the lock: a store's last reference going closes its connections.
        return idle.count
    }

    /// Closes every history (at shutdown, after the last request): later requests get 503.
    public func closeAll() {
        let all: [User] = lock.withLock {
            closed = true
            closedCount = users.count
            defer { users.removeAll() }
            return Array(users.values)
        }
        for user in all { try? user.engine.history?.close() }
    }
}
