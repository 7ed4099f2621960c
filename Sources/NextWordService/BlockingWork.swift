import Dispatch

/// Runs work that blocks on the disk — an SQLite commit waits for fsync (`synchronous = FULL`),
/// opening a history reads it whole — on Dispatch's threads instead of the async executor's few
/// (two on a two-core machine), so suggestions for other users never queue behind a commit.
enum BlockingWork {
    static func run<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
