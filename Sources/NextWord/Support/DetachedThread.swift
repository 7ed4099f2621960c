import Foundation

/// Work on a thread of its own that lets go of everything it captured before the thread ends.
///
/// Why not `Thread.detachNewThread` with the work as its block: on Linux, libdispatch frees a
/// thread's cache of continuations in a thread-exit destructor but keeps its pointer to them.
/// Foundation releases the thread's block in a later destructor of the same thread; when that
/// drops the last reference to something whose deinit calls into dispatch (an engine closing
/// its history closes a GRDB queue), dispatch hands out the freed memory again and frees it a
/// second time: heap corruption. CI saw it as "malloc(): unaligned fastbin chunk detected" a
/// test after a learning thread ended; AddressSanitizer names it a double free in
/// `_dispatch_cache_cleanup` (`DetachedThreadTests` reproduces it in a child process).
///
/// So the work is moved out of a slot on the new thread and released when it returns, while the
/// thread still runs ordinary code; the block Foundation keeps holds only the emptied slot.
package enum DetachedThread {
    /// Runs `work` on a new thread; what it captured is released before that thread's teardown.
    package static func start(_ work: @escaping @Sendable () -> Void) {
        let slot = Locked<(@Sendable () -> Void)?>(work)
        Thread.detachNewThread {
            run(takingFrom: slot)
        }
    }

    /// A function of its own so that `work`, a local here, is released by the time it returns.
    private static func run(takingFrom slot: Locked<(@Sendable () -> Void)?>) {
        let work = slot.withLock { stored -> (@Sendable () -> Void)? in
            defer { stored = nil }
            return stored
        }
        work?()
    }
}
