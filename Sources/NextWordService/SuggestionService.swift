import Foundation
import Hummingbird
import Logging
import NextWord
import ServiceLifecycle

/// The suggestion service behind `nextword serve`: many users' engines over one shared model,
/// answering a versioned JSON API (see docs/openapi.yaml).
///
/// `makeRouter()` is the whole API, usable with Hummingbird's test client without a port;
/// `run(onServerRunning:)` serves it until SIGTERM or SIGINT, then finishes the requests in
/// flight and closes every user's history.
public final class SuggestionService: Sendable {
    public let configuration: ServiceConfiguration
    public let engines: UserEngines
    public let metrics: ServiceMetrics
    /// "METHOD /pattern" of every route `makeRouter` registered (docs/openapi.yaml must list the same).
    public var routes: [String] { registered.get() }
    private let registered = Locked<[String]>([])

    public init(configuration: ServiceConfiguration, resources: EngineResources, metrics: ServiceMetrics = ServiceMetrics()) {
        self.configuration = configuration
        self.engines = UserEngines(resources: resources, layout: UserFileLayout(dataDirectory: configuration.dataDirectory),
                                   limits: configuration.limits, weights: configuration.weights)
        self.metrics = metrics
    }

    public typealias Context = BasicRequestContext

    /// Every route of the API.
    public func makeRouter() -> Router<Context> {
        let router = Router(context: Context.self)
        handle(router, .get, "/", name: "/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: ServicePage.html)))
        }
        handle(router, .get, "/healthz", name: "/healthz") { [self] _, _ in
            try json(HealthResponse(status: "ok", instance: configuration.instance, model: engines.resources.bundle.name, openUsers: engines.openUserCount))
        }
        handle(router, .get, "/metrics", name: "/metrics") { [self] _, _ in
            metrics.setOpenUsers(engines.openUserCount)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        handle(router, .post, "/v1/suggest", name: "/v1/suggest") { [self] request, _ in try await suggest(request) }
        handle(router, .post, "/v1/learn", name: "/v1/learn") { [self] request, _ in try await learn(request) }
        handle(router, .post, "/v1/forget", name: "/v1/forget") { [self] request, _ in try await forget(request) }
        handle(router, .post, "/v1/incognito", name: "/v1/incognito") { [self] request, _ in try await incognito(request) }
        handle(router, .get, "/v1/users/:user/export", name: "/v1/users/{user}/export") { [self] request, context in
            let user = try pathUser(context)
            try authorize(request, user: user)
            let account = try await openUser(user)
            let data = try await BlockingWork.run { try account.engine.history?.export() ?? HistoryExport(words: [], ngrams: []).encoded() }
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        handle(router, .delete, "/v1/users/:user/history", name: "/v1/users/{user}/history") { [self] request, context in
            let user = try pathUser(context)
            try authorize(request, user: user)
            let account = try await openUser(user)
            try await BlockingWork.run { try account.engine.clearHistory() }
            return try json(ClearResponse(cleared: true))
        }
        refuseOtherMethods(on: router)
        return router
    }

    /// 405 with `Allow` for a method a path does not have (rather than 404: the path exists).
    private func refuseOtherMethods(on router: Router<Context>) {
        var methodsByPath: [String: [String]] = [:]
        for route in registered.get() {
            let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
            methodsByPath[parts[1], default: []].append(parts[0])
        }
        let candidates: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options, .trace, .connect,
                                                HTTPRequest.Method("QUERY")!]
        for (name, allowed) in methodsByPath {
            let path = RouterPath(name.replacingOccurrences(of: "{user}", with: ":user"))
            let allow = allowed.sorted().joined(separator: ", ")
            for method in candidates where !allowed.contains(method.rawValue) {
                router.on(path, method: method) { [self] _, _ in
                    var error = ServiceError(.methodNotAllowed, "\(method.rawValue) is not a method of \(name); it has \(allow)")
                    error.headers[.allow] = allow
                    metrics.recordRequest(route: name, method: method.rawValue, status: 405, duration: .zero)
                    return errorResponse(error)
                }
            }
        }
    }

    // MARK: Routes

    private func suggest(_ request: Request) async throws -> Response {
        let body = try await decode(SuggestRequest.self, from: request)
        let user = try userID(body.user, request: request)
        let field = try ClientIdentifier(validating: body.session ?? "default", what: "session")
        let limit = body.limit ?? RequestLimits.defaultSuggestions
        guard (1...RequestLimits.maximumSuggestions).contains(limit) else {
            throw ServiceError.badRequest("limit must be between 1 and \(RequestLimits.maximumSuggestions), not \(limit)")
        }
        let account = try await openUser(user)
        let session = engines.session(field, of: account)
        let suggestions = account.engine.suggest(prefix: body.text, limit: limit, in: session)
        metrics.recordSuggestion()
        return try json(SuggestResponse(suggestions: suggestions))
    }

    private func learn(_ request: Request) async throws -> Response {
        let body = try await decode(LearnRequest.self, from: request)
        let user = try userID(body.user, request: request)
        let field = try ClientIdentifier(validating: body.session ?? "default", what: "session")
        let account = try await openUser(user, forLearning: true)
        let admission = engines.admitLearn(account)
        guard admission.allowed else {
            let seconds = max(1, Int(admission.retryAfter.rounded(.up)))
            throw ServiceError(.tooManyRequests, "user \"\(user)\" is learning faster than \(String(format: "%g", configuration.limits.learnsPerSecond)) lines a second; try again in \(seconds) s",
                               headers: [.retryAfter: String(seconds)])
        }
        if let problem = account.historyProblem {
            // Acknowledging a learn that a restart would lose is worse than refusing it. The
            // reason names server paths: it goes to the log, not to the client.
            log("learn refused, the history cannot be written: \(problem)")
            throw ServiceError(.serviceUnavailable, "this user's history cannot be written on the server; nothing was learned")
        }
        let session = engines.session(field, of: account)
        let learned = !account.engine.isIncognito(session)
        do {
            try await BlockingWork.run { try account.engine.learn(body.text, from: session) }
        } catch {
            log("learn for a user failed: \(error.localizedDescription)")
            throw ServiceError(.serviceUnavailable, "the history could not be written; nothing was learned")
        }
        if learned { metrics.recordLearn() }
        return try json(LearnResponse(learned: learned))
    }

    private func forget(_ request: Request) async throws -> Response {
        let body = try await decode(ForgetRequest.self, from: request)
        let user = try userID(body.user, request: request)
        let word = body.word.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !word.isEmpty, word.count <= RequestLimits.maximumWordLength else {
            throw ServiceError.badRequest("word must be 1 to \(RequestLimits.maximumWordLength) characters")
        }
        let account = try await openUser(user)
        let removed = try await BlockingWork.run { try account.engine.forget(word: word) }
        return try json(ForgetResponse(removed: removed))
    }

    private func incognito(_ request: Request) async throws -> Response {
        let body = try await decode(IncognitoRequest.self, from: request)
        let user = try userID(body.user, request: request)
        let field = try ClientIdentifier(validating: body.session, what: "session")
        try engines.setIncognito(body.on, session: field, of: try await openUser(user))
        return try json(IncognitoResponse(session: field.value, incognito: body.on))
    }

    // MARK: Plumbing

    /// Registers a route whose failures all become `ServiceError` answers, timed into the metrics
    /// under `name` (the route's pattern: no user name ever becomes a label).
    private func handle(_ router: Router<Context>, _ method: HTTPRequest.Method, _ path: RouterPath, name: String,
                        _ body: @escaping @Sendable (Request, Context) async throws -> Response) {
        registered.update { routes in
            let route = "\(method.rawValue) \(name)"
            if !routes.contains(route) { routes.append(route) }
        }
        router.on(path, method: method) { [self] request, context in
            let start = ContinuousClock.now
            let response: Response
            do {
                response = try await body(request, context)
            } catch let error as ServiceError {
                response = errorResponse(error)
            } catch let error as HistoryError {
                log("history error: \(error.localizedDescription)")
                response = errorResponse(ServiceError(.serviceUnavailable, "this user's history could not be used; try again later"))
            } catch {
                log("unexpected error: \(error)")
                response = errorResponse(ServiceError(.internalServerError, "the request failed on the server"))
            }
            metrics.recordRequest(route: name, method: method.rawValue, status: response.status.code,
                                  duration: ContinuousClock.now - start)
            return response
        }
    }

    /// The `{user}` of a route's path, checked like a user field of a body (and percent-decoded
    /// first, so `%2e%2e` is judged as the `..` it stands for).
    private func pathUser(_ context: Context) throws -> ClientIdentifier {
        let raw = context.parameters.get("user") ?? ""
        return try ClientIdentifier(validating: raw.removingPercentEncoding ?? raw, what: "user")
    }

    /// The body as `T`: 413 beyond the size limit, 400 naming the field when it does not fit.
    private func decode<T: APIRequest>(_ type: T.Type, from request: Request) async throws -> T {
        let limit = configuration.maximumBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw ServiceError.tooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw ServiceError.tooLarge(limit: limit)
        } catch {
            throw ServiceError.badRequest("the request body could not be read")
        }
        guard buffer.readableBytes > 0 else { throw ServiceError.badRequest("the request needs a JSON body") }
        do {
            let checked = try JSONDecoder().decode(CheckedRequest<T>.self, from: Data(buffer.readableBytesView))
            if let unknown = checked.unknownField {
                throw ServiceError.badRequest("unknown field \"\(unknown)\" (this request has \(T.fields.sorted().joined(separator: ", ")))")
            }
            return checked.request
        } catch let error as ServiceError {
            throw error
        } catch let error as DecodingError {
            throw ServiceError.badRequest(error.requestProblem)
        } catch {
            throw ServiceError.badRequest("the body is not valid JSON")
        }
    }

