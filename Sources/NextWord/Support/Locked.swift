import Foundation

/// A value behind a lock: the few settings a `Sendable` store lets callers change, the small
/// shared tables of the service.
package final class Locked<Value: Sendable>: @unchecked Sendable {  // `value` is only touched under `lock`
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func get() -> Value {
        lock.withLock { value }
    }

    /// Changes the value in place, atomically.
    public func update(_ change: (inout Value) -> Void) {
        lock.withLock { change(&value) }
    }

    /// Reads or changes the value atomically and returns what `body` returns.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&value) }
    }
}