    /// The body's user, checked, authorized, and agreeing with a `?user=` a load balancer hashed on.
    private func userID(_ raw: String, request: Request) throws -> ClientIdentifier {
        let user = try ClientIdentifier(validating: raw, what: "user")
        if let routed = request.uri.queryParameters.get("user"), routed != raw {
            // 409: each field is fine alone; together they would let a request routed to one
            // user's replica act on another user's data.
            throw ServiceError(.conflict, "the user in the query (?user=) and in the body differ")
        }
        try authorize(request, user: user)
        return user
    }

    /// 401 without a known token, 403 for another user's data (an admin token may reach anyone's).
    private func authorize(_ request: Request, user: ClientIdentifier) throws {
        guard let tokens = configuration.tokens else { return }
        guard let principal = tokens.principal(forAuthorization: request.headers[.authorization]) else {
            throw ServiceError.unauthorized
        }
        switch principal {
        case .admin: return
        case .user(let owner): if owner != user { throw ServiceError.forbidden(user.value) }
        }
    }

    /// The user's engine; opening one reads their history, so it runs as blocking work, but a
    /// user already open is found at once.
    private func openUser(_ user: ClientIdentifier, forLearning: Bool = false) async throws -> UserEngines.User {
        do {
            if let open = engines.openUser(user, forLearning: forLearning) { return open }
            return try await BlockingWork.run { [engines] in try engines.user(user, forLearning: forLearning) }
        } catch let error as ServiceError {
            throw error
        } catch {
            log("opening a user's engine failed: \(error.localizedDescription)")
            throw ServiceError(.serviceUnavailable, "this user's history could not be opened; try again later")
        }
    }

    private func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private func errorResponse(_ error: ServiceError) -> Response {
        var headers = error.headers
        headers[.contentType] = "application/json"
        let data = (try? JSONEncoder().encode(ErrorBody(error: error.message))) ?? Data()
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Server-side problems go to standard error, without user text (a log is not a history).
    private func log(_ line: String) {
        FileHandle.standardError.write(Data("nextword serve: \(line)\n".utf8))
    }
}
